// The per-message pipeline: decode -> transform (SpEL / JSONata / filter) -> event time & watermark ->
// (window | stateless) -> UDF -> output headers -> partition -> produce to ALL outputs -> acknowledge the input once
// every output it caused is confirmed. A failing message goes to the dead-letter destination (then is acknowledged);
// so does one an output can never deliver (UndeliverableError: unroutable on RabbitMQ, too large for Kafka, ...,
// stage `produce`). Nothing is dropped silently and the processor keeps going.
//
// Messages are computed concurrently (UDF calls overlap), but what they produce is issued in arrival order per input
// partition, so a bridge or a mapper keeps the order of each partition.
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { BindingConfig } from '../config';
import type { DeliveryHandler, InboundDelivery, OutputBinder } from '../binders/types';
import { errorText, UndeliverableError } from '../binders/types';
import type { Tap } from '../debug/tap';
import { Headers, type Message } from '../message';
import type { ProcessorMetrics } from '../metrics';
import type { EventClock, Transform, UdfCall } from './stages';
import { StageError } from './stage-error';

/** DROP, UPSERT and SIDE_CHANNEL are `srp.lateEventMode`'s values. PASS is what a processor without a window does
 *  when the attribute is absent: a late message is produced as usual (only counted), because a stateless step has
 *  nothing a late message could spoil, while dropping it loses data behind any producer whose partitions (or
 *  replicas) run at different speeds. */
export type LateEventMode = 'DROP' | 'UPSERT' | 'SIDE_CHANNEL' | 'PASS';

/** An output destination with the function that picks the partition of each message (absent = unpartitioned);
 *  `assign` returns the message with its `scst_partition` header set, and throws when the key is missing. */
export interface Route {
  binding: BindingConfig;
  binder: OutputBinder;
  assign?: (message: Message) => { message: Message; partition: number };
}

/** One message bound for one output, partition decided. */
interface Routed {
  route: Route;
  message: Message;
  partition?: number;
}

export interface PipelineOptions {
  outputs: Route[];
  deadLetter: Route;
  lateOutput?: Route;
  lateEventMode: LateEventMode;
  metrics: ProcessorMetrics;
  tap: Tap;
  log: Logger;
  /** Reads the payload as JSON when some stage needs it; a payload that is not JSON is then a decode failure. */
  requireJsonPayload: boolean;
  /** Payload codecs (processor/codec): Avro via a schema registry becomes JSON for the stages. Synchronous unless a
   *  schema must be fetched; throws / rejects with an error of stage `decode`. */
  decode?: (input: BindingConfig, message: Message) => Message | Promise<Message>;
  /** Gives a message whose payload no stage changed its original encoding back (applied to everything sent). */
  restoreEncoding?: (message: Message) => Message;
  transform?: Transform;
  clock?: EventClock;
  udf?: UdfCall;
  /** srp.output.headers over the outbound message; `payload.X` reads `inbound` (the decoded message before the
   *  transforms), as the original documents (transform/output-headers.ts). */
  outputHeaders?: (message: Message, inbound: Message) => Message;
  /** The windowed path: `buffered` when the window took the message (and its acknowledgement), else late. */
  window?: (input: BindingConfig, delivery: InboundDelivery, message: Message, done: () => void) => { verdict: WindowVerdict; message: Message };
}

export type WindowVerdict = 'buffered' | 'late' | 'discard';

type Outcome =
  | { kind: 'emit'; sends: Routed[] }
  | { kind: 'filtered' }
  | { kind: 'held' }
  | { kind: 'late'; message: Message; discard: boolean }
  | { kind: 'failed'; stage: string; error: string };

const RESOLVED: Promise<void> = Promise.resolve();
const FILTERED: Outcome = { kind: 'filtered' };
const HELD: Outcome = { kind: 'held' };

function failure(err: unknown): Outcome {
  return { kind: 'failed', stage: stageOf(err), error: errorText(err) };
}

