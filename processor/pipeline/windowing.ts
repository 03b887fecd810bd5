// The windowed path: events go into the window operator together with the acknowledgement of their input message
// (the operator hands every token back in exactly one release). A release goes through the UDF (or becomes a JSON
// array without one), then to every output; its events are acknowledged once all of that is confirmed.
// When the state limit (srp.window.maxState) is reached, the refused message is parked and the inputs paused until
// releases make room: nothing is dropped and nothing is acknowledged early.
import type { Logger } from 'pino';
import type { BindingConfig } from '../config';
import type { InboundDelivery } from '../binders/types';
import { errorText } from '../binders/types';
import type { Message } from '../message';
import type { ProcessorMetrics } from '../metrics';
import type { UdfClient } from '../udf';
import {
  decodeWindowReply,
  encodeWindowRequest,
  windowAsJsonArray,
  WindowOperator,
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
}

export class Windowing {
  readonly operator: WindowOperator<WindowToken>;
  private pipeline: Pipeline | undefined;
  private parked: Parked[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Releases are emitted one after the other, in window order. */
  private releaseChain: Promise<void> = Promise.resolve();

  constructor(private readonly options: WindowingOptions) {
    this.operator = new WindowOperator<WindowToken>(options.settings);
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
      this.releaseChain = this.releaseChain
        .then(() => this.emit(release, watermark))
        .catch((err: unknown) => this.options.log.error({ err: errorText(err) }, 'window release failed; its events will be redelivered'));
    }
    if (this.parked.length > 0) void this.releaseChain.then(() => this.unpark());
  }

  private async emit(release: WindowRelease<WindowToken>, watermark: number): Promise<void> {
    const pipeline = this.pipeline;
    if (!pipeline) return;
    const acks = release.tokens.map((t) => t.ack);
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
      pipeline.emitRelease(outputs, acks);
    } catch (err) {
      // The window's events go to the dead-letter destination (the failure is the batch's, not one event's).
      const tokens = release.tokens;
      const letters = release.events
        .filter((e) => tokens.includes(e.token))
        .map((e) => ({ message: { payload: e.payload, headers: e.headers }, input: e.token.input, partition: e.token.partition }));
      pipeline.deadLetterBatch(letters, this.options.udf ? 'udf' : 'window', errorText(err), acks);
    }
  }

  describe(): unknown {
    return { ...this.operator.describe(Date.now()), parked: this.parked.length };
  }
}
