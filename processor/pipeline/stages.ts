// The per-message functions the pipeline strings together, as small seams. Their implementations are the pure
// building blocks of processor/{transform,time,window,udf,partition}; pipeline/runtime.ts assembles them from the
// configuration. Keeping the seams here lets the pipeline be read (and tested) on its own.
import type { Message } from '../message';

/** Result of stamping a message with event time and advancing the watermark of its input partition. */
export interface Timing {
  eventTime: number;
  /** The processor's current watermark (minimum over input partitions) after this message. */
  watermark: number;
  /** on-time; late (behind the watermark, within allowed lateness); discard (later than allowed lateness). */
  verdict: 'on-time' | 'late' | 'discard';
}

export interface EventClock {
  /** Throws StageError('timestamp') when the configured timestamp cannot be read. */
  observe(inputKey: string, partition: number, message: Message): Timing;
  /** The current watermark (min over partitions, idle partitions excluded). */
  watermark(): number;
  /** Per input partition state for /debug/state. */
  describe(): unknown;
}

export type Transform = (message: Message) => Message | undefined | Promise<Message | undefined>;

/** Calls the UDF (with retries); resolves with its reply messages. Throws StageError('udf') after the last attempt. */
export type UdfCall = (message: Message) => Promise<Message[]>;
