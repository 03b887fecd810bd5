// The window table functions (TUMBLE, HOP, CUMULATE) as a stateless operator: each row leaves once per window it
// belongs to, with window_start, window_end and window_time (= window_end − 1 ms) appended. Windows are aligned to
// the epoch plus the optional offset. When a window aggregation follows, windows that already fired (window_end − 1
// <= watermark) are skipped, and a row with no window left is late: dropped, counted and acknowledged — Flink keeps
// a HOP/CUMULATE row for its windows that have not fired yet, and so do we.
import type { WindowSpec } from '../../crds/sql/plan';
import { latch } from './acks';
import { type Done, type Operator, type OperatorCounters, type RowKind } from './operator';
import type { Row } from './values';

const mod = (x: number, n: number): number => ((x % n) + n) % n;

export class WindowAssignOperator implements Operator {
  private current = Number.NEGATIVE_INFINITY;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(
    private readonly spec: WindowSpec,
    private readonly timeField: number,
    /** Drop windows that fired (a window aggregation follows). */
    private readonly dropLate: boolean,
    private readonly counters: OperatorCounters,
    private readonly downstream: Operator,
  ) {}

  push(kind: RowKind, row: Row, done: Done): void {
    const time = row[this.timeField];
    if (typeof time !== 'number') {
      // A NULL time attribute cannot be windowed (Flink fails the job); the row contributes nothing.
      done();
      return;
    }
    const { sizeMs, stepMs, offsetMs } = this.spec;
    const fired = this.dropLate ? this.current + 1 : Number.NEGATIVE_INFINITY;
    if (this.spec.fn === 'TUMBLE') {
      const start = time - mod(time - offsetMs, sizeMs);
      const end = start + sizeMs;
      if (end <= fired) {
        this.counters.lateDropped(1);
        done();
        return;
      }
      this.downstream.push(kind, appendWindow(row, start, end), done);
      return;
    }
    const starts = this.starts;
    const ends = this.ends;
    starts.length = 0;
    ends.length = 0;
    if (this.spec.fn === 'HOP') {
      for (let start = time - mod(time - offsetMs, stepMs); start > time - sizeMs; start -= stepMs) {
        if (start + sizeMs > fired) { starts.push(start); ends.push(start + sizeMs); }
      }
    } else {
      const start = time - mod(time - offsetMs, sizeMs);
      for (let end = time - mod(time - offsetMs, stepMs) + stepMs; end <= start + sizeMs; end += stepMs) {
        if (end > fired) { starts.push(start); ends.push(end); }
      }
    }
    if (starts.length === 0) {
      this.counters.lateDropped(1);
      done();
      return;
    }
    const each = latch(starts.length, done);
    // Copy the bounds first: a downstream push may re-enter this operator only through a new push (never here), but
    // keep the loop independent of the scratch arrays anyway.
    const s = starts.slice();
    const e = ends.slice();
    for (let i = 0; i < s.length; i++) this.downstream.push(kind, appendWindow(row, s[i], e[i]), each);
  }

  watermark(watermark: number): void {
    if (watermark > this.current) this.current = watermark;
    this.downstream.watermark(watermark);
  }
}

function appendWindow(row: Row, start: number, end: number): Row {
  const n = row.length;
  const out: Row = new Array(n + 3);
  for (let i = 0; i < n; i++) out[i] = row[i];
  out[n] = start;
  out[n + 1] = end;
  out[n + 2] = end - 1;
  return out;
}
