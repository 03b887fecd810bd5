// One processor instance: builds binders, stages and the pipeline from the configuration, starts them in order
// (outputs, then inputs, so nothing is consumed that cannot be produced) and stops them gracefully.
import type { Logger } from 'pino';
import type { BindingConfig, ProcessorConfig } from '../config';
import { createInputBinder, createOutputBinder, type OutputRole } from '../binders/factory';
import { connectionProblem, type BinderStatus, type InputBinder } from '../binders/types';
import { Tap } from '../debug/tap';
import { DebugServer, type Readiness } from '../debug/server';
import { PartitionSelector } from '../partition';
import { ProcessorMetrics } from '../metrics';
import { buildTransforms, OutputHeaders, runTransforms } from '../transform';
import { PipelineClock } from './clock';
import { StageError } from './stage-error';
import { Pipeline, type LateEventMode, type Route } from './pipeline';
import type { Transform, UdfCall } from './stages';
import { Windowing, windowedInput } from './windowing';
import { UdfClient } from '../udf';
import { PayloadCodecs } from '../codec';
import { resolveWindowSettings } from '../window';
import { ATTRIBUTE_WINDOW_STATE, createStateStore, resolveStateType, stateDirectory } from '../state';
import { parseDuration } from '../../crds/expressions/duration';
import type { Message } from '../message';

export const ATTRIBUTE_LATE_EVENT_MODE = 'srp.lateEventMode';
export const ATTRIBUTE_OUTPUT_HEADERS = 'srp.output.headers';
export const ATTRIBUTE_SKIP_UDF = 'srp.skipUdf';

/** Every `srp.*` attribute the data plane (or the controllers, for `srp.grpcPort`/`srp.envs`) understands. */
const KNOWN_ATTRIBUTES = new Set([
  'srp.window', 'srp.window.idle.timeout', 'srp.window.type', 'srp.window.slide', 'srp.window.gap', 'srp.window.maxState',
  ATTRIBUTE_WINDOW_STATE,
  'srp.lateEventMode', 'srp.maxOutOfOrderness', 'srp.allowedLateness', 'srp.input.timestampExpression',
  'srp.input.schemaRegistryUri', 'srp.skipUdf', 'srp.grpcPort', 'srp.spel.expression', 'srp.output.headers', 'srp.envs',
  'srp.jsonata.expression', 'srp.filter.expression', 'srp.watermark.idleTimeout', 'srp.udf.timeout', 'srp.udf.maxAttempts',
  'srp.output.late', 'srp.output.deadLetter',
]);

/** The dead-letter destination when the controllers did not name one: `<first input>.<group>.dlq` on its server. */
export function defaultDeadLetter(config: ProcessorConfig): BindingConfig {
  const first = config.inputs[0];
  return { stream: `${first.stream}.dlq`, protocol: first.protocol, destination: `${first.destination}.${config.group}.dlq`, server: first.server, contentType: first.contentType };
}

/** The late side channel when not named: `<first output>.late` on the first output's server. */
export function defaultLateOutput(config: ProcessorConfig): BindingConfig {
  const first = config.outputs[0];
  return { stream: `${first.stream}.late`, protocol: first.protocol, destination: `${first.destination}.late`, server: first.server, contentType: first.contentType };
}

/** `srp.lateEventMode`; when absent, DROP for a windowed processor (as in the original) and PASS without a window:
 *  a stateless step has no window a late message could miss, and dropping it would lose data whenever the
 *  `eventtime` it inherits comes from producers running at different speeds (several replicas or partitions). */
export function lateEventMode(config: ProcessorConfig, windowed: boolean): LateEventMode {
  const text = config.attributes[ATTRIBUTE_LATE_EVENT_MODE];
  if (text === undefined || text.trim() === '') return windowed ? 'DROP' : 'PASS';
  const mode = text.trim().toUpperCase();
  if (mode === 'UPSERT' || mode === 'SIDE_CHANNEL' || mode === 'DROP') return mode;
  throw new Error(`${ATTRIBUTE_LATE_EVENT_MODE} must be DROP, UPSERT or SIDE_CHANNEL (got "${mode}")`);
}

interface InputSlot {
  binding: BindingConfig;
  binder: InputBinder;
}

