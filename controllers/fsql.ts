// FSQL (the original's Flink sql-aggregator): turn a Processor's inline queries into the aggregator's
// application.yaml — one CREATE TABLE per `[[STREAM:<name>]]` placeholder, generated from the Stream's
// dataSchemaContext (schema fields, inline Avro, or inline SQL), then the queries with placeholders replaced by
// table names. Schema -> Flink DDL: metadata fields become `METADATA FROM`, primaryKey becomes
// `PRIMARY KEY (...) NOT ENFORCED`, time attributes / field watermarks become `WATERMARK FOR`, `ddl.*` options pass
// through to WITH. Kafka only, as the original.
import { stringify } from 'yaml';
import type { Processor, SchemaField, Stream } from '../crds/types';
import type { FsqlWorkload } from './runtime/types';
import type { ResolvedStream } from './workload';

const PLACEHOLDER = /\[\[STREAM:([^\]]+)\]\]/g;

/** Stream names referenced by `[[STREAM:<name>]]` placeholders, in order of first use. */
export function placeholderStreams(queries: string[]): string[] {
  const names: string[] = [];
  for (const q of queries) for (const m of q.matchAll(PLACEHOLDER)) if (!names.includes(m[1].trim())) names.push(m[1].trim());
  return names;
}

export function tableName(stream: Stream): string {
  return stream.spec.dataSchemaContext?.schema?.name ?? stream.spec.name.replace(/[^A-Za-z0-9_]/g, '_');
}

const TYPES: Record<string, string> = {
  string: 'STRING', int: 'INT', integer: 'INT', long: 'BIGINT', float: 'FLOAT', double: 'DOUBLE', boolean: 'BOOLEAN',
  bytes: 'BYTES', 'long_timestamp-millis': 'TIMESTAMP(3)', 'long_timestamp-micros': 'TIMESTAMP(6)',
  'int_date': 'DATE', 'int_time-millis': 'TIME(3)', 'timestamp-millis': 'TIMESTAMP(3)', 'proctime': 'AS PROCTIME()',
};

function flinkType(field: SchemaField): string {
  const key = field.logicalType ? `${field.type}_${field.logicalType}` : field.type;
  return TYPES[key] ?? TYPES[field.type] ?? field.type.toUpperCase();
}

interface Column { name: string; type: string; metadataFrom?: string; readonly?: boolean; watermark?: string }

function columnsOf(stream: Stream): Column[] {
  const ctx = stream.spec.dataSchemaContext ?? {};
  const fromFields = (fields: SchemaField[]): Column[] => fields.map((f) => ({
    name: f.name, type: flinkType(f),
    ...(f.metadata ? { metadataFrom: f.metadata.from, readonly: !!f.metadata.readonly } : {}),
    ...(f.watermark ? { watermark: f.watermark } : {}),
  }));
  let columns: Column[] = [];
  if (ctx.schema) columns = fromFields(ctx.schema.fields ?? []);
  else if (ctx.inline && ctx.inline.type !== 'sql') {
    try {
      const avro = JSON.parse(ctx.inline.schema) as { fields?: { name: string; type: unknown }[] };
      columns = (avro.fields ?? []).map((f) => ({ name: f.name, type: avroType(f.type) }));
    } catch { columns = []; }
  }
  columns.push(...fromFields(ctx.metadataFields ?? []));
  return columns;
}

function avroType(t: unknown): string {
  if (typeof t === 'string') return TYPES[t] ?? 'STRING';
  if (Array.isArray(t)) return avroType(t.find((x) => x !== 'null'));
  if (t && typeof t === 'object') {
    const o = t as { type?: unknown; logicalType?: string };
    if (o.logicalType && typeof o.type === 'string') return TYPES[`${o.type}_${o.logicalType}`] ?? avroType(o.type);
    return avroType(o.type);
  }
  return 'STRING';
}

