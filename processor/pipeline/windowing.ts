// The windowed path: events go into the window operator together with the acknowledgement of their input message
// (the operator hands every token back in exactly one release). A release goes through the UDF (or becomes a JSON
// array without one), then to every output; its events are acknowledged once all of that is confirmed.
// When the state limit (srp.window.maxState) is reached, the refused message is parked and the inputs paused until
// releases make room: nothing is dropped and nothing is acknowledged early.
// The windows' events live in the state store (srp.window.state / srp.envs: MEMORY, or ROCKSDB on disk). Releases read
// their events ahead of emission, bounded (ReadAhead), so a burst of large windows closing together is not loaded
// into memory at once.
import type { Logger } from 'pino';
import type { BindingConfig } from '../config';
import type { InboundDelivery } from '../binders/types';
import { errorText } from '../binders/types';
import type { Message } from '../message';
import type { ProcessorMetrics } from '../metrics';
import type { UdfClient } from '../udf';
import { MemoryStateStore, ReadAhead, type WindowStateStore } from '../state';
import {
  decodeWindowReply,
  encodeWindowRequest,
  readReleaseEvents,
  windowAsJsonArray,
  WindowOperator,
  type WindowEvent,
  type WindowRelease,
  type WindowSettings,
} from '../window';
import type { PipelineClock } from './clock';
import type { Pipeline, WindowVerdict } from './pipeline';
import { withTimeHeaders } from './pipeline';

export interface WindowToken {
  ack: () => void;
  input: BindingConfig;
  partition: number;
}

interface Parked {
  input: BindingConfig;
  delivery: InboundDelivery;
  message: Message;
  eventTime: number;
  ack: () => void;
}

export interface WindowingOptions {
  settings: WindowSettings;
  clock: PipelineClock;
  udf: UdfClient | undefined;
  outputHeaders: ((message: Message) => Message) | undefined;
  metrics: ProcessorMetrics;
  log: Logger;
  /** Called when the state is full (true) and when there is room again (false). */
  backpressure: (paused: boolean) => void;
  /** Where the windows' events live; default: in memory. Opened by `open`, closed by `close`. */
  store?: WindowStateStore;
}

/** Events read from the state store ahead of their window's emission, at most (one larger window still goes). */
const READ_AHEAD_EVENTS = 20_000;
/** AMQP's basic.qos prefetch-count is a 16-bit field. */
const RABBITMQ_MAX_PREFETCH = 65_535;

/**
 * A windowed input's binding with its in-flight bound. Window events stay unacknowledged until their window's results
 * are confirmed, so the default bound of 500 unacknowledged messages (RabbitMQ prefetch, Kafka in-flight) would cap
 * what all open windows hold together: a window with more events would wait forever for the event that closes it,
 * which the broker does not deliver. Unless the configuration sets `prefetch`, windowed inputs may hold
 * `srp.window.maxState` + 1 messages (RabbitMQ: at most 65535), so the state limit — with its log, metric and
 * backpressure — is the bound that applies.
 */
export function windowedInput(binding: BindingConfig, settings: WindowSettings): BindingConfig {
  if (binding.prefetch !== undefined) return binding;
  const wanted = Math.max(500, settings.maxState + 1);
  return { ...binding, prefetch: binding.protocol === 'rabbitmq' ? Math.min(wanted, RABBITMQ_MAX_PREFETCH) : wanted };
}

