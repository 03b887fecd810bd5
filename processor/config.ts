// The processor's configuration contract: everything one SRP instance needs, resolved by the controllers
// (or written by hand for debugging). The processor never reads the Kubernetes API; this is its only input.
// Documented in processor/README.md. The control plane may import this file (and only this file) from processor/.

import type { Protocol } from '../crds/types';
import type { SqlTable } from '../crds/sql/table';

/** How an instance finds its configuration: `sr processor --config FILE`, or this environment variable (JSON). */
export const PROCESSOR_CONFIG_ENV = 'SR_PROCESSOR_CONFIG';

export interface BrokerServer {
  /** Kafka: comma-separated bootstrap servers `host:port,...`. RabbitMQ: an AMQP URL `amqp://host:port[/vhost]`. */
  url: string;
  /** From the Secret named by the Stream's `binding`; never logged, never exposed on debug endpoints. */
  credentials?: { username: string; password: string };
}

export interface OutputPartitioning {
  /** Header names whose values form the partition key (Stream spec.keys). */
  keys?: string[];
  /** SpEL expression over the outbound message (Stream spec.keyExpression), e.g. `payload.team`. */
  keyExpression?: string;
  partitionCount: number;
}

export interface TimeAttributeConfig {
  /** Field (payload JSON path, without `$.`) that carries the event time. */
  field: string;
  /** Watermark expression from the Stream schema, e.g. "`score_time` - INTERVAL '2' SECOND". */
  watermark?: string;
}

export interface BindingConfig {
  /** The Stream's metadata.name (for logs, metrics and debug output). */
  stream: string;
  protocol: Protocol;
  /** Kafka topic or RabbitMQ exchange (the Stream's spec.name). */
  destination: string;
  server: BrokerServer;
  /** Outputs only: how messages are spread over partitions. Absent = unpartitioned. */
  partitioning?: OutputPartitioning;
  /** Inputs only: the input is partitioned, so this instance consumes only its own partitions. */
  partitioned?: boolean;
  /** Inputs only, partitioned: the Stream's partition count. RabbitMQ needs it to consume every partition p with
   *  p % instanceCount == instanceIndex (Kafka learns it from the topic). Absent: the instance's own index only. */
  partitionCount?: number;
  /** Inputs only: event-time attribute derived from the input Stream's dataSchemaContext. */
  timeAttribute?: TimeAttributeConfig;
  /** Content type of the data (e.g. application/json), from the Stream's schema context. */
  contentType?: string;
  /** Inputs only: the Confluent-compatible schema registry (http(s) URL) that decodes Avro payloads, from the
   *  Stream's `dataSchemaContext.schemaRegistryUri`. The attribute `srp.input.schemaRegistryUri` overrides it. */
  schemaRegistryUri?: string;
  /** Inputs only: messages in flight (unacknowledged) per input: RabbitMQ prefetch, Kafka in-flight bound.
   *  Default 500. */
  prefetch?: number;
  /** Outputs only, RabbitMQ: consumer groups whose queues are declared (and bound) before anything is published,
   *  like Spring Cloud Stream's `requiredGroups`, so nothing is lost while their consumers are not yet running. */
  requiredGroups?: string[];
}

export interface UdfConfig {
  /** host:port of the user-defined function's gRPC MessagingService. */
  address: string;
  /** Per-call deadline; default 5000. */
  timeoutMs?: number;
  /** Attempts before a message is dead-lettered; default 3. */
  maxAttempts?: number;
}

/** Streaming SQL (FSQL Processors): the statements and every table they name. With `sql` set the processor runs
 *  the statements instead of the SRP pipeline: `inputs` are the tables read, `outputs` the INSERT targets, matched to
 *  tables by `stream`. */