export function createTableDdl(stream: Stream, group: string, kafkaServer: string, schemaRegistry?: string): string {
  const ctx = stream.spec.dataSchemaContext ?? {};
  const table = tableName(stream);
  if (ctx.inline?.type === 'sql') return ctx.inline.schema;
  const lines = columnsOf(stream).map((c) => {
    if (c.type === 'AS PROCTIME()') return `  \`${c.name}\` AS PROCTIME()`;
    const md = c.metadataFrom ? ` METADATA FROM '${c.metadataFrom}'${c.readonly ? ' VIRTUAL' : ''}` : '';
    return `  \`${c.name}\` ${c.type}${md}`;
  });
  const watermarks = [
    ...columnsOf(stream).filter((c) => c.watermark).map((c) => c.watermark!),
    ...(ctx.timeAttributes ?? []).map((t) => t.watermark ?? `\`${t.name}\``).filter(Boolean),
  ];
  const first = watermarks[0];
  if (first) {
    const field = /`([^`]+)`/.exec(first)?.[1] ?? first.split(/\s/)[0];
    lines.push(`  WATERMARK FOR \`${field}\` AS ${first}`);
  }
  if (ctx.primaryKey?.length) lines.push(`  PRIMARY KEY (${ctx.primaryKey.map((k) => `\`${k}\``).join(', ')}) NOT ENFORCED`);
  const options: Record<string, string> = {
    connector: ctx.primaryKey?.length ? 'upsert-kafka' : 'kafka',
    topic: stream.spec.name,
    'properties.bootstrap.servers': kafkaServer,
    'properties.group.id': group,
  };
  const avro = ctx.inline?.type === 'avro-confluent' || !!ctx.schemaRegistryUri || !!schemaRegistry;
  if (ctx.primaryKey?.length) {
    options['key.format'] = 'json';
    options['value.format'] = avro ? 'avro-confluent' : 'json';
  } else {
    options['value.format'] = avro ? 'avro-confluent' : 'json';
    options['scan.startup.mode'] = 'earliest-offset';
  }
  const registry = ctx.schemaRegistryUri ?? schemaRegistry;
  if (avro && registry) options['value.avro-confluent.url'] = registry;
  for (const [k, v] of Object.entries(ctx.options ?? {})) if (k.startsWith('ddl.')) options[k.slice(4)] = v;
  // Options the user set win; `value.format` json needs no registry.
  if (options['value.format'] === 'json') delete options['value.avro-confluent.url'];
  const withClause = Object.entries(options).map(([k, v]) => `  '${k}' = '${v.replace(/'/g, "''")}'`).join(',\n');
  return `CREATE TABLE ${table} (\n${lines.join(',\n')}\n) WITH (\n${withClause}\n)`;
}

export interface FsqlInput {
  processorName: string;
  queries: string[];
  streams: Map<string, Stream>;
  kafkaServer: string;
  schemaRegistry?: string;
  attributes: Record<string, string>;
}

export function fsqlApplicationYaml(input: FsqlInput): string {
  const executeSql: string[] = [];
  for (const name of placeholderStreams(input.queries)) {
    const stream = input.streams.get(name);
    if (stream) executeSql.push(createTableDdl(stream, input.processorName, input.kafkaServer, input.schemaRegistry));
  }
  for (const q of input.queries) {
    executeSql.push(q.replace(PLACEHOLDER, (_, n: string) => {
      const s = input.streams.get(n.trim());
      return s ? tableName(s) : n;
    }).replace(/\s+/g, ' ').trim());
  }
  const aggregation: Record<string, unknown> = {
    executeSql,
    continuousQuery: input.attributes.debugQuery ?? '',
    explainStatements: Number(input.attributes.debugExplain ?? '0') || 0,
    kafkaServer: input.kafkaServer,
    ...(input.schemaRegistry ? { schemaRegistry: input.schemaRegistry } : {}),
  };
  return stringify({ sql: { aggregation } });
}

/** The FSQL part of a workload from the Processor and its resolved Streams (placeholders and inputs/outputs). */
export function fsqlWorkload(processor: Processor, resolved: Map<string, ResolvedStream>): FsqlWorkload {
  const streams = new Map([...resolved].map(([n, r]) => [n, r.stream]));
  const kafka = [...resolved.values()].find((r) => r.stream.spec.protocol === 'kafka');
  const registry = [...resolved.values()].map((r) => r.stream.spec.dataSchemaContext?.schemaRegistryUri).find(Boolean);
  return {
    applicationYaml: fsqlApplicationYaml({
      processorName: processor.metadata.name ?? '', queries: processor.spec.inlineQuery ?? [], streams,
      kafkaServer: kafka?.endpoint.url ?? '', attributes: processor.spec.attributes ?? {},
      ...(registry ? { schemaRegistry: registry } : {}),
    }),
  };
}
