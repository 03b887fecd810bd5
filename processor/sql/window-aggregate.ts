// Window aggregation: one final row per window and group, emitted when the watermark reaches window_end − 1 ms, then
// the window's state is dropped. Rows arriving for a window that already fired are late: dropped and counted.
//
// Acks: a window keeps the `done` of every row it absorbed (one array per window, not per row or key). When it fires,
// its output rows share one latch; when the sink (and any Top-N above) confirmed them all, every held `done` is
// called. A crash before that loses nothing: the rows were never acknowledged, the broker redelivers them, and the
// window is rebuilt. A window whose groups are all filtered out by HAVING releases its rows at once.
import { latch, releaseAll } from './acks';
import type { GroupFactory, Group } from './aggregates';
import { type Done, INSERT, type Inspectable, type Operator, type OperatorCounters, type RowKind } from './operator';
import { keyFunction, type KeyedState, type KeyOf } from './state';
import type { Row } from './values';

/** A TUMBLE the aggregate assigns itself (no copy of each row with the window columns appended). */
export interface FusedTumble {
  sizeMs: number;
  offsetMs: number;
  timeField: number;
}

export interface WindowState {
  start: number;
  end: number;
  groups: Map<unknown, Group>;
  held: Done[];
}

export class WindowAggregateOperator implements Operator, Inspectable {
  readonly name = 'WindowAggregate';
  private current = Number.NEGATIVE_INFINITY;
  /** Smallest window_end held (fire check in O(1) per watermark). */
  private nextEnd = Number.POSITIVE_INFINITY;
  private readonly keyOf: KeyOf;
  private fired = 0;
  private last: WindowState | undefined;

  constructor(
    private readonly groups: GroupFactory,
    /** Input positions of the GROUP BY keys other than window_start / window_end. */
    keyFields: number[],
    private readonly startField: number,
    private readonly endField: number,
    private readonly counters: OperatorCounters,
    private readonly downstream: Operator,
    /** Open windows by window_end. */
    private readonly windows: KeyedState<number, WindowState>,
    private readonly tumble?: FusedTumble,
  ) {
    this.keyOf = keyFunction(keyFields);
  }

  push(_kind: RowKind, row: Row, done: Done): void {
    if (this.tumble !== undefined) {
      this.pushTumble(row, done);
      return;
    }
    const end = row[this.endField] as number;
    this.add(row, row[this.startField] as number, end, done);
  }

  private pushTumble(row: Row, done: Done): void {
    const time = row[this.tumble!.timeField];
    if (typeof time !== 'number') {
      done();
      return;
    }
    const { sizeMs, offsetMs } = this.tumble!;
    const start = time - ((((time - offsetMs) % sizeMs) + sizeMs) % sizeMs);
    this.add(row, start, start + sizeMs, done);
  }

  private add(row: Row, start: number, end: number, done: Done): void {
    if (end - 1 <= this.current) {
      this.counters.lateDropped(1);
      done();
      return;
    }
    // Rows come in runs of the same window: remember the last one.
    let window = this.last !== undefined && this.last.end === end ? this.last : this.windows.get(end);
    if (window === undefined) {
      window = { start, end, groups: new Map(), held: [] };
      this.windows.set(end, window);
      if (end < this.nextEnd) this.nextEnd = end;
    }
    this.last = window;
    const key = this.keyOf(row);
    let group = window.groups.get(key);
    if (group === undefined) {
      group = this.groups.create(row, start, end);
      window.groups.set(key, group);
    }
    this.groups.add(group, row);
    window.held.push(done);
  }

  watermark(watermark: number): void {
    if (watermark <= this.current) return;
    this.current = watermark;
    if (this.nextEnd - 1 <= watermark) this.fire(watermark);
    this.downstream.watermark(watermark);
  }

  private fire(watermark: number): void {
    const due: WindowState[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const window of this.windows.values()) {
      if (window.end - 1 <= watermark) due.push(window);
      else if (window.end < next) next = window.end;
    }
    this.nextEnd = next;
    due.sort((a, b) => a.end - b.end);
    for (const window of due) {
      this.windows.delete(window.end);
      if (this.last === window) this.last = undefined;
      this.fired++;
      const done = latch(window.groups.size, releaseAll(window.held));
      for (const group of window.groups.values()) this.downstream.push(INSERT, this.groups.output(group), done);
    }
  }

  stateSize(): number {
    let rows = 0;
    for (const w of this.windows.values()) rows += w.held.length;
    return rows;
  }

  describe(): Record<string, unknown> {
    const open = [...this.windows.values()].sort((a, b) => a.end - b.end).slice(0, 50).map((w) => ({
      windowStart: w.start,
      windowEnd: w.end,
      groups: w.groups.size,
      rowsHeld: w.held.length,
      firesWhenWatermarkReaches: w.end - 1,
      whyNotFired: `watermark ${Number.isFinite(this.current) ? this.current : 'none yet'} < ${w.end - 1} (window_end - 1 ms)`,
    }));
    return { operator: this.name, watermark: Number.isFinite(this.current) ? this.current : null, openWindows: this.windows.size, windowsFired: this.fired, rowsHeld: this.stateSize(), windows: open };
  }
}
