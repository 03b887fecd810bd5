// Window Top-N: ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k... ORDER BY m DESC) with WHERE rn <= N
// over a window aggregation. The aggregation emits each window's final rows when it fires; this operator collects
// them per (window, partition) and, at the same watermark, emits the first N with their row number — once,
// insert-only — then forgets the window.
//
// Ties are broken deterministically: rows equal on every ORDER BY column are ordered by all their columns in field
// order, ascending, NULL first (so the same input always yields the same N rows, whatever the arrival order).
//
// Acks: rows outside the top N are done at once; the top N are done when the sink confirmed them. The window
// aggregate's latch therefore releases its held input acks only after the Top-N rows were confirmed.
import { type Done, INSERT, type Inspectable, type Operator, type OperatorCounters, type RowKind } from './operator';
import { keyFunction, type KeyedState, type KeyOf } from './state';
import { compareValues, type Row } from './values';

export interface Partition {
  rows: Row[];
  dones: Done[];
}

export class WindowTopNOperator implements Operator, Inspectable {
  readonly name = 'WindowTopN';
  private current = Number.NEGATIVE_INFINITY;
  private readonly partitionOf: KeyOf;
  private readonly compare: (a: Row, b: Row) => number;

  constructor(
    partitionKeys: number[],
    orderBy: { field: number; descending: boolean }[],
    private readonly limit: number,
    private readonly windowEndField: number,
    width: number,
    private readonly counters: OperatorCounters,
    private readonly downstream: Operator,
    /** Rows waiting for their window to end, by window_end, then partition. */
    private readonly windows: KeyedState<number, Map<unknown, Partition>>,
  ) {
    this.partitionOf = keyFunction(partitionKeys);
    const all = Array.from({ length: width }, (_, i) => i);
    this.compare = (a, b) => {
      for (const o of orderBy) {
        const c = compareValues(a[o.field], b[o.field]);
        if (c !== 0) return o.descending ? -c : c;
      }
      for (const i of all) {
        const c = compareValues(a[i], b[i]);
        if (c !== 0) return c;
      }
      return 0;
    };
  }

  push(_kind: RowKind, row: Row, done: Done): void {
    const end = row[this.windowEndField] as number;
    if (end - 1 <= this.current) {
      this.counters.lateDropped(1);
      done();
      return;
    }
    let partitions = this.windows.get(end);
    if (partitions === undefined) this.windows.set(end, (partitions = new Map()));
    const key = this.partitionOf(row);
    let partition = partitions.get(key);
    if (partition === undefined) partitions.set(key, (partition = { rows: [], dones: [] }));
    partition.rows.push(row);
    partition.dones.push(done);
  }

  watermark(watermark: number): void {
    if (watermark <= this.current) return;
    this.current = watermark;
    const due = [...this.windows.keys()].filter((end) => end - 1 <= watermark).sort((a, b) => a - b);
    for (const end of due) {
      const partitions = this.windows.get(end)!;
      this.windows.delete(end);
      for (const partition of partitions.values()) this.emit(partition);
    }
    this.downstream.watermark(watermark);
  }

  private emit(partition: Partition): void {
    const order = partition.rows.map((_, i) => i).sort((i, j) => this.compare(partition.rows[i], partition.rows[j]));
    order.forEach((index, rank) => {
      if (rank < this.limit) this.downstream.push(INSERT, [...partition.rows[index], rank + 1], partition.dones[index]);
      else partition.dones[index]();
    });
  }

  stateSize(): number {
    let n = 0;
    for (const partitions of this.windows.values()) for (const p of partitions.values()) n += p.rows.length;
    return n;
  }

  describe(): Record<string, unknown> {
    return { operator: this.name, limit: this.limit, openWindows: this.windows.size, rowsHeld: this.stateSize() };
  }
}
