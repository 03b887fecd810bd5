// One processor instance: builds binders, stages and the pipeline from the configuration, starts them in order
// (outputs, then inputs, so nothing is consumed that cannot be produced) and stops them gracefully.
import type { Logger } from 'pino';
import type { BindingConfig, ProcessorConfig } from '../config';
import { createInputBinder, createOutputBinder } from '../binders/factory';
import type { BinderStatus, InputBinder } from '../binders/types';
import { Tap } from '../debug/tap';
import { DebugServer, type Readiness } from '../debug/server';
import { PartitionSelector } from '../partition';
import { ProcessorMetrics } from '../metrics';
import { buildTransforms, OutputHeaders, runTransforms } from '../transform';
import { PipelineClock } from './clock';
import { Pipeline, type LateEventMode, type Route } from './pipeline';
import type { Transform } from './stages';

export const ATTRIBUTE_LATE_EVENT_MODE = 'srp.lateEventMode';
export const ATTRIBUTE_OUTPUT_HEADERS = 'srp.output.headers';
export const ATTRIBUTE_SKIP_UDF = 'srp.skipUdf';

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

function lateEventMode(config: ProcessorConfig): LateEventMode {
  const mode = (config.attributes[ATTRIBUTE_LATE_EVENT_MODE] ?? 'DROP').trim().toUpperCase();
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
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly log: Logger,
    options: { defaultMetrics?: boolean } = {},
  ) {
    if (config.inputs.length === 0) throw new Error('the configuration has no inputs');
    if (config.outputs.length === 0) throw new Error('the configuration has no outputs');
    this.metrics = new ProcessorMetrics(
      { processor: config.name, namespace: config.namespace, instance: String(config.instanceIndex) },
      options.defaultMetrics ?? false,
    );
    const route = (binding: BindingConfig): Route => {
      const r: Route = { binding, binder: createOutputBinder(binding, config, log) };
      if (binding.partitioning) {
        const selector = new PartitionSelector(binding.partitioning);
        r.assign = (message) => selector.assign(message);
      }
      return r;
    };
    this.outputs = config.outputs.map(route);
    this.deadLetter = route(config.deadLetter ?? defaultDeadLetter(config));
    const mode = lateEventMode(config);
    this.lateOutput = mode === 'SIDE_CHANNEL' ? route(config.lateOutput ?? defaultLateOutput(config)) : undefined;
    this.inputs = config.inputs.map((binding) => ({ binding, binder: createInputBinder(binding, config, log) }));

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
    this.pipeline = new Pipeline({
      clock,
      outputs: this.outputs,
      deadLetter: this.deadLetter,
      ...(this.lateOutput ? { lateOutput: this.lateOutput } : {}),
      lateEventMode: mode,
      metrics: this.metrics,
      tap: this.tap,
      log,
      requireJsonPayload: transforms.length > 0 || clock.readsPayload(),
      ...(transform ? { transform } : {}),
      ...(outputHeaders ? { outputHeaders: (m) => outputHeaders.apply(m) } : {}),
    });
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

  async start(): Promise<void> {
    const routes = [...this.outputs, this.deadLetter, ...(this.lateOutput ? [this.lateOutput] : [])];
    await Promise.all(routes.map((r) => r.binder.start()));
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
      const drained = await this.pipeline.drain(drainTimeoutMs);
      if (!drained) this.log.warn({ pending: this.pipeline.pending }, 'drain timed out; unacknowledged messages will be redelivered');
      const routes = [...this.outputs, this.deadLetter, ...(this.lateOutput ? [this.lateOutput] : [])];
      await Promise.all(routes.map((r) => r.binder.stop(drainTimeoutMs)));
      await Promise.all(this.inputs.map((slot) => slot.binder.stop()));
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
      const status = slot.binder.status();
      if (status.state !== 'connected') reasons.push(`input ${status.stream}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`);
    }
    for (const route of this.outputs) {
      const status = route.binder.status();
      if (status.state !== 'connected') reasons.push(`output ${status.stream}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`);
    }
    if (this.stopping) reasons.push('stopping');
    return { ready: reasons.length === 0, reasons };
  }

  state(): unknown {
    const binderStatus = (b: { status(): BinderStatus }): BinderStatus => b.status();
    for (const slot of this.inputs) this.metrics.binderConnected.labels(slot.binding.stream, 'input').set(slot.binder.status().state === 'connected' ? 1 : 0);
    return {
      processor: { name: this.config.name, namespace: this.config.namespace, instanceIndex: this.config.instanceIndex, instanceCount: this.config.instanceCount, group: this.config.group },
      inFlight: this.pipeline.pending,
      watermarks: this.clock.describe(),
      inputs: this.inputs.map((slot) => binderStatus(slot.binder)),
      outputs: this.outputs.map((r) => binderStatus(r.binder)),
      deadLetter: binderStatus(this.deadLetter.binder),
      lateOutput: this.lateOutput ? binderStatus(this.lateOutput.binder) : undefined,
    };
  }
}