export class ProcessorRuntime {
  readonly metrics: ProcessorMetrics;
  readonly tap = new Tap();
  readonly pipeline: Pipeline;
  private readonly inputs: InputSlot[];
  private readonly outputs: Route[];
  private readonly deadLetter: Route;
  private readonly lateOutput: Route | undefined;
  private readonly debug: DebugServer;
  private readonly clock: PipelineClock;
  private readonly udf: UdfClient | undefined;
  private readonly windowing: Windowing | undefined;
  private readonly codecs: PayloadCodecs;
  private started = false;
  private gaugeTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly log: Logger,
    options: { defaultMetrics?: boolean } = {},
  ) {
    for (const name of Object.keys(config.attributes)) {
      if (name.startsWith('srp.') && !KNOWN_ATTRIBUTES.has(name)) log.warn({ attribute: name }, 'unknown srp.* attribute ignored');
    }
    if (config.inputs.length === 0) throw new Error('the configuration has no inputs');
    if (config.outputs.length === 0) throw new Error('the configuration has no outputs');
    this.metrics = new ProcessorMetrics(
      { processor: config.name, namespace: config.namespace, instance: String(config.instanceIndex) },
      options.defaultMetrics ?? false,
    );
    const route = (binding: BindingConfig, role: OutputRole = 'output'): Route => {
      const r: Route = { binding, binder: createOutputBinder(binding, config, log, role) };
      if (binding.partitioning) {
        const selector = new PartitionSelector(binding.partitioning);
        r.assign = (message) => selector.assign(message);
      }
      return r;
    };
    this.outputs = config.outputs.map((binding) => route(binding));
    this.deadLetter = route(config.deadLetter ?? defaultDeadLetter(config), 'dead-letter');
    const windowSettings = resolveWindowSettings(config.attributes);
    const mode = lateEventMode(config, windowSettings !== undefined);
    this.lateOutput = mode === 'SIDE_CHANNEL' ? route(config.lateOutput ?? defaultLateOutput(config), 'late') : undefined;
    this.inputs = config.inputs.map((binding) => ({
      binding,
      binder: createInputBinder(windowSettings ? windowedInput(binding, windowSettings) : binding, config, log),
    }));

    this.codecs = new PayloadCodecs(config, {
      onStateChange: (status) => {
        if (status.state === 'reachable') log.info({ registry: status.url }, 'schema registry reachable');
        else log.warn({ registry: status.url, err: status.lastError }, 'schema registry unreachable');
      },
    });
    const codecs = this.codecs;
    const transforms = buildTransforms(config.attributes);
    const outputHeadersText = config.attributes[ATTRIBUTE_OUTPUT_HEADERS]?.trim();
    const outputHeaders = outputHeadersText ? new OutputHeaders(outputHeadersText) : undefined;
    let transform: Transform | undefined;
    if (transforms.length > 0) {
      transform = (message) => {
        const outcome = runTransforms(transforms, message);
        if (outcome instanceof Promise) return outcome.then((o) => (o.kind === 'message' ? o.message : undefined));
        return outcome.kind === 'message' ? outcome.message : undefined;
      };
    }
    const clock = new PipelineClock(config);
    this.clock = clock;
    this.udf = createUdfClient(config);
    const applyOutputHeaders = outputHeaders ? (m: Message): Message => outputHeaders.apply(m) : undefined;
    const stateChoice = resolveStateType(config.attributes);
    if (!windowSettings && stateChoice.type !== 'MEMORY') log.warn({ source: stateChoice.source }, 'a window state type is set but srp.window is not: ignored');
    if (windowSettings) {
      const stateDir = stateDirectory(config, process.cwd());
      if (stateChoice.type !== 'MEMORY') log.info({ state: stateChoice.type, source: stateChoice.source, dir: stateDir }, 'window state on disk');
      this.windowing = new Windowing({
        settings: windowSettings,
        store: createStateStore(stateChoice.type, {
          dir: stateDir,
          onError: (err) => log.error({ err: err.message, dir: stateDir }, 'window state store failed: releases fail and their events stay unacknowledged until a restart'),
        }),
        clock,
        udf: this.udf,
        outputHeaders: applyOutputHeaders,
        metrics: this.metrics,
        log,
        backpressure: (paused) => {
          for (const slot of this.inputs) {
            if (paused) slot.binder.pause();
            else if (!this.stopping) slot.binder.resume();
          }
        },
      });
    }
    const windowing = this.windowing;
    this.pipeline = new Pipeline({
      clock,
      ...(windowing ? { window: (input, delivery, message, done) => windowing.add(input, delivery, message, done) } : {}),
      ...(this.udf && !windowing ? { udf: statelessUdf(this.udf, this.metrics) } : {}),
      outputs: this.outputs,
      deadLetter: this.deadLetter,
      ...(this.lateOutput ? { lateOutput: this.lateOutput } : {}),
      lateEventMode: mode,
      metrics: this.metrics,
      tap: this.tap,
      log,
      requireJsonPayload: transforms.length > 0 || clock.readsPayload(),
      ...(codecs.active
        ? { decode: (input, message) => codecs.decode(input, message), restoreEncoding: (message) => codecs.restore(message) }
        : {}),
      ...(transform ? { transform } : {}),
      // Stateless: `payload.X` of srp.output.headers reads the inbound payload (the window path has no single inbound
      // message: there it reads the window's result, as `team=payload.team` after a user-score UDF expects).
      ...(outputHeaders && !windowing ? { outputHeaders: (m: Message, inbound: Message): Message => outputHeaders.apply(m, inbound) } : {}),
    });
    windowing?.start(this.pipeline);
    this.debug = new DebugServer({
      metrics: this.metrics,
      tap: this.tap,
      readiness: () => this.readiness(),
      state: () => this.state(),
    });
  }

  /** Starts the debug port; returns its address. */
  async listen(): Promise<{ host: string; port: number }> {
    const address = await this.debug.listen(this.config.http.port, this.config.http.host ?? '127.0.0.1');
    return { host: address.address, port: address.port };
  }

  /** Gauges that describe state rather than events, refreshed every second (and on /debug/state). */
  private refreshGauges(): void {
    const now = Date.now();
    const watermark = this.clock.watermark();
    if (Number.isFinite(watermark)) this.metrics.watermarkLag.set((now - watermark) / 1000);
    for (const slot of this.inputs) {
      this.metrics.binderConnected.labels(slot.binding.stream, 'input').set(slot.binder.status().state === 'connected' ? 1 : 0);
    }
    for (const route of [...this.outputs, this.deadLetter, ...(this.lateOutput ? [this.lateOutput] : [])]) {
      this.metrics.binderConnected.labels(route.binding.stream, 'output').set(route.binder.status().state === 'connected' ? 1 : 0);
    }
  }

  async start(): Promise<void> {
    this.gaugeTimer = setInterval(() => this.refreshGauges(), 1000);
    this.gaugeTimer.unref();
    const routes = [...this.outputs, this.deadLetter, ...(this.lateOutput ? [this.lateOutput] : [])];
    await Promise.all(routes.map((r) => r.binder.start()));
    await this.windowing?.open();
    await Promise.all(this.inputs.map((slot) => slot.binder.start(this.pipeline.handler(slot.binding))));
    this.started = true;
    this.log.info({ inputs: this.inputs.length, outputs: this.outputs.length }, 'processor started');
  }

  /** Graceful shutdown: stop consuming, let in-flight messages finish (their outputs confirmed and inputs
   *  acknowledged), then close. Events held by open windows are NOT released as partial results: they stay
   *  unacknowledged and the broker redelivers them to the next instance (at-least-once; see README). */
  stop(drainTimeoutMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const slot of this.inputs) slot.binder.pause();
      this.windowing?.stop();
      if (this.gaugeTimer) clearInterval(this.gaugeTimer);
      const drained = await this.pipeline.drain(drainTimeoutMs);
      if (!drained) this.log.warn({ pending: this.pipeline.pending }, 'drain timed out; unacknowledged messages will be redelivered');
      const routes = [...this.outputs, this.deadLetter, ...(this.lateOutput ? [this.lateOutput] : [])];
      await Promise.all(routes.map((r) => r.binder.stop(drainTimeoutMs)));
      await Promise.all(this.inputs.map((slot) => slot.binder.stop()));
      await this.windowing?.close().catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'closing the window state store failed'));
      this.udf?.close();
      this.tap.closeAll();
      await this.debug.close();
      this.log.info('processor stopped');
    })();
    return this.stopping;
  }

  async readiness(): Promise<Readiness> {
    const reasons: string[] = [];
    if (!this.started) reasons.push('starting');
    for (const slot of this.inputs) {
      const problem = connectionProblem('input', slot.binder.status());
      if (problem) reasons.push(problem);
    }
    for (const route of this.outputs) {
      const problem = connectionProblem('output', route.binder.status());
      if (problem) reasons.push(problem);
    }
    // Messages the brokers refuse (unroutable, too large): the processor runs, but its data goes to dead letters.
    for (const [what, route] of [
      ...this.outputs.map((r) => ['output', r] as const),
      ['late output', this.lateOutput] as const,
      ['dead-letter output', this.deadLetter] as const,
    ]) {
      const problem = route?.binder.deliveryProblem?.();
      if (route && problem) reasons.push(`${what} ${route.binding.stream}: ${problem}`);
    }
    if (this.udf && this.udf.status().state !== 'reachable') {
      try {
        await this.udf.waitForReady(500);
      } catch {
        const status = this.udf.status();
        reasons.push(`udf ${status.address}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`);
      }
    }
    if (this.codecs.active) reasons.push(...(await this.codecs.readiness(500)));
    const stateProblem = this.windowing?.stateProblem();
    if (stateProblem) reasons.push(stateProblem);
    if (this.stopping) reasons.push('stopping');
    return { ready: reasons.length === 0, reasons };
  }

  state(): unknown {
    const binderStatus = (b: { status(): BinderStatus }): BinderStatus => b.status();
    this.refreshGauges();
    return {
      processor: { name: this.config.name, namespace: this.config.namespace, instanceIndex: this.config.instanceIndex, instanceCount: this.config.instanceCount, group: this.config.group },
      inFlight: this.pipeline.pending,
      tapListeners: this.tap.listeners,
      watermarks: this.clock.describe(),
      windows: this.windowing?.describe(),
      udf: this.udf?.status(),
      schemaRegistries: this.codecs.active ? this.codecs.describe() : undefined,
      inputs: this.inputs.map((slot) => binderStatus(slot.binder)),
      outputs: this.outputs.map((r) => binderStatus(r.binder)),
      deadLetter: binderStatus(this.deadLetter.binder),
      lateOutput: this.lateOutput ? binderStatus(this.lateOutput.binder) : undefined,
    };
  }
}

