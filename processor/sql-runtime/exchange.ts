// The exchange: how streaming SQL scales past one replica. Each replica consumes its share of an input's partitions
// (the consumer group splits them) and re-keys every record through an exchange destination — a Kafka topic or
// RabbitMQ exchange of `partitions` partitions beside the input, named by the controllers — by the columns the
// keyed operators group or join on (crds/sql/partitioning.ts). Replica i then runs the statements over exchange
// partitions p with p % replicas == i, so all rows of a key meet on one replica.
//
// Event time crosses the exchange explicitly: rows of one exchange partition come from every replica, interleaved,
// so their own timestamps cannot make its watermark. Every forwarder sends each exchange partition a marker with its
// watermark (min over its source partitions of max event time − delay, never ahead of a row it has not yet had
// confirmed) and the receiving replica takes, per exchange partition, the minimum over the forwarders.
//
// At-least-once across the hop: a source record is acknowledged once its copy in the exchange is confirmed; the
// copy is acknowledged by the engine as any row is. A forwarder that dies before its source offsets are committed
// forwards those records again: a copy whose original is still pending in the engine is recognised by its source
// position (`sr-exchange-source`) and dropped; one whose window already fired is late and dropped (counted).
import type { Logger } from 'pino';
import type { SqlTable, TableColumn } from '../../crds/sql/table';
import type { InboundDelivery, OutputBinder } from '../binders/types';
import { errorText } from '../binders/types';
import type { Message } from '../message';
import { TableClock, type PartitionClock } from '../sql/watermarks';
import { decodeRow, type DecodedRow } from './row-codec';

export const EXCHANGE_HEADERS = {
  /** The source record's broker timestamp (the `timestamp` metadata column), epoch ms. */
  timestamp: 'sr-exchange-timestamp',
  /** `<source partition>:<offset>` (Kafka sources): recognises a record forwarded twice. */
  source: 'sr-exchange-source',
  /** Markers: the forwarder's watermark (epoch ms) or `idle`. */
  watermark: 'sr-exchange-watermark',
  /** Markers: the forwarding replica's index. */
  from: 'sr-exchange-from',
} as const;

/** How often a forwarder tells every exchange partition its watermark (also when it did not move: a replica that
 *  restarts learns the watermarks within this time). */
export const MARKER_INTERVAL_MS = 200;
const MARKER_HEARTBEAT_MS = 2000;

/** FNV-1a over the key tuple's canonical JSON: the same values give the same partition in every replica, whatever the
 *  input's encoding (numbers as numbers, text as text, by the column's type). */
export function exchangePartition(values: unknown[], partitions: number): number {
  const text = JSON.stringify(values);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

const NUMERIC = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'DECIMAL', 'TIMESTAMP', 'TIMESTAMP_LTZ', 'DATE', 'TIME']);

