// One streaming SQL (FSQL) processor instance: the binders of every table the statements read and write, wired to
// the SQL engine (processor/sql). Records are decoded into rows (JSON, or Confluent-framed Avro through the input's
// schema registry, decided per record), pushed into the engine with their acknowledgement, and the engine's result
// rows are encoded and produced; the engine acknowledges an input only once every row it fed was confirmed.
// A record that cannot be read goes to the dead-letter destination with the reason, then is acknowledged.
import type { Logger } from 'pino';
import type { SqlTable } from '../../crds/sql/table';
import type { BindingConfig, ProcessorConfig } from '../config';
import { createInputBinder, createOutputBinder } from '../binders/factory';
import type { SqlExchangeInput } from '../config';
import { connectionProblem, errorText, UndeliverableError, type BinderStatus, type InboundDelivery, type InputBinder, type OutputBinder } from '../binders/types';
import { PayloadCodecs } from '../codec';
import { DebugServer, type Readiness } from '../debug/server';
import { Tap } from '../debug/tap';
import { Headers, type Message } from '../message';
import { ProcessorMetrics } from '../metrics';
import { defaultDeadLetter } from '../pipeline/runtime';
import { SqlEngine, type EmittedRow, type InputRow } from '../sql/engine';
import { AvroRowEncoder } from './avro-output';
import { decodeRow, rowKey, rowObject } from './row-codec';
import { sqlEngineSettings, sqlStateBackend } from './settings';
import { SqlMetrics } from './metrics';
import { DebugQuery } from './debug-query';
import { RowPartitioner } from './row-partitioner';
import type { StateBackend } from '../sql/state';
import { DoneSources, EXCHANGE_HEADERS, ExchangeClock, ExchangeForwarder, MARKER_INTERVAL_MS, parseMarker, PendingCopies, sourceIdentity } from './exchange';

/** Unacknowledged records per SQL input when the binding names none: window aggregations hold every record of an
 *  open window (plus the watermark delay) until the window fires, so the bound must exceed what a window holds. */
export const SQL_DEFAULT_PREFETCH = 200_000;
/** RabbitMQ's prefetch is a 16-bit number. */
const RABBITMQ_MAX_PREFETCH = 65_535;

/** Why a result row goes to the dead letters: the binder's UndeliverableError, or a row with no partition key. */
type RowProblem = Pick<UndeliverableError, 'message' | 'reason'> & { stage: string };

interface SqlInput {
  binding: BindingConfig;
  table: SqlTable;
  binder: InputBinder;
  /** Set when this input is re-keyed through the exchange: its records are forwarded, not run. */
  forwarder?: ExchangeForwarder;
  /** Set on an exchange input: records (rows and watermark markers) from every replica's forwarder. */
  exchange?: { clock: ExchangeClock; copies: PendingCopies };
}