export interface SqlConfig {
  /** `spec.inlineQuery`, verbatim (`[[STREAM:<name>]]` placeholders included). */
  statements: string[];
  /** Every table the statements name, resolved from the Streams by the controllers. A table whose columns live in a
   *  schema registry (`columnsFromRegistry`) is completed by the processor at start. */
  tables: SqlTable[];
  /** With several replicas and keyed operators (GROUP BY, joins, Top-N): each input is re-keyed through an exchange
   *  destination so that all rows of a key meet on one replica (processor/sql-runtime/exchange.ts). */
  exchange?: SqlExchange;
}

export interface SqlExchange {
  /** Partitions of every exchange destination (at least the replica count). */
  partitions: number;
  inputs: SqlExchangeInput[];
}

export interface SqlExchangeInput {
  /** The input table's Stream (SqlTable.stream). */
  stream: string;
  /** The columns rows are routed by; empty: every row to one partition (the keyed operators share no column). */
  keyColumns: string[];
  /** The exchange destination: same protocol and server as the input, `partitions` partitions. */
  binding: BindingConfig;
}

export interface ProcessorConfig {
  /** Identity of the Processor resource (logs, metrics, headers). */
  name: string;
  namespace: string;
  /** Consumer group / queue group: the Processor's name, as in the original. */
  group: string;
  instanceIndex: number;
  instanceCount: number;
  /** Every input is consumed. */
  inputs: BindingConfig[];
  /** Every output is produced to. */
  outputs: BindingConfig[];
  /** Late events in SIDE_CHANNEL mode go here: a destination of their own. */
  lateOutput?: BindingConfig;
  /** Messages that fail (bad payload, UDF failure after retries) go here with the error in headers. */
  deadLetter?: BindingConfig;
  /** The Processor's `srp.*` attributes, verbatim (window, lateness, SpEL, headers, ...). */
  attributes: Record<string, string>;
  /** Absent, or `srp.skipUdf=true`: no UDF is called. */
  udf?: UdfConfig;
  /** The debug/metrics HTTP endpoint. Port 0 picks a free one (logged at start). */
  http: { host?: string; port: number };
  /** This replica's own directory for window state on disk (ROCKSDB); `sr processor --state-dir` overrides it.
   *  Default `.sr-state/<namespace>.<name>-<instanceIndex>` in the working directory. Never shared by replicas. */
  stateDir?: string;
  /** Present for streaming SQL (FSQL) processors. */
  sql?: SqlConfig;
}

/** Environment variable names carrying a Stream's binding credentials. In a cluster the controllers fill them from
 *  the Secret named by the Stream's `binding` (secretKeyRef), so credentials never sit in the ConfigMap. */
export function credentialEnvNames(streamName: string): { username: string; password: string } {
  const id = streamName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return { username: `SR_BINDING_${id}_USERNAME`, password: `SR_BINDING_${id}_PASSWORD` };
}

/** Fills `server.credentials` of every binding that has none from its `SR_BINDING_<STREAM>_*` variables. */
export function applyCredentialsFromEnv(config: ProcessorConfig, env: NodeJS.ProcessEnv): void {
  const bindings = [...config.inputs, ...config.outputs, config.lateOutput, config.deadLetter, ...(config.sql?.exchange?.inputs ?? []).map((e) => e.binding)];
  for (const binding of bindings) {
    if (!binding || binding.server.credentials) continue;
    const names = credentialEnvNames(binding.stream);
    const username = env[names.username];
    const password = env[names.password];
    if (username !== undefined && password !== undefined) binding.server.credentials = { username, password };
  }
}

