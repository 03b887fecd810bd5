// One streaming SQL (FSQL) processor instance: the binders of every table the statements read and write, wired to
// the SQL engine (processor/sql). Records are decoded into rows (JSON, or Confluent-framed Avro through the input's
// schema registry, decided per record), pushed into the engine with their acknowledgement, and the engine's result
// rows are encoded and produced; the engine acknowledges an input only once every row it fed was confirmed.
// A record that cannot be read goes to the dead-letter destination with the reason, then is acknowledged.
import type { Logger } from 'pino';
import type { SqlTable } from '../../crds/sql/table';
import type { BindingConfig, ProcessorConfig } from '../config';
import { createInputBinder, createOutputBinder } from '../binders/factory';
import { errorText, type BinderStatus, type InboundDelivery, type InputBinder, type OutputBinder } from '../binders/types';
import { PayloadCodecs } from '../codec';
import { DebugServer, type Readiness } from '../debug/server';
import { Tap } from '../debug/tap';
import { Headers, type Message } from '../message';
import { ProcessorMetrics } from '../metrics';
import { defaultDeadLetter } from '../pipeline/runtime';
import { SqlEngine, type EmittedRow, type InputRow } from '../sql/engine';
import { AvroRowEncoder } from './avro-output';
import { decodeRow, rowKey, rowObject } from './row-codec';
import { sqlEngineSettings } from './settings';
import { DebugQuery } from './debug-query';

/** Unacknowledged records per SQL input when the binding names none: window aggregations hold every record of an
 *  open window (plus the watermark delay) until the window fires, so the bound must exceed what a window holds. */
export const SQL_DEFAULT_PREFETCH = 200_000;
/** RabbitMQ's prefetch is a 16-bit number. */
const RABBITMQ_MAX_PREFETCH = 65_535;

interface SqlInput {
  binding: BindingConfig;
  table: SqlTable;
  binder: InputBinder;
}

interface SqlOutput {
  binding: BindingConfig;
  table: SqlTable;
  binder: OutputBinder;
  avro?: AvroRowEncoder;
}

/** The input binding with the SQL default in-flight bound (unless the configuration set one). */
function sqlInputBinding(binding: BindingConfig): BindingConfig {
  if (binding.prefetch !== undefined) return binding;
  return { ...binding, prefetch: binding.protocol === 'rabbitmq' ? RABBITMQ_MAX_PREFETCH : SQL_DEFAULT_PREFETCH };
}

