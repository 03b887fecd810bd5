// Event time per input: watermark of (table, partition) = max rowtime seen − the table's watermark delay (Flink's
// `WATERMARK FOR c AS c - INTERVAL ..`, emitted as is: a window fires when the watermark reaches window_end − 1 ms).
// A statement's watermark is the minimum over the partitions of its watermarked inputs that are not idle, and never
// goes back. A partition that has seen no row for `idleTimeoutMs` of wall-clock time (default 30 s) stops holding
// the others back (Flink's `table.exec.source.idle-timeout`, which is off by default there: a silent partition
// stalls every window, the most common "my window never closes" report); a row makes it active again. When every
// partition is idle the watermark holds. Partitions announced by `markPartition` count from the announcement, so
// an empty partition holds the watermark back until it is idle — as an empty Kafka partition does in Flink.
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export interface PartitionClock {
  partition: number;
  /** max rowtime − delay; −Infinity before the first row. */
  watermark: number;
  maxRowtime: number;
  rows: number;
  /** Wall clock of the last tick that saw new rows (or of the announcement): idleness is measured at tick
   *  granularity, so that the per-row path never reads the clock. */
  lastSeen: number;
  rowsAtTick: number;
  idle: boolean;
}

/** The watermarks of one input table (one per partition). */
export class TableClock {
  readonly partitions = new Map<number, PartitionClock>();
  /** Cached minimum over active partitions (undefined: none active). */
  private min: number | undefined = undefined;
  /** The table's rows come through the exchange (processor/sql-runtime/exchange.ts): each partition's watermark and
   *  idleness are set by the forwarders' markers (`set`), not derived from the rows, which come from every replica
   *  interleaved. */
  external = false;

  constructor(readonly table: string, readonly delayMs: number) {}

  /** An external watermark for a partition (`idle`: every forwarder of it is idle); true when the table's watermark
   *  may have changed. Never moves a partition's watermark back. */
  set(p: PartitionClock, watermark: number | 'idle'): boolean {
    const idle = watermark === 'idle';
    let changed = idle !== p.idle;
    p.idle = idle;
    if (!idle && watermark > p.watermark) {
      p.watermark = watermark;
      changed = true;
    }
    if (changed) this.recompute();
    return changed;
  }

  /** A partition this reader no longer reads (the consumer group moved it to another replica): it stops holding the
   *  watermark back here, and if it comes back it starts afresh. */
  forget(partition: number): void {
    if (this.partitions.delete(partition)) this.recompute();
  }

  partition(partition: number, now: number): PartitionClock {
    let p = this.partitions.get(partition);
    if (p === undefined) {
      p = { partition, watermark: Number.NEGATIVE_INFINITY, maxRowtime: Number.NEGATIVE_INFINITY, rows: 0, lastSeen: now, rowsAtTick: 0, idle: false };
      this.partitions.set(partition, p);
      this.recompute();
    }
    return p;
  }

  /**
   * Records a row's rowtime; returns true when the table's watermark may have changed (the caller then recomputes
   * the statements reading it).
   */
  observe(p: PartitionClock, rowtime: number): boolean {
    p.rows++;
    if (this.external) {
      if (rowtime > p.maxRowtime) p.maxRowtime = rowtime;
      return false;
    }
    let changed = false;
    if (p.idle) {
      p.idle = false;
      changed = true;
    }
    if (rowtime > p.maxRowtime) {
      p.maxRowtime = rowtime;
      const wm = rowtime - this.delayMs;
      if (wm > p.watermark) {
        // Only the partition at the minimum can move it.
        if (this.min === undefined || p.watermark <= this.min) changed = true;
        p.watermark = wm;
      }
    }
    if (changed) this.recompute();
    return changed;
  }

  /** Marks partitions idle after `idleTimeoutMs` without rows (seen from one tick to the next); true when something
   *  changed. */
  checkIdle(now: number, idleTimeoutMs: number): boolean {
    if (this.external) return false;
    let changed = false;
    for (const p of this.partitions.values()) {
      if (p.rows !== p.rowsAtTick) {
        p.rowsAtTick = p.rows;
        p.lastSeen = now;
      }
      const idle = now - p.lastSeen >= idleTimeoutMs;
      if (idle !== p.idle) {
        p.idle = idle;
        changed = true;
      }
    }
    if (changed) this.recompute();
    return changed;
  }

  private recompute(): void {
    let min: number | undefined;
    for (const p of this.partitions.values()) {
      if (p.idle) continue;
      if (min === undefined || p.watermark < min) min = p.watermark;
    }
    this.min = min;
  }

  /** The table's watermark: min over active partitions; undefined when no partition is active (all idle / none). */
  current(): number | undefined {
    return this.min;
  }

  /** The active partition holding the minimum. */
  holdingBack(): number | undefined {
    for (const p of this.partitions.values()) if (!p.idle && p.watermark === this.min) return p.partition;
    return undefined;
  }
}

/** A statement's watermark: min over its watermarked input tables, monotonic. */
export class StatementClock {
  current = Number.NEGATIVE_INFINITY;

  constructor(readonly tables: TableClock[]) {}

  /** Recomputes; returns the new watermark when it advanced, else undefined. */
  advance(): number | undefined {
    let min: number | undefined;
    for (const t of this.tables) {
      const c = t.current();
      if (c === undefined) continue;
      if (min === undefined || c < min) min = c;
    }
    if (min === undefined || min <= this.current) return undefined;
    this.current = min;
    return min;
  }

  /** Which table and partition hold the watermark back (for describe()). */
  holdingBack(): { table: string; partition: number } | undefined {
    let best: { table: string; partition: number; wm: number } | undefined;
    for (const t of this.tables) {
      const c = t.current();
      const p = t.holdingBack();
      if (c === undefined || p === undefined) continue;
      if (best === undefined || c < best.wm) best = { table: t.table, partition: p, wm: c };
    }
    return best ? { table: best.table, partition: best.partition } : undefined;
  }
}