export class Windowing {
  readonly operator: WindowOperator<WindowToken>;
  private pipeline: Pipeline | undefined;
  private parked: Parked[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Releases are emitted one after the other, in window order. */
  private releaseChain: Promise<void> = Promise.resolve();
  readonly store: WindowStateStore;
  private readonly readAhead = new ReadAhead(READ_AHEAD_EVENTS);

  constructor(private readonly options: WindowingOptions) {
    this.store = options.store ?? new MemoryStateStore();
    this.operator = new WindowOperator<WindowToken>(options.settings, { store: this.store });
  }

  /** Opens the state store (ROCKSDB: starts empty, see processor/state). Before the inputs start. */
  open(): Promise<void> {
    return this.store.open();
  }

  /** After the inputs stopped: lets releases under way finish (bounded), then closes the state store. Events of
   *  open windows stay unacknowledged and are redelivered to the next instance. */
  async close(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.releaseChain, new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
    await this.store.close();
  }

  /** A reason for /readyz when the state store failed (its releases fail; their events stay unacknowledged). */
  stateProblem(): string | undefined {
    const error = this.store.status().error;
    return error ? `window state store (${this.store.type}) failed: ${error}` : undefined;
  }

  /** Starts the periodic tick that advances idle watermarks and releases idle windows. */
  start(pipeline: Pipeline): void {
    this.pipeline = pipeline;
    const tickMs = Math.max(50, Math.min(1000, Math.floor((this.options.settings.idleTimeoutMs ?? 1000) / 4)));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The pipeline's window stage: stamps time, adds to the operator, releases what became due. */
  add(input: BindingConfig, delivery: InboundDelivery, message: Message, ack: () => void): { verdict: WindowVerdict; message: Message } {
    const timing = this.options.clock.observe(input.stream, delivery.partition, message);
    const stamped = withTimeHeaders(message, timing.eventTime, timing.watermark);
    if (this.parked.length > 0) {
      // Keep arrival order while parked.
      this.parked.push({ input, delivery, message: stamped, eventTime: timing.eventTime, ack });
      return { verdict: 'buffered', message: stamped };
    }
    const verdict = this.offer(input, delivery, stamped, timing.eventTime, ack);
    if (verdict === 'refused') {
      this.parked.push({ input, delivery, message: stamped, eventTime: timing.eventTime, ack });
      this.options.metrics.stateLimitReached.inc();
      this.options.log.warn({ maxState: this.operator.maxState }, 'window state limit (srp.window.maxState) reached: inputs paused until windows are released');
      this.options.backpressure(true);
      return { verdict: 'buffered', message: stamped };
    }
    this.release(this.operator.advance(timing.watermark));
    this.updateGauges();
    return { verdict, message: stamped };
  }

  private offer(input: BindingConfig, delivery: InboundDelivery, message: Message, eventTime: number, ack: () => void): WindowVerdict | 'refused' {
    const result = this.operator.add({
      timestamp: eventTime,
      payload: message.payload,
      headers: message.headers,
      token: { ack, input, partition: delivery.partition },
    });
    this.updateGauges();
    switch (result.action) {
      case 'ADDED':
      case 'UPDATED':
        return 'buffered';
      case 'SIDE_CHANNEL':
        return 'late';
      case 'DROPPED':
        return 'discard';
      case 'REFUSED':
        return 'refused';
    }
  }

  private tick(): void {
    const now = Date.now();
    this.release([...this.operator.advance(this.options.clock.watermark()), ...this.operator.releaseIdle(now)]);
    this.unpark();
    this.updateGauges();
    const wm = this.options.clock.watermark();
    if (Number.isFinite(wm)) this.options.metrics.watermarkLag.set((now - wm) / 1000);
  }

  private unpark(): void {
    while (this.parked.length > 0) {
      const next = this.parked[0];
      const verdict = this.offer(next.input, next.delivery, next.message, next.eventTime, next.ack);
      if (verdict === 'refused') return;
      this.parked.shift();
      if (verdict !== 'buffered') {
        // Became late while parked: acknowledge through the pipeline's late handling.
        this.pipeline?.lateFromWindow(next.input, next.message, verdict === 'discard', next.ack);
      }
    }
    this.options.backpressure(false);
  }

  private updateGauges(): void {
    this.options.metrics.openWindows.set(this.operator.openWindows);
    this.options.metrics.stateSize.set(this.operator.bufferedEvents);
  }

  private release(releases: WindowRelease<WindowToken>[]): void {
    if (releases.length === 0) return;
    // The watermark that released these windows (not the later one when the UDF answers) goes in their headers.
    const watermark = this.operator.watermark;
    for (const release of releases) {
      // Events on the heap are there already; events on disk are read ahead, within the budget.
      const onDisk = release.stored !== undefined && release.stored.events === undefined;
      const count = onDisk ? release.stored?.length ?? 0 : 0;
      const events = onDisk ? this.readAhead.schedule(count, () => readReleaseEvents(release)) : readReleaseEvents(release);
      events.catch(() => undefined); // reported when the chain reaches this release
      this.releaseChain = this.releaseChain
        .then(() => events)
        .then((loaded) => this.emit(release, loaded, watermark))
        .catch((err: unknown) => this.options.log.error({ err: errorText(err) }, 'window release failed; its events will be redelivered'))
        .finally(() => { if (onDisk) this.readAhead.done(count); });
    }
    if (this.parked.length > 0) void this.releaseChain.then(() => this.unpark());
  }

  private async emit(stored: WindowRelease<WindowToken>, events: ReadonlyArray<WindowEvent<WindowToken>>, watermark: number): Promise<void> {
    const pipeline = this.pipeline;
    if (!pipeline) return;
    const release: WindowRelease<WindowToken> = { ...stored, events };
    const acks = release.tokens.map((t) => t.ack);
    // The window's events, for the dead-letter destination (a failure is the batch's, not one event's).
    const letters = (): Array<{ message: Message; input: BindingConfig; partition: number }> => {
      const tokens = release.tokens;
      return release.events
        .filter((e) => tokens.includes(e.token))
        .map((e) => ({ message: { payload: e.payload, headers: e.headers }, input: e.token.input, partition: e.token.partition }));
    };
    let outputs: Message[];
    try {
      if (this.options.udf) {
        const started = performance.now();
        try {
          const reply = await this.options.udf.requestReply(encodeWindowRequest(release));
          this.options.metrics.udfLatency.labels('ok').observe((performance.now() - started) / 1000);
          outputs = decodeWindowReply(reply, release, watermark);
        } catch (err) {
          this.options.metrics.udfLatency.labels('error').observe((performance.now() - started) / 1000);
          this.options.metrics.udfErrors.inc();
          throw err;
        }
      } else {
        outputs = [windowAsJsonArray(release, watermark)];
      }
      if (this.options.outputHeaders) outputs = outputs.map(this.options.outputHeaders);
      // A result no output can ever take (unroutable, too large) dead-letters the events it was made of.
      pipeline.emitRelease(outputs, acks, (err) => pipeline.deadLetterBatch(letters(), err.stage, err.message, acks));
    } catch (err) {
      pipeline.deadLetterBatch(letters(), this.options.udf ? 'udf' : 'window', errorText(err), acks);
    }
  }

  describe(): unknown {
    return { ...this.operator.describe(Date.now()), parked: this.parked.length, state: this.store.status(), readAheadEvents: this.readAhead.inFlight };
  }
}