/** Parses and checks a configuration document; throws an Error naming the first bad field. */
export function parseProcessorConfig(text: string): ProcessorConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`processor configuration is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const fail = (field: string, what: string): never => {
    throw new Error(`processor configuration: ${field} ${what}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(doc)) return fail('(root)', 'must be an object');
  const str = (obj: Record<string, unknown>, key: string, path: string, optional = false): void => {
    if (obj[key] === undefined && optional) return;
    if (typeof obj[key] !== 'string' || (obj[key] as string).length === 0) fail(`${path}${key}`, 'must be a non-empty string');
  };
  const int = (obj: Record<string, unknown>, key: string, path: string, min: number): void => {
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`${path}${key}`, `must be an integer >= ${min}`);
  };
  str(doc, 'name', '');
  str(doc, 'group', '');
  if (doc.namespace === undefined) doc.namespace = 'default';
  str(doc, 'namespace', '');
  int(doc, 'instanceIndex', '', 0);
  int(doc, 'instanceCount', '', 1);
  if ((doc.instanceIndex as number) >= (doc.instanceCount as number)) fail('instanceIndex', 'must be less than instanceCount');
  const binding = (v: unknown, path: string): void => {
    if (!isObject(v)) return fail(path, 'must be an object');
    str(v, 'stream', `${path}.`);
    str(v, 'destination', `${path}.`);
    if (v.protocol !== 'kafka' && v.protocol !== 'rabbitmq') fail(`${path}.protocol`, 'must be "kafka" or "rabbitmq"');
    if (!isObject(v.server)) return fail(`${path}.server`, 'must be an object');
    str(v.server, 'url', `${path}.server.`);
    str(v, 'schemaRegistryUri', `${path}.`, true);
    if (v.partitionCount !== undefined) int(v, 'partitionCount', `${path}.`, 1);
    if (v.partitioning !== undefined) {
      if (!isObject(v.partitioning)) return fail(`${path}.partitioning`, 'must be an object');
      int(v.partitioning, 'partitionCount', `${path}.partitioning.`, 1);
    }
  };
  for (const list of ['inputs', 'outputs'] as const) {
    const items = doc[list];
    if (!Array.isArray(items) || items.length === 0) fail(list, 'must be a non-empty array');
    (items as unknown[]).forEach((item, i) => binding(item, `${list}[${i}]`));
  }
  if (doc.lateOutput !== undefined) binding(doc.lateOutput, 'lateOutput');
  if (doc.deadLetter !== undefined) binding(doc.deadLetter, 'deadLetter');
  if (doc.attributes === undefined) doc.attributes = {};
  if (!isObject(doc.attributes) || Object.values(doc.attributes).some((v) => typeof v !== 'string')) {
    fail('attributes', 'must be an object of strings');
  }
  if (doc.udf !== undefined) {
    if (!isObject(doc.udf)) return fail('udf', 'must be an object');
    str(doc.udf, 'address', 'udf.');
  }
  str(doc, 'stateDir', '', true);
  if (doc.sql !== undefined) {
    if (!isObject(doc.sql)) return fail('sql', 'must be an object');
    const { statements, tables } = doc.sql;
    if (!Array.isArray(statements) || statements.length === 0 || statements.some((t) => typeof t !== 'string')) fail('sql.statements', 'must be a non-empty array of strings');
    if (!Array.isArray(tables) || tables.some((t) => !isObject(t) || typeof t.stream !== 'string' || typeof t.name !== 'string' || !Array.isArray(t.columns))) {
      fail('sql.tables', 'must be an array of tables ({name, stream, columns, ...})');
    }
    const exchange = doc.sql.exchange;
    if (exchange !== undefined) {
      if (!isObject(exchange)) return fail('sql.exchange', 'must be an object');
      int(exchange, 'partitions', 'sql.exchange.', 1);
      if (!Array.isArray(exchange.inputs)) return fail('sql.exchange.inputs', 'must be an array');
      exchange.inputs.forEach((entry: unknown, i: number) => {
        if (!isObject(entry)) return fail(`sql.exchange.inputs[${i}]`, 'must be an object');
        str(entry, 'stream', `sql.exchange.inputs[${i}].`);
        if (!Array.isArray(entry.keyColumns)) fail(`sql.exchange.inputs[${i}].keyColumns`, 'must be an array of column names');
        binding(entry.binding, `sql.exchange.inputs[${i}].binding`);
      });
    }
  }
  if (doc.http === undefined) doc.http = { port: 0 };
  if (!isObject(doc.http)) return fail('http', 'must be an object');
  int(doc.http, 'port', 'http.', 0);
  return doc as unknown as ProcessorConfig;
}
