// The physical operator contract: rows are pushed downstream with a completion callback, watermarks follow them.
//
// `done` is the ack model in one callback: every row travelling between operators carries exactly one `done`, which
// must be called exactly once, when the row is fully handled downstream — written and confirmed by the sink, or
// filtered out, dropped as late, or found to contribute nothing. Operators that fan a row out count its outputs
// (acks.ts `latch`); operators that hold rows in state (window aggregate, Top-N) hold their `done`s until what they
// emitted from them was confirmed. The engine's input `ack` is the first `done`.
import type { Row } from './values';

export type Done = () => void;

/** Changelog kinds between operators. Retract streams use Insert / Delete; upsert streams Insert / Update / Delete. */
export const INSERT = 0;
export const UPDATE = 1;
export const DELETE = 2;
export type RowKind = typeof INSERT | typeof UPDATE | typeof DELETE;

export interface Operator {
  push(kind: RowKind, row: Row, done: Done): void;
  /** Event-time progress: no row with a time at or below `watermark` is expected any more. Never decreases. */
  watermark(watermark: number): void;
}

/** What every stateful operator can say about itself (`describe()`), and its periodic work (`tick`). */
export interface Inspectable {
  readonly name: string;
  describe(): Record<string, unknown>;
  /** Rows (or groups) held in state. */
  stateSize(): number;
  /** Wall-clock driven work (state TTL). */
  tick?(now: number): void;
}

/** Counters the operators report into (the engine forwards them to the metrics interface and `describe()`). */
export interface OperatorCounters {
  lateDropped(count: number): void;
  expired(count: number): void;
}