export const ATTRIBUTE_UDF_TIMEOUT = 'srp.udf.timeout';
export const ATTRIBUTE_UDF_MAX_ATTEMPTS = 'srp.udf.maxAttempts';

/** The UDF client, unless there is no UDF or `srp.skipUdf` is true. Timeout and attempts: the config's values, else
 *  the attributes, else the defaults (5 s, 3). */
function createUdfClient(config: ProcessorConfig): UdfClient | undefined {
  if (!config.udf || config.attributes[ATTRIBUTE_SKIP_UDF]?.trim().toLowerCase() === 'true') return undefined;
  let timeoutMs = config.udf.timeoutMs;
  const timeoutText = config.attributes[ATTRIBUTE_UDF_TIMEOUT];
  if (timeoutMs === undefined && timeoutText) {
    const parsed = parseDuration(timeoutText);
    if (!parsed.ok) throw new Error(`${ATTRIBUTE_UDF_TIMEOUT}: ${parsed.error}`);
    timeoutMs = parsed.value;
  }
  let maxAttempts = config.udf.maxAttempts;
  const attemptsText = config.attributes[ATTRIBUTE_UDF_MAX_ATTEMPTS];
  if (maxAttempts === undefined && attemptsText) {
    maxAttempts = Number(attemptsText);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`${ATTRIBUTE_UDF_MAX_ATTEMPTS}: must be a positive integer`);
  }
  return new UdfClient({ address: config.udf.address, timeoutMs: timeoutMs ?? 5000, maxAttempts: maxAttempts ?? 3 });
}

/** Stateless UDF call: the reply's payload and headers over the request's headers (a mapper may add or change
 *  headers); failures after the client's retries become StageError('udf'). */
function statelessUdf(udf: UdfClient, metrics: ProcessorMetrics): UdfCall {
  return async (message) => {
    const started = performance.now();
    try {
      const reply = await udf.requestReply(message);
      metrics.udfLatency.labels('ok').observe((performance.now() - started) / 1000);
      const out: Message = { payload: reply.payload, headers: { ...message.headers, ...reply.headers } };
      if (message.key) out.key = message.key;
      return [out];
    } catch (err) {
      metrics.udfLatency.labels('error').observe((performance.now() - started) / 1000);
      metrics.udfErrors.inc();
      throw new StageError('udf', err instanceof Error ? err.message : String(err));
    }
  };
}