interface SqlOutput {
  binding: BindingConfig;
  table: SqlTable;
  binder: OutputBinder;
  avro?: AvroRowEncoder;
  /** A partitioned output Stream: the partition of each row (else the binder's default routing). */
  partitioner?: RowPartitioner;
  /** The last emission: the next one is sent once it is confirmed (rows keep the engine's order). */
  chain?: Promise<void>;
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
  /** The exchange's producers (one per re-keyed input), beside the outputs. */
  private readonly exchangeOutputs: OutputBinder[] = [];
  private readonly deadLetter: { binding: BindingConfig; binder: OutputBinder };
  private readonly codecs: PayloadCodecs;
  private readonly debug: DebugServer;
  private readonly debugQuery: DebugQuery | undefined;
  /** The record behind each row in the engine, for dead-lettering a row the engine rejects. */
  private readonly origins = new WeakMap<InputRow, { input: SqlInput; delivery: InboundDelivery }>();
  /** Per input partition, the tail of pending asynchronous decodes: rows enter the engine in record order. */
  private readonly chains = new Map<string, Promise<void>>();
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly seenPartitions = new Set<string>();
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
    const state = sqlStateBackend(config, process.cwd(), log);
    const created = SqlEngine.create({
      statements: sql.statements,
      tables: sql.tables,
      emit: (sink, rows) => this.emit(sink, rows),
      reject: (row, reason) => this.rejectRow(row, reason),
      ...settings,
      state,
      log,
      metrics: new SqlMetrics(this.metrics.registry),
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
    const exchange = sql.exchange;
    for (const entry of exchange?.inputs ?? []) {
      const source = this.inputs.find((i) => i.binding.stream === entry.stream);
      if (!source || !exchange) throw new Error(`sql.exchange: "${entry.stream}" is not an input`);
      this.attachExchange(source, entry, exchange.partitions, settings.idleTimeoutMs, state);
    }
    this.outputs = config.outputs.map((binding) => {
      const table = tableOf(binding);
      const output: SqlOutput = { binding, table, binder: createOutputBinder(binding, config, log), partitioner: RowPartitioner.of(binding.partitioning) };
      if (table.valueFormat !== 'json') {
        if (!binding.schemaRegistryUri) throw new Error(`output ${binding.stream}: value.format ${table.valueFormat} needs a schema registry (the Stream's dataSchemaContext.schemaRegistryUri)`);
        output.avro = new AvroRowEncoder(table, binding.schemaRegistryUri, binding.destination);
      }
      return output;
    });
    const deadLetter = config.deadLetter ?? defaultDeadLetter(config);
    this.deadLetter = { binding: deadLetter, binder: createOutputBinder(deadLetter, config, log, 'dead-letter') };
    // Exchange inputs carry the source records as they were: they decode with the source's registry.
    this.codecs = new PayloadCodecs({ ...config, inputs: this.inputs.map((i) => i.binding) }, {
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

  /** Re-keys `source` through the exchange: a forwarder for this replica's share of it, and an input of the exchange
   *  partitions this replica runs (p % replicas == index) whose rows go to the engine as the source table's. */
  private attachExchange(source: SqlInput, entry: SqlExchangeInput, partitions: number, idleTimeoutMs: number, state: StateBackend): void {
    const config = this.config;
    const out = createOutputBinder({ ...entry.binding, partitioning: { partitionCount: partitions } }, config, this.log);
    this.exchangeOutputs.push(out);
    source.forwarder = new ExchangeForwarder({ table: source.table, keyColumns: entry.keyColumns, partitions, instanceIndex: config.instanceIndex, out, idleTimeoutMs, orderedPartitions: source.binding.protocol === 'kafka', log: this.log });
    const binding: BindingConfig = sqlInputBinding({ ...entry.binding, partitioned: true, partitionCount: partitions });
    // A consumer group of its own: one group's members must all subscribe to the same topics (binders/factory.ts).
    const exchangeConfig: ProcessorConfig = { ...config, name: `${config.name}.exchange`, group: `${config.group}.exchange`, inputs: [binding] };
    const clock = new ExchangeClock({ forwarders: config.instanceCount, idleTimeoutMs });
    // Created before the engine opens its state: with ROCKSDB the done ids are restored with the operators' state, and
    // a restart of this replica still recognises second copies of rows it finished before.
    const doneSources = new DoneSources({ store: state.create<string, number>(`exchange.done.${source.table.stream}`) });
    this.inputs.push({
      binding,
      table: source.table,
      binder: createInputBinder(binding, exchangeConfig, this.log),
      exchange: { clock, copies: new PendingCopies(clock, doneSources) },
    });
    this.engine.useExternalWatermarks(source.table.stream);
    // Every exchange partition this replica runs holds the watermark back until its first marker: a partition whose
    // rows have not been fetched yet must not let the others' markers fire windows over them.
    for (let p = config.instanceIndex; p < partitions; p += config.instanceCount) this.engine.markPartition(source.table.stream, p);
  }

  /** Partitions assigned to an input hold its watermark back from the assignment on (not from their first row), as a
   *  Kafka source's splits do in Flink: else a partition fetched a little later would find its rows late. Kafka: what
   *  the group gave this member; RabbitMQ (partitioned input): the partition queues this instance consumes. */
  private announceAssignments(): void {
    for (const input of this.inputs) {
      if (input.exchange) continue;
      const detail = input.binder.status().detail;
      const assigned = input.binding.protocol === 'kafka' ? detail?.assignedPartitions : detail?.partitions;
      if (!Array.isArray(assigned)) continue;
      const partitions = assigned.filter((p): p is number => typeof p === 'number');
      // The forwarder takes the whole assignment (partitions moved away stop being reported), once the group gave one.
      if (input.forwarder) {
        if (input.binder.status().state === 'connected') input.forwarder.assignment(partitions);
        continue;
      }
      for (const partition of partitions) this.engine.markPartition(input.table.stream, partition);
    }
  }

  async listen(): Promise<{ host: string; port: number }> {
    const address = await this.debug.listen(this.config.http.port, this.config.http.host ?? '127.0.0.1');
    return { host: address.address, port: address.port };
  }

  async start(): Promise<void> {
    await Promise.all([...this.outputs.map((o) => o.binder.start()), ...this.exchangeOutputs.map((b) => b.start()), this.deadLetter.binder.start()]);
    // Durable state (ROCKSDB) is restored before the first row.
    await this.engine.openState();
    await Promise.all(this.inputs.map((input) => input.binder.start((delivery) => this.receive(input, delivery))));
    // Idle partitions and processing-time windows move with the wall clock, not with records; forwarders tell the
    // exchange where their watermark stands.
    this.tickTimer = setInterval(() => {
      this.announceAssignments();
      this.engine.tick();
      for (const input of this.inputs) input.forwarder?.tick();
    }, MARKER_INTERVAL_MS);
    this.tickTimer.unref();
    this.started = true;
    this.log.info({ inputs: this.inputs.length, outputs: this.outputs.length }, 'streaming SQL processor started');
  }

  private receive(input: SqlInput, delivery: InboundDelivery): void {
    // The first record of a partition: every partition assigned with it is announced before this row moves any
    // watermark (a sibling fetched a moment later must not find its rows late).
    const seenKey = `${input.binding.stream}\u0000${delivery.partition}`;
    if (!this.seenPartitions.has(seenKey)) {
      this.seenPartitions.add(seenKey);
      this.announceAssignments();
    }
    if (input.exchange && delivery.message.headers[EXCHANGE_HEADERS.watermark] !== undefined) {
      // Behind the rows before it that still wait for their schema: applied first, it could find them late.
      const ahead = this.chains.get(seenKey);
      if (ahead) void ahead.then(() => this.marker(input, delivery));
      else this.marker(input, delivery);
      return;
    }
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

  /** A forwarder's word on its source partitions, for one exchange partition (exchange.ts: ExchangeClock). */
  private marker(input: SqlInput, delivery: InboundDelivery): void {
    try {
      const watermark = input.exchange?.clock.marker(delivery.partition, parseMarker(delivery.message.headers));
      if (watermark !== undefined) this.engine.externalWatermark(input.table.stream, delivery.partition, watermark);
    } catch (err) {
      this.log.warn({ err: errorText(err), input: input.binding.stream, partition: delivery.partition }, 'exchange marker skipped');
    }
    delivery.ack();
  }

  /** A decoded record: forwarded through the exchange, or into the engine as a row (the dead-letter destination when
   *  it is not a row). */
  private admit(input: SqlInput, delivery: InboundDelivery, message: Message): void {
    if (input.forwarder) {
      try {
        input.forwarder.forward(delivery, message, delivery.offset, () => delivery.ack(), (err) => {
          // A copy the exchange can never take (too large for its topic, ...) would hold the source back forever.
          if (err instanceof UndeliverableError) {
            this.deadLetterRecord(input, delivery, err.stage, err.message);
            return;
          }
          // Not confirmed (the processor is stopping): left unacknowledged, the broker redelivers it.
          this.log.warn({ err: errorText(err), input: input.binding.stream }, 'exchange copy not confirmed; the record stays unacknowledged');
        });
      } catch (err) {
        this.deadLetterRecord(input, delivery, 'decode', errorText(err));
      }
      return;
    }
    let row: InputRow;
    let ack = delivery.ack;
    try {
      const exchanged = input.exchange ? Number(message.headers[EXCHANGE_HEADERS.timestamp]) : undefined;
      row = decodeRow(input.table, message, exchanged !== undefined && Number.isFinite(exchanged) ? exchanged : delivery.timestamp, Date.now());
    } catch (err) {
      this.deadLetterRecord(input, delivery, 'decode', errorText(err));
      return;
    }
    // The record's identity, by which durable state recognises a redelivery (an exchange copy: its source record's;
    // RabbitMQ: the messageId and the body's digest, when the publisher set a messageId).
    const origin = input.exchange ? message.headers[EXCHANGE_HEADERS.source] : sourceIdentity(delivery);
    if (origin !== undefined) row.origin = origin;
    if (input.exchange) {
      const copies = input.exchange.copies;
      const source = message.headers[EXCHANGE_HEADERS.source];
      if (!copies.admit(delivery.partition, source)) {
        delivery.ack();
        return;
      }
      const partition = delivery.partition;
      // Acknowledged once the source's id is recorded as done (on disk under ROCKSDB), so that a copy the exchange
      // will not redeliver is always recognised by a later second copy.
      ack = () => copies.done(partition, source, () => delivery.ack());
    }
    this.origins.set(row, { input, delivery: { ...delivery, ack } });
    this.engine.push(input.table.stream, delivery.partition, row, ack);
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

  /** The engine's result rows for one sink: encoded, produced to every output bound to that table, confirmed. Rows
   *  leave in the order the engine emitted them, across calls too: an emission is sent once the output's previous one
   *  is confirmed. Concurrent produce requests would be faster, but a request the broker refuses once (a leader
   *  moving, a topic's metadata still on its way) is retried after the ones behind it, and a downstream reader's
   *  watermark (`songplays` declares 1 s of disorder) would then find rows late — Flink's Kafka sink keeps order too. */
  private emit(sink: SqlTable, rows: EmittedRow[]): Promise<void> {
    const outputs = this.outputs.filter((o) => o.table.stream === sink.stream);
    if (outputs.length === 0) return Promise.reject(new Error(`no output is bound to table ${sink.name}`));
    return Promise.all(outputs.map((output) => {
      const avro = output.avro;
      // The row as its JSON object: the JSON payload and the partitioner's view (keys, keyExpression) are made of it.
      const objects = !avro || output.partitioner ? rows.map((row) => rowObject(output.table, row.values)) : undefined;
      const payloads = avro
        ? Promise.all(rows.map((row) => (row.kind === 'delete' && output.table.upsert ? Promise.resolve(Buffer.alloc(0)) : avro.encode(row.values))))
        : Promise.resolve(objects!.map((object) => Buffer.from(JSON.stringify(object))));
      const turn = (output.chain ?? Promise.resolve()).then(() => payloads).then((encoded) =>
        Promise.all(rows.map((row, i) => this.send(output, sink, row, objects?.[i], this.message(output, row, () => encoded[i])))));
      output.chain = turn.then(() => undefined, () => undefined);
      return turn;
    })).then(() => undefined);
  }

  private send(output: SqlOutput, sink: SqlTable, row: EmittedRow, object: Record<string, unknown> | undefined, unrouted: Message): Promise<void> {
    let message = unrouted;
    let partition: number | undefined;
    if (output.partitioner) {
      try {
        ({ message, partition } = output.partitioner.assign(object ?? rowObject(output.table, row.values), unrouted));
      } catch (err) {
        return this.deadLetterRow(output, unrouted, { message: `no partition for the row: ${errorText(err)}`, stage: 'partition', reason: 'partition-key' });
      }
    }
    this.tap.offer('out', output.binding.stream, message, partition);
    this.debugQuery?.offer(sink, row, this.tap);
    return output.binder.send(message, partition).then(
      () => { this.metrics.messagesOut.labels(output.binding.stream).inc(); },
      (err: unknown) => {
        if (!(err instanceof UndeliverableError)) throw err;
        return this.deadLetterRow(output, message, err);
      },
    );
  }

  /** A result row its output can never take (unroutable, too large, ...: the binder already retried it): the row
   *  goes to the dead-letter destination with the broker's answer, and once that is confirmed it counts as written,
   *  so the engine acknowledges the inputs behind it and the output's later emissions (chained behind this one) go
   *  on in order. Rejects only when the dead letter is not confirmed (stopping): the inputs are then redelivered. */
  private deadLetterRow(output: SqlOutput, row: Message, err: RowProblem): Promise<void> {
    const stream = output.binding.stream;
    this.deadLettered++;
    this.metrics.undeliverable.labels(stream, err.reason).inc();
    this.metrics.deadLettered.labels(stream, err.stage).inc();
    this.log.warn({ output: stream, err: err.message }, 'result row undeliverable: dead-lettered');
    const letter: Message = {
      payload: row.payload,
      headers: {
        ...row.headers,
        [Headers.exceptionMessage]: err.message,
        [Headers.exceptionStage]: err.stage,
        [Headers.originalDestination]: output.binding.destination,
      },
    };
    if (row.key) letter.key = row.key;
    this.tap.offer('dead-letter', stream, letter);
    return this.deadLetter.binder.send(letter);
  }

  /** A result row as a record: the value (`payload()`, or a tombstone for an upsert sink's delete), the key from
   *  `key.fields` / the primary key, the content type, and `sr-row-kind` for anything but an insert. */
  private message(output: SqlOutput, row: EmittedRow, payload: () => Buffer): Message {
    const key = rowKey(output.table, row.key ?? row.values);
    const headers: Record<string, string> = { [Headers.contentType]: output.avro ? 'avro/binary' : 'application/json' };
    let value: Buffer;
    if (row.kind === 'delete' && output.table.upsert) {
      value = Buffer.alloc(0);
      headers['sr-row-kind'] = 'delete';
    } else {
      value = payload();
      if (row.kind !== 'insert') headers['sr-row-kind'] = row.kind;
    }
    const message: Message = { payload: value, headers };
    if (key) message.key = key;
    if (row.kind === 'delete' && output.table.upsert) message.tombstone = true;
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
      const routes = [...this.outputs.map((o) => o.binder), ...this.exchangeOutputs, this.deadLetter.binder];
      await Promise.all(routes.map((b) => b.stop(Math.max(0, deadline - Date.now()))));
      await Promise.all(this.inputs.map((input) => input.binder.stop()));
      await this.engine.closeState();
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
      const problem = connectionProblem('input', input.binder.status());
      if (problem) reasons.push(problem);
    }
    const outputs = [...this.outputs.map((o) => o.binder), ...this.exchangeOutputs];
    for (const binder of outputs) {
      const problem = connectionProblem('output', binder.status());
      if (problem) reasons.push(problem);
    }
    // Rows the brokers refuse (unroutable, too large): the processor runs, but its data goes to dead letters.
    for (const binder of [...outputs, this.deadLetter.binder]) {
      const problem = binder.deliveryProblem?.();
      if (problem) reasons.push(`output ${binder.status().stream}: ${problem}`);
    }
    const stateProblem = this.engine.stateProblem();
    if (stateProblem) reasons.push(stateProblem);
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
        exchange: this.config.sql?.exchange
          ? {
              forwarders: this.inputs.filter((i) => i.forwarder).map((i) => i.forwarder!.describe()),
              inputs: this.inputs.filter((i) => i.exchange).map((i) => ({
                stream: i.binding.stream,
                partitions: i.exchange!.clock.describe(),
                pendingCopies: i.exchange!.copies.size,
                duplicatesDropped: i.exchange!.copies.duplicates,
                doneSources: i.exchange!.copies.doneSources.describe(),
              })),
            }
          : undefined,
      },
      schemaRegistries: this.codecs.active ? this.codecs.describe() : undefined,
      inputs: this.inputs.map((i) => status(i.binder)),
      outputs: this.outputs.map((o) => status(o.binder)),
      exchangeOutputs: this.exchangeOutputs.map(status),
      deadLetter: status(this.deadLetter.binder),
    };
  }
}