export class Pipeline {
  private inFlight = 0;
  /** Acknowledgements owned by open windows (left unacknowledged on shutdown, for redelivery). */
  private held = 0;
  private idleWaiters: Array<() => void> = [];
  /** Per input partition: the tail of the in-order emission chain. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly outCounters = new Map<Route, Counter.Internal>();

  constructor(private readonly options: PipelineOptions) {}

  handler(input: BindingConfig): DeliveryHandler {
    const inFlightGauge = this.options.metrics.inFlight.labels(input.stream);
    const inCounter = this.options.metrics.messagesIn.labels(input.stream);
    return (delivery) => {
      this.inFlight++;
      inFlightGauge.inc();
      inCounter.inc();
      this.options.tap.offer('in', input.stream, delivery.message, delivery.partition);
      const done = this.completion(delivery.ack, inFlightGauge);
      const outcome = this.compute(input, delivery, done);
      const key = `${input.stream}\u0000${delivery.partition}`;
      const previous = this.chains.get(key);
      if (!previous && !(outcome instanceof Promise)) {
        // The fast path: nothing earlier of this partition is still being computed, so settle now.
        this.settle(input, delivery, outcome, done);
        return;
      }
      const tail = (previous ?? RESOLVED)
        .then(() => outcome)
        .then((o) => this.settle(input, delivery, o, done))
        .catch((err: unknown) => {
          // A bug, not a message problem: keep the chain alive; the message stays unacknowledged (redelivered).
          this.options.log.error({ err: errorText(err), input: input.stream }, 'pipeline error');
        });
      this.chains.set(key, tail);
      // Forget the chain once it is idle so the map does not grow with partitions that went quiet.
      void tail.then(() => { if (this.chains.get(key) === tail) this.chains.delete(key); });
    };
  }

  /**
   * A message's acknowledgement (idempotent). Made here rather than inside `handler`'s delivery callback on purpose:
   * open windows hold it until their release, and a closure created there would keep the delivery — its payload
   * included — reachable all that time, whatever the window state store (ROCKSDB keeps payloads on disk).
   */
  private completion(ack: () => void, gauge: { dec(): void }): () => void {
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      ack();
      gauge.dec();
      this.finished();
    };
  }

  /** Synchronous while every stage is (no JSONata, no UDF): then the message is settled without any promise. */
  private compute(input: BindingConfig, delivery: InboundDelivery, done: () => void): Outcome | Promise<Outcome> {
    const o = this.options;
    try {
      let message = delivery.message;
      if (message.headers[Headers.contentType] === undefined && input.contentType) {
        message = { ...message, headers: { ...message.headers, [Headers.contentType]: input.contentType } };
      }
      if (o.decode) {
        const decoded = o.decode(input, message);
        if (decoded instanceof Promise) return decoded.then((m) => this.afterDecode(input, delivery, m, done), failure);
        message = decoded;
      }
      return this.afterDecode(input, delivery, message, done);
    } catch (err) {
      return failure(err);
    }
  }

  private afterDecode(input: BindingConfig, delivery: InboundDelivery, decoded: Message, done: () => void): Outcome | Promise<Outcome> {
    const o = this.options;
    try {
      let message = decoded;
      if (o.requireJsonPayload) decodeJson(message);
      if (o.transform) {
        const transformed = o.transform(message);
        if (transformed instanceof Promise) {
          return transformed.then(
            (m) => (m ? this.afterTransform(input, delivery, m, done, decoded) : FILTERED),
            failure,
          );
        }
        if (!transformed) return FILTERED;
        message = transformed;
      }
      return this.afterTransform(input, delivery, message, done, decoded);
    } catch (err) {
      return failure(err);
    }
  }

  private afterTransform(input: BindingConfig, delivery: InboundDelivery, transformed: Message, done: () => void, inbound: Message = transformed): Outcome | Promise<Outcome> {
    const o = this.options;
    try {
      let message = transformed;
      if (o.window) {
        this.held++;
        let taken: { verdict: WindowVerdict; message: Message };
        try {
          taken = o.window(input, delivery, message, this.release(done));
        } catch (err) {
          // The window never took it (e.g. its timestamp could not be extracted): it is not held, it is in flight
          // until its dead letter is confirmed. Left counted as held, drain() would stop waiting one message early.
          this.held--;
          throw err;
        }
        if (taken.verdict === 'buffered') return HELD;
        this.held--;
        return { kind: 'late', message: taken.message, discard: taken.verdict === 'discard' };
      }
      let late = false;
      let discard = false;
      if (o.clock) {
        const timing = o.clock.observe(input.stream, delivery.partition, message);
        message = withTimeHeaders(message, timing.eventTime, timing.watermark);
        late = timing.verdict !== 'on-time';
        discard = timing.verdict === 'discard';
      }
      if (late && o.lateEventMode === 'PASS') o.metrics.late.labels(input.stream, 'passed').inc();
      else if (late && o.lateEventMode !== 'UPSERT') return { kind: 'late', message, discard };
      if (o.udf) {
        const source = message;
        return o.udf(source).then(
          (replies) => this.emit(replies.map((reply) => withTimeHeaders(reply, eventTimeOf(source), eventWatermarkOf(source))), inbound),
          failure,
        );
      }
      return this.emit([message], inbound);
    } catch (err) {
      return failure(err);
    }
  }

  /** What an open window calls when its event is settled. Made here, not inline in afterTransform: a closure there
   *  would share that function's context with the UDF continuation, which holds the inbound message, and keep every
   *  windowed payload on the heap for as long as its window is open (ROCKSDB state keeps them on disk). */
  private release(done: () => void): () => void {
    return () => {
      this.held--;
      done();
    };
  }

  private emit(results: Message[], inbound: Message): Outcome {
    try {
      const o = this.options;
      const headers = o.outputHeaders;
      const out = headers ? results.map((m) => headers(m, inbound)) : results;
      return { kind: 'emit', sends: this.routeAll(out) };
    } catch (err) {
      return failure(err);
    }
  }

  /** Runs in arrival order per input partition: issues the sends, acknowledges when all are confirmed. */
  private settle(input: BindingConfig, delivery: InboundDelivery, outcome: Outcome, done: () => void): void {
    const o = this.options;
    switch (outcome.kind) {
      case 'held':
        return;
      case 'filtered':
        o.metrics.filtered.labels(input.stream).inc();
        o.tap.offer('filtered', input.stream, delivery.message, delivery.partition);
        done();
        return;
      case 'emit':
        this.confirmThenAck(this.sendAll(outcome.sends), done, true, (err) => this.deadLetter(input, delivery, err.stage, err.message, done));
        return;
      case 'late':
        this.late(input, outcome.message, outcome.discard, done, delivery.partition);
        return;
      case 'failed':
        this.deadLetter(input, delivery, outcome.stage, outcome.error, done);
        return;
    }
  }

  /** Every message for every output, with its partition. Throws StageError('partition') when a key is missing. */
  routeAll(messages: Message[]): Routed[] {
    const routed: Routed[] = [];
    for (const message of messages) {
      for (const route of this.options.outputs) routed.push(routeOne(route, message));
    }
    return routed;
  }

  /** Issues the sends; resolves when the brokers confirmed all of them. Rejects only once every send settled: with
   *  a stopping output's error when there is one (the input is then redelivered), else an UndeliverableError. */
  sendAll(sends: Routed[]): Promise<unknown> {
    if (sends.length === 1) return this.send(sends[0], 'out');
    return Promise.allSettled(sends.map((r) => this.send(r, 'out'))).then((results) => {
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failures.length === 0) return;
      throw failures.find((f) => !(f instanceof UndeliverableError)) ?? failures[0];
    });
  }

  private send(routed: Routed, point: 'out' | 'late' | 'dead-letter'): Promise<void> {
    const { route, partition } = routed;
    const message = this.options.restoreEncoding ? this.options.restoreEncoding(routed.message) : routed.message;
    const stream = route.binding.stream;
    let counter = this.outCounters.get(route);
    if (!counter) {
      counter = this.options.metrics.messagesOut.labels(stream);
      this.outCounters.set(route, counter);
    }
    const confirmed = counter;
    return route.binder.send(message, partition).then(() => {
      confirmed.inc();
      if (this.options.tap.active) this.options.tap.offer(point, stream, message, partition);
    }, (err: unknown) => {
      if (err instanceof UndeliverableError) this.options.metrics.undeliverable.labels(stream, err.reason).inc();
      throw err;
    });
  }

  /** Acknowledges once confirmed. A message an output can never deliver goes to `undeliverable` (which dead-letters
   *  it). Otherwise only a stopping output rejects: the input is then left unacknowledged so the broker redelivers it
   *  (single messages stop counting as in flight; window events stay held). */
  private confirmThenAck(confirmed: Promise<unknown>, done: () => void, single = true, undeliverable?: (err: UndeliverableError) => void): void {
    confirmed.then(done, (err: unknown) => {
      if (err instanceof UndeliverableError && undeliverable) {
        undeliverable(err);
        return;
      }
      this.options.log.debug({ err: errorText(err) }, 'send not confirmed; the input will be redelivered');
      if (single) this.finished();
    });
  }

  private late(input: BindingConfig, message: Message, discard: boolean, done: () => void, partition = -1): void {
    const o = this.options;
    const undeliverable = (err: UndeliverableError): void => this.deadLetter(input, { message, partition, ack: () => undefined }, err.stage, err.message, done);
    if (o.lateEventMode === 'SIDE_CHANNEL' && o.lateOutput) {
      o.metrics.late.labels(input.stream, 'side_channel').inc();
      this.confirmThenAck(this.sendRouted(o.lateOutput, message, 'late', input, done), done, true, undeliverable);
      return;
    }
    if (o.lateEventMode === 'UPSERT' && !discard) {
      o.metrics.late.labels(input.stream, 'upserted').inc();
      let sends: Routed[];
      try {
        sends = this.routeAll([message]);
      } catch (err) {
        this.deadLetter(input, { message, partition, ack: () => undefined }, stageOf(err), errorText(err), done);
        return;
      }
      this.confirmThenAck(this.sendAll(sends), done, true, undeliverable);
      return;
    }
    o.metrics.late.labels(input.stream, 'dropped').inc();
    o.metrics.dropped.labels(input.stream, 'late').inc();
    done();
  }

  private deadLetter(input: BindingConfig, delivery: InboundDelivery, stage: string, error: string, done: () => void): void {
    const o = this.options;
    o.metrics.deadLettered.labels(input.stream, stage).inc();
    o.log.warn({ input: input.stream, partition: delivery.partition, stage, err: error }, 'message dead-lettered');
    const original = delivery.message;
    const letter: Message = {
      payload: original.payload,
      headers: {
        ...original.headers,
        [Headers.exceptionMessage]: error,
        [Headers.exceptionStage]: stage,
        [Headers.originalDestination]: input.destination,
        [Headers.originalPartition]: String(delivery.partition),
      },
    };
    if (original.key) letter.key = original.key;
    this.confirmThenAck(this.send({ route: o.deadLetter, message: letter }, 'dead-letter'), done);
  }

  /** Sends to a side route (late channel) that may itself be partitioned. */
  private sendRouted(route: Route, message: Message, point: 'late', input: BindingConfig, done: () => void): Promise<void> {
    try {
      return this.send(routeOne(route, message), point);
    } catch (err) {
      this.deadLetter(input, { message, partition: -1, ack: () => undefined }, stageOf(err), errorText(err), done);
      return new Promise(() => undefined); // settled by the dead letter
    }
  }

  /** Produces a window's results and acknowledges its tokens once everything is confirmed (used by window stages).
   *  Results an output can never deliver go to `undeliverable` (the window stage dead-letters the window's events). */
  emitRelease(messages: Message[], acks: Array<() => void>, undeliverable?: (err: UndeliverableError) => void): void {
    this.confirmThenAck(this.sendAll(this.routeAll(messages)), () => { for (const ack of acks) ack(); }, false, undeliverable);
  }

  /** Late events handed back by the window stage after waiting (parked) for room. */
  lateFromWindow(input: BindingConfig, message: Message, discard: boolean, ack: () => void): void {
    this.late(input, message, discard, ack);
  }

  /** Dead-letters the events of a window whose processing failed; acknowledges them once the letters are confirmed. */
  deadLetterBatch(letters: Array<{ message: Message; input: BindingConfig; partition: number }>, stage: string, error: string, acks: Array<() => void>): void {
    const o = this.options;
    o.log.warn({ stage, err: error, events: letters.length }, 'window dead-lettered');
    const sends = letters.map(({ message, input, partition }) => {
      o.metrics.deadLettered.labels(input.stream, stage).inc();
      const letter: Message = {
        payload: message.payload,
        headers: {
          ...message.headers,
          [Headers.exceptionMessage]: error,
          [Headers.exceptionStage]: stage,
          [Headers.originalDestination]: input.destination,
          [Headers.originalPartition]: String(partition),
        },
      };
      return this.send({ route: o.deadLetter, message: letter }, 'dead-letter');
    });
    this.confirmThenAck(Promise.all(sends), () => { for (const ack of acks) ack(); }, false);
  }

  private finished(): void {
    this.inFlight--;
    if (this.inFlight - this.held <= 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Messages received and not yet acknowledged (including those held by windows). */
  get pending(): number {
    return this.inFlight;
  }

  /** Resolves when nothing is in flight except what open windows hold (or after `timeoutMs`). */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.inFlight - this.held <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => { clearTimeout(timer); resolve(true); });
    });
  }
}

