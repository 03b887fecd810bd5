// The per-message functions the pipeline strings together, as small seams. Their implementations are the pure
// building blocks of processor/{transform,time,window,udf,partition}; pipeline/build.ts assembles them from the
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

/** A window operator as the pipeline sees it: events go in with the token that acknowledges them later. */
export interface WindowStage<Token> {
  add(event: { message: Message; eventTime: number; watermark: number; verdict: Timing['verdict'] }, token: Token): WindowAddResult;
  /** Advances time (watermark and wall clock) and releases what is due. */
  advance(watermark: number, now: number): void;
  describe(): unknown;
  openWindows(): number;
  stateSize(): number;
}

/** `buffered`: held until release; `late`: not accepted (the caller applies the late-event mode). */
export type WindowAddResult = 'buffered' | 'late' | 'discard';

export interface WindowRelease<Token> {
  /** The batch for the UDF (GrpcPayloadCollection framing is the UDF module's business) or emitted directly. */
  messages: Message[];
  tokens: Token[];
  eventTime: number;
  partial: boolean;
}