function canonicalKeyValue(column: TableColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (NUMERIC.has(column.type.name)) {
    const n = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(n) ? n : String(value);
  }
  if (column.type.name === 'BOOLEAN') return value === true || value === 'true';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface ForwarderOptions {
  table: SqlTable;
  /** Key columns (empty: every row to partition 0). */
  keyColumns: string[];
  partitions: number;
  instanceIndex: number;
  out: OutputBinder;
  idleTimeoutMs: number;
  log: Logger;
  now?: () => number;
}

/** Stage one on this replica: routes its share of one input into the exchange and keeps the exchange informed of its
 *  watermark. */
export class ExchangeForwarder {
  private readonly clock: TableClock | undefined;
  private readonly rowtimeColumn: string | undefined;
  private readonly keys: TableColumn[];
  /** Event times of rows sent but not yet confirmed: a marker never passes them. */
  private readonly inFlight = new Map<number, number>();
  private lastSent: string | undefined;
  private lastSentAt = 0;
  forwarded = 0;
  markers = 0;

  constructor(private readonly o: ForwarderOptions) {
    const watermark = o.table.watermark;
    this.clock = watermark ? new TableClock(o.table.stream, watermark.delayMs) : undefined;
    this.rowtimeColumn = watermark?.column;
    this.keys = o.keyColumns.map((name) => {
      const column = o.table.columns.find((c) => c.name === name);
      if (!column) throw new Error(`exchange key column "${name}" is not a column of table ${o.table.name}`);
      return column;
    });
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** One decoded source record: its copy goes to the exchange partition of its key; `onConfirmed` acknowledges the
   *  source. Throws (RowDecodeError) when the record is not a row: the caller dead-letters it. */
  forward(delivery: InboundDelivery, message: Message, offset: string | undefined, onConfirmed: () => void, onFailed: (err: unknown) => void): void {
    const row: DecodedRow = decodeRow(this.o.table, message, delivery.timestamp, this.now());
    const partition = this.keys.length === 0
      ? 0
      : exchangePartition(this.keys.map((c) => canonicalKeyValue(c, row.values[c.name])), this.o.partitions);
    const headers: Record<string, string> = { ...delivery.message.headers, [EXCHANGE_HEADERS.timestamp]: String(row.timestamp) };
    if (offset !== undefined) headers[EXCHANGE_HEADERS.source] = `${delivery.partition}:${offset}`;
    const copy: Message = { payload: delivery.message.payload, headers };
    if (delivery.message.key) copy.key = delivery.message.key;
    let rowtime: number | undefined;
    if (this.clock && this.rowtimeColumn !== undefined) {
      rowtime = eventTime(row.values[this.rowtimeColumn]);
      const p: PartitionClock = this.clock.partition(delivery.partition, this.now());
      if (rowtime !== undefined) {
        this.clock.observe(p, rowtime);
        this.inFlight.set(rowtime, (this.inFlight.get(rowtime) ?? 0) + 1);
      }
    }
    this.forwarded++;
    this.o.out.send(copy, partition).then(
      () => { this.settle(rowtime); onConfirmed(); },
      (err: unknown) => { this.settle(rowtime); onFailed(err); },
    );
  }

  private settle(rowtime: number | undefined): void {
    if (rowtime === undefined) return;
    const n = (this.inFlight.get(rowtime) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(rowtime);
    else this.inFlight.set(rowtime, n);
  }

  /** Announces a source partition this replica was given: it holds the watermark back until it is idle. */
  assigned(partition: number): void {
    this.clock?.partition(partition, this.now());
  }

  /** The watermark this forwarder may announce now: its sources' watermark, but below every row still in flight. */
  watermark(): number | 'idle' {
    if (!this.clock) return 'idle';
    const now = this.now();
    this.clock.checkIdle(now, this.o.idleTimeoutMs);
    const current = this.clock.current();
    if (current === undefined) return this.inFlight.size === 0 ? 'idle' : Math.min(...this.inFlight.keys()) - 1;
    let wm = current;
    for (const t of this.inFlight.keys()) if (t - 1 < wm) wm = t - 1;
    return wm;
  }

  /** Sends a marker to every exchange partition when the watermark moved, and at least every 2 s. */
  tick(): void {
    const wm = this.watermark();
    const text = wm === 'idle' ? 'idle' : Number.isFinite(wm) ? String(wm) : undefined;
    if (text === undefined) return;
    const now = this.now();
    if (text === this.lastSent && now - this.lastSentAt < MARKER_HEARTBEAT_MS) return;
    this.lastSent = text;
    this.lastSentAt = now;
    for (let p = 0; p < this.o.partitions; p++) {
      this.markers++;
      const marker: Message = { payload: Buffer.alloc(0), headers: { [EXCHANGE_HEADERS.watermark]: text, [EXCHANGE_HEADERS.from]: String(this.o.instanceIndex) } };
      this.o.out.send(marker, p).catch((err: unknown) => this.o.log.warn({ err: errorText(err), partition: p }, 'exchange watermark marker not confirmed; the next one follows'));
    }
  }

  describe(): Record<string, unknown> {
    return { table: this.o.table.name, keyColumns: this.o.keyColumns, partitions: this.o.partitions, forwarded: this.forwarded, markers: this.markers, watermark: this.watermark() };
  }
}

function eventTime(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
    const parsed = Date.parse(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** Stage two on this replica: the watermark of each exchange partition it reads, from the forwarders' markers. */
export class ExchangeClock {
  private readonly markers = new Map<number, Map<number, { value: number | 'idle'; at: number }>>();

  constructor(private readonly o: { forwarders: number; idleTimeoutMs: number; now?: () => number }) {}

  /** Records a marker; returns the partition's watermark after it (undefined: held back by a silent forwarder). */
  marker(partition: number, from: number, value: number | 'idle'): number | 'idle' | undefined {
    let byForwarder = this.markers.get(partition);
    if (!byForwarder) this.markers.set(partition, byForwarder = new Map());
    byForwarder.set(from, { value, at: this.o.now?.() ?? Date.now() });
    return this.watermarkOf(partition);
  }

  /** Min over forwarders 0..n−1; an idle one, or one silent longer than the idle timeout (gone), does not count; one
   *  never heard of holds the partition back. All idle: the partition is idle. */
  watermarkOf(partition: number): number | 'idle' | undefined {
    const byForwarder = this.markers.get(partition);
    const now = this.o.now?.() ?? Date.now();
    let min: number | undefined;
    let active = false;
    for (let from = 0; from < this.o.forwarders; from++) {
      const m = byForwarder?.get(from);
      if (!m) return undefined;
      if (m.value === 'idle' || now - m.at > this.o.idleTimeoutMs) continue;
      active = true;
      if (min === undefined || m.value < min) min = m.value;
    }
    return active ? min : 'idle';
  }

  partitions(): number[] {
    return [...this.markers.keys()];
  }
}

/** Copies of one source record that are still pending in the engine, by source position: a second copy is dropped. */
export class PendingCopies {
  private readonly pending = new Set<string>();
  duplicates = 0;

  /** False when a copy of the same source record is still pending (then the caller acknowledges and drops it). */
  admit(source: string | undefined): boolean {
    if (source === undefined) return true;
    if (this.pending.has(source)) {
      this.duplicates++;
      return false;
    }
    this.pending.add(source);
    return true;
  }

  done(source: string | undefined): void {
    if (source !== undefined) this.pending.delete(source);
  }

  get size(): number {
    return this.pending.size;
  }
}