function routeOne(route: Route, message: Message): Routed {
  if (!route.assign) return { route, message };
  try {
    const assigned = route.assign(message);
    return { route, message: assigned.message, partition: assigned.partition };
  } catch (err) {
    throw new StageError('partition', `output ${route.binding.stream}: ${errorText(err)}`);
  }
}

/** The stage a failure belongs to: StageError and the transform module's TransformError both carry `stage`. */
function stageOf(err: unknown): string {
  if (err instanceof StageError) return err.stage;
  if (err instanceof Error && 'stage' in err && typeof err.stage === 'string') return err.stage;
  return 'unknown';
}

function decodeJson(message: Message): void {
  // Only a message that says it is JSON must parse; untyped payloads are given to the stages as text.
  const contentType = message.headers[Headers.contentType];
  if (!contentType || !/json/i.test(contentType)) return;
  try {
    JSON.parse(message.payload.toString('utf8'));
  } catch (err) {
    throw new StageError('decode', `payload is not valid JSON: ${errorText(err)}`);
  }
}

export function withTimeHeaders(message: Message, eventTime: number, watermark: number): Message {
  const headers: Record<string, string> = { ...message.headers, [Headers.eventTime]: String(eventTime) };
  // No watermark yet (-Infinity) means no header, rather than a value downstream could not parse.
  if (Number.isFinite(watermark)) headers[Headers.watermark] = String(watermark);
  return { ...message, headers };
}

function eventTimeOf(message: Message): number {
  return Number(message.headers[Headers.eventTime]);
}

function eventWatermarkOf(message: Message): number {
  return Number(message.headers[Headers.watermark]);
}