export class SqlProcessorRuntime {
  readonly metrics: ProcessorMetrics;
  readonly tap = new Tap();
  private readonly engine: SqlEngine;
  private readonly inputs: SqlInput[];
  private readonly outputs: SqlOutput[];
  private readonly deadLetter: { binding: BindingConfig; binder: OutputBinder };
  private readonly codecs: PayloadCodecs;
  private readonly debug: DebugServer;
  private readonly debugQuery: DebugQuery | undefined;
  /** The record behind each row in the engine, for dead-lettering a row the engine rejects. */
  private readonly origins = new WeakMap<InputRow, { input: SqlInput; delivery: InboundDelivery }>();
  /** Per input partition, the tail of pending asynchronous decodes: rows enter the engine in record order. */
  private readonly chains = new Map<string, Promise<void>>();
  private tickTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private deadLettered = 0;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly log: Logger,
    options: { defaultMetrics?: boolean } = {},
  ) {
    const sql = config.sql;
    if (!sql) throw new Error('not a streaming SQL configuration (no "sql")');
    this.metrics = new ProcessorMetrics(
      { processor: config.name, namespace: config.namespace, instance: String(config.instanceIndex) },
      options.defaultMetrics ?? false,
    );
    const tableOf = (binding: BindingConfig): SqlTable => {
      const table = sql.tables.find((t) => t.stream === binding.stream);
      if (!table) throw new Error(`sql.tables has no table for Stream "${binding.stream}"`);
      return table;
    };
    const settings = sqlEngineSettings(config.attributes);
    const created = SqlEngine.create({
      statements: sql.statements,
      tables: sql.tables,
      emit: (sink, rows) => this.emit(sink, rows),
      reject: (row, reason) => this.rejectRow(row, reason),
      ...settings,
      log,
    });
    if (!created.engine) {
      const problems = created.diagnostics.map((d) => `statement ${d.statement + 1}, line ${d.line}, column ${d.column}: ${d.message}`);
      throw new Error(`the SQL statements cannot run:\n${problems.join('\n')}`);
    }
    this.engine = created.engine;
    this.inputs = config.inputs.map((binding) => ({
      binding,
      table: tableOf(binding),
      binder: createInputBinder(sqlInputBinding(binding), config, log),
    }));
    this.outputs = config.outputs.map((binding) => {
      const table = tableOf(binding);
      const output: SqlOutput = { binding, table, binder: createOutputBinder(binding, config, log) };
      if (table.valueFormat !== 'json') {
        if (!binding.schemaRegistryUri) throw new Error(`output ${binding.stream}: value.format ${table.valueFormat} needs a schema registry (the Stream's dataSchemaContext.schemaRegistryUri)`);
        output.avro = new AvroRowEncoder(table, binding.schemaRegistryUri, binding.destination);
      }
      return output;
    });
    const deadLetter = config.deadLetter ?? defaultDeadLetter(config);
    this.deadLetter = { binding: deadLetter, binder: createOutputBinder(deadLetter, config, log) };
    this.codecs = new PayloadCodecs(config, {
      onStateChange: (status) => {
        if (status.state === 'reachable') log.info({ registry: status.url }, 'schema registry reachable');
        else log.warn({ registry: status.url, err: status.lastError }, 'schema registry unreachable');
      },
    });
    this.debugQuery = DebugQuery.parse(config.attributes.debugQuery, this.outputs.map((o) => o.table), log);
    this.debug = new DebugServer({
      metrics: this.metrics,
      tap: this.tap,
      readiness: () => this.readiness(),
      state: () => this.state(),
    });
    log.info({ plan: this.engine.explain() }, 'streaming SQL plan');
  }

  async listen(): Promise<{ host: string; port: number }> {
    const address = await this.debug.listen(this.config.http.port, this.config.http.host ?? '127.0.0.1');
    return { host: address.address, port: address.port };
  }

  async start(): Promise<void> {
    await Promise.all([...this.outputs.map((o) => o.binder.start()), this.deadLetter.binder.start()]);
    await Promise.all(this.inputs.map((input) => input.binder.start((delivery) => this.receive(input, delivery))));
    // Idle partitions and processing-time windows move with the wall clock, not with records.
    this.tickTimer = setInterval(() => this.engine.tick(), 200);
    this.tickTimer.unref();
    this.started = true;
    this.log.info({ inputs: this.inputs.length, outputs: this.outputs.length }, 'streaming SQL processor started');
  }

  private receive(input: SqlInput, delivery: InboundDelivery): void {
    this.metrics.messagesIn.labels(input.binding.stream).inc();
    this.tap.offer('in', input.binding.stream, delivery.message, delivery.partition);
    const key = `${input.binding.stream}\u0000${delivery.partition}`;
    const previous = this.chains.get(key);
    let decoded: Message | Promise<Message>;
    try {
      decoded = this.codecs.decode(input.binding, delivery.message);
    } catch (err) {
      this.deadLetterRecord(input, delivery, 'decode', errorText(err));
      return;
    }
    if (!previous && !(decoded instanceof Promise)) {
      this.admit(input, delivery, decoded);
      return;
    }
    const tail = (previous ?? Promise.resolve())
      .then(() => decoded)
      .then(
        (message) => this.admit(input, delivery, message),
        (err: unknown) => this.deadLetterRecord(input, delivery, 'decode', errorText(err)),
      );
    this.chains.set(key, tail);
    void tail.then(() => { if (this.chains.get(key) === tail) this.chains.delete(key); });
  }

  /** A decoded record enters the engine as a row (or the dead-letter destination when it is not a row). */
  private admit(input: SqlInput, delivery: InboundDelivery, message: Message): void {
    let row: InputRow;
    try {
      row = decodeRow(input.table, message, delivery.timestamp, Date.now());
    } catch (err) {
      this.deadLetterRecord(input, delivery, 'decode', errorText(err));
      return;
    }
    this.origins.set(row, { input, delivery });
    this.engine.push(input.table.stream, delivery.partition, row, delivery.ack);
  }

  /** The engine could not use a row (a value of the wrong type): dead-letter its record. The engine leaves the
   *  acknowledgement to us in that case. */
  private rejectRow(row: InputRow, reason: string): void {
    const origin = this.origins.get(row);
    if (!origin) {
      this.log.error({ reason }, 'the SQL engine rejected a row whose record is unknown');
      return;
    }
    this.deadLetterRecord(origin.input, origin.delivery, 'sql', reason);
  }

  private deadLetterRecord(input: SqlInput, delivery: InboundDelivery, stage: string, reason: string): void {
    this.deadLettered++;
    this.metrics.deadLettered.labels(input.binding.stream, stage).inc();
    const message: Message = {
      payload: delivery.message.payload,
      headers: {
        ...delivery.message.headers,
        [Headers.exceptionMessage]: reason,
        [Headers.exceptionStage]: stage,
        [Headers.originalDestination]: input.binding.destination,
        [Headers.originalPartition]: String(delivery.partition),
      },
    };
    if (delivery.message.key) message.key = delivery.message.key;
    this.tap.offer('dead-letter', input.binding.stream, message, delivery.partition);
    this.deadLetter.binder.send(message).then(
      () => delivery.ack(),
      // Not confirmed (the processor is stopping): left unacknowledged, so the broker redelivers it.
      (err: unknown) => this.log.warn({ err: errorText(err), input: input.binding.stream }, 'dead letter not confirmed; the record stays unacknowledged'),
    );
  }

  /** The engine's result rows for one sink: encoded, produced to every output bound to that table, confirmed. */
  private async emit(sink: SqlTable, rows: EmittedRow[]): Promise<void> {
    const outputs = this.outputs.filter((o) => o.table.stream === sink.stream);
    if (outputs.length === 0) throw new Error(`no output is bound to table ${sink.name}`);
    const sends: Promise<void>[] = [];
    for (const output of outputs) {
      for (const row of rows) {
        const message = await this.encode(output, row);
        this.tap.offer('out', output.binding.stream, message);
        this.debugQuery?.offer(sink, row, this.tap);
        sends.push(output.binder.send(message).then(() => { this.metrics.messagesOut.labels(output.binding.stream).inc(); }));
      }
    }
    await Promise.all(sends);
  }

  private async encode(output: SqlOutput, row: EmittedRow): Promise<Message> {
    const key = rowKey(output.table, row.key ?? row.values);
    const contentType = output.avro ? 'avro/binary' : 'application/json';
    const headers: Record<string, string> = { [Headers.contentType]: contentType };
    let payload: Buffer;
    if (row.kind === 'delete' && output.table.upsert) {
      // An upsert sink's delete is a tombstone: the key with no value.
      payload = Buffer.alloc(0);
      headers['sr-row-kind'] = 'delete';
    } else {
      payload = output.avro ? await output.avro.encode(row.values) : Buffer.from(JSON.stringify(rowObject(output.table, row.values)));
      if (row.kind !== 'insert') headers['sr-row-kind'] = row.kind;
    }
    const message: Message = { payload, headers };
    if (key) message.key = key;
    return message;
  }

  stop(drainTimeoutMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const input of this.inputs) input.binder.pause();
      if (this.tickTimer) clearInterval(this.tickTimer);
      // Rows held by open windows and joins stay unacknowledged: the broker redelivers them to the next instance,
      // which rebuilds the state (at-least-once, no half windows on every rolling update).
      const deadline = Date.now() + drainTimeoutMs;
      while (this.chains.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const routes = [...this.outputs.map((o) => o.binder), this.deadLetter.binder];
      await Promise.all(routes.map((b) => b.stop(Math.max(0, deadline - Date.now()))));
      await Promise.all(this.inputs.map((input) => input.binder.stop()));
      this.tap.closeAll();
      await this.debug.close();
      this.log.info('streaming SQL processor stopped');
    })();
    return this.stopping;
  }

  async readiness(): Promise<Readiness> {
    const reasons: string[] = [];
    if (!this.started) reasons.push('starting');
    for (const input of this.inputs) {
      const status = input.binder.status();
      if (status.state !== 'connected') reasons.push(`input ${status.stream}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`);
    }
    for (const output of this.outputs) {
      const status = output.binder.status();
      if (status.state !== 'connected') reasons.push(`output ${status.stream}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`);
    }
    if (this.codecs.active) reasons.push(...(await this.codecs.readiness(500)));
    if (this.stopping) reasons.push('stopping');
    return { ready: reasons.length === 0, reasons };
  }

  state(): unknown {
    const status = (b: { status(): BinderStatus }): BinderStatus => b.status();
    return {
      processor: { name: this.config.name, namespace: this.config.namespace, instanceIndex: this.config.instanceIndex, instanceCount: this.config.instanceCount, group: this.config.group },
      sql: {
        plan: this.engine.explain(),
        engine: this.engine.describe(),
        pendingRows: this.engine.pending(),
        deadLettered: this.deadLettered,
        debugQuery: this.debugQuery?.describe(),
      },
      schemaRegistries: this.codecs.active ? this.codecs.describe() : undefined,
      inputs: this.inputs.map((i) => status(i.binder)),
      outputs: this.outputs.map((o) => status(o.binder)),
      deadLetter: status(this.deadLetter.binder),
    };
  }
}
