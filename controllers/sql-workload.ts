// FSQL Processors: streaming SQL run by our own processor. From the Processor's statements to what the reconciler
// needs: the Streams each statement reads (inputs) and writes (outputs), the tables built from those Streams (with
// columns of `avro-confluent` schemas fetched from their registry), the plan check with the real tables, and the
// `sql` section of every instance's configuration.
import type { Processor, Stream } from '../crds/types';
import { parseStatement } from '../crds/sql/parser';
import { statementStreams } from '../crds/sql/references';
import { tableFromAvroSchema, tableFromStream } from '../crds/sql/tables';
import { planStatement, type LogicalPlan } from '../crds/sql/plan';
import { sqlPartitioning } from '../crds/sql/partitioning';
import type { BindingConfig, SqlExchange, SqlExchangeInput } from '../processor/config';
import type { SqlDiagnostic, Statement } from '../crds/sql/ast';
import type { SqlTable } from '../crds/sql/table';
import type { ProcessorWorkload } from './runtime/types';

export interface SqlStreams {
  statements: Statement[];
  /** Streams read by some statement, in order of first use. */
  inputs: string[];
  /** Streams some statement inserts into. */
  outputs: string[];
  diagnostics: SqlDiagnostic[];
}

/** One line per problem, as `kubectl describe` shows it: statement number (1-based), line, column, message. */
export function describeDiagnostics(diagnostics: SqlDiagnostic[]): string {
  return diagnostics.map((d) => `statement ${d.statement + 1}, line ${d.line}, column ${d.column}: ${d.message}`).join('; ');
}

/** Parses every statement and names the Streams they read and write. */
export function sqlStreams(processor: Processor): SqlStreams {
  const result: SqlStreams = { statements: [], inputs: [], outputs: [], diagnostics: [] };
  (processor.spec.inlineQuery ?? []).forEach((text, index) => {
    const parsed = parseStatement(text, index);
    result.diagnostics.push(...parsed.diagnostics);
    if (!parsed.statement) return;
    result.statements.push(parsed.statement);
    const streams = statementStreams(parsed.statement);
    for (const name of streams.reads) if (!result.inputs.includes(name)) result.inputs.push(name);
    for (const name of streams.writes) if (!result.outputs.includes(name)) result.outputs.push(name);
  });
  return result;
}

/** Reads an Avro schema from a Confluent registry URL of the form `<registry>/subjects/<subject>/versions/<v>`
 *  (the inline `avro-confluent` schema of a Stream). */
export type RegistrySchemaFetcher = (url: string) => Promise<string>;

export const fetchRegistrySchema: RegistrySchemaFetcher = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' } });
  const body = await response.text();
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${body.slice(0, 200)}`);
  const parsed = JSON.parse(body) as { schema?: unknown };
  if (typeof parsed.schema !== 'string') throw new Error(`${url}: the answer has no "schema"`);
  return parsed.schema;
};

export class SqlTableError extends Error {
  constructor(message: string, readonly reason: 'InvalidQuery' | 'SchemaRegistryUnavailable') {
    super(message);
  }
}

/** The table of every Stream the statements name. `registryUrl` rewrites a schema URL before fetching it (in-cluster
 *  addresses served locally). Throws SqlTableError. */
export async function sqlTables(
  streams: Stream[],
  fetchSchema: RegistrySchemaFetcher = fetchRegistrySchema,
  registryUrl: (url: string) => string = (url) => url,
): Promise<SqlTable[]> {
  const tables: SqlTable[] = [];
  for (const stream of streams) {
    const built = tableFromStream(stream);
    if (!built.table) throw new SqlTableError(`Stream "${stream.metadata.name ?? ''}" cannot be read as a table: ${built.diagnostics.map((d) => d.message).join('; ')}`, 'InvalidQuery');
    let table = built.table;
    if (table.columnsFromRegistry) {
      let schema: string;
      try {
        schema = await fetchSchema(registryUrl(table.columnsFromRegistry.url));
      } catch (err) {
        throw new SqlTableError(`the schema of Stream "${stream.metadata.name ?? ''}" could not be read from ${table.columnsFromRegistry.url}: ${err instanceof Error ? err.message : String(err)}`, 'SchemaRegistryUnavailable');
      }
      const fromRegistry = tableFromAvroSchema(stream, schema);
      if (!fromRegistry.table) throw new SqlTableError(`the registry schema of Stream "${stream.metadata.name ?? ''}" cannot be read as a table: ${fromRegistry.diagnostics.map((d) => d.message).join('; ')}`, 'InvalidQuery');
      table = fromRegistry.table;
    }
    if (table.columns.length === 0) {
      throw new SqlTableError(`Stream "${stream.metadata.name ?? ''}" declares no columns: give it a spec.dataSchemaContext (schema fields, an inline avro / avro-confluent / sql schema, or metadataFields) to read or write it with SQL`, 'InvalidQuery');
    }
    tables.push(table);
  }
  return tables;
}

/** The statements planned against the real tables: the same check the API server makes at admission, now with the
 *  registry schemas too. */
export function checkPlan(processor: Processor, statements: Statement[], tables: SqlTable[]): { plans: LogicalPlan[]; diagnostics: SqlDiagnostic[] } {
  const texts = processor.spec.inlineQuery ?? [];
  const diagnostics: SqlDiagnostic[] = [];
  const plans: LogicalPlan[] = [];
  statements.forEach((statement, index) => {
    const planned = planStatement(statement, tables, index, texts[index] ?? '');
    diagnostics.push(...planned.diagnostics);
    if (planned.plan) plans.push(planned.plan);
  });
  return { plans, diagnostics };
}

/** Partitions of an exchange destination: room to scale to this many replicas without re-creating it (a Kafka topic
 *  cannot shrink, and the development Kafka cannot even grow one). */
export const EXCHANGE_MIN_PARTITIONS = 12;

/** The exchange of a Processor running keyed statements on several replicas: per input, the key columns and the
 *  destination beside the input (`<input destination>.<processor>.exchange`, same protocol and server). None with
 *  one replica, or when no operator keeps state. */
export function sqlExchange(processor: Processor, plans: LogicalPlan[], inputs: BindingConfig[], replicas: number): SqlExchange | undefined {
  if (replicas <= 1) return undefined;
  const routing = sqlPartitioning(plans);
  if (routing.stateless) return undefined;
  const partitions = Math.max(EXCHANGE_MIN_PARTITIONS, replicas);
  const group = processor.metadata.name ?? '';
  const entries: SqlExchangeInput[] = [];
  for (const input of inputs) {
    const route = routing.tables.get(input.stream);
    if (!route) continue;
    entries.push({
      stream: input.stream,
      keyColumns: route.kind === 'key' ? route.columns : [],
      binding: {
        stream: `${input.stream}.exchange`,
        protocol: input.protocol,
        destination: `${input.destination}.${group}.exchange`,
        server: input.server,
        ...(input.schemaRegistryUri ? { schemaRegistryUri: input.schemaRegistryUri } : {}),
        ...(input.contentType ? { contentType: input.contentType } : {}),
        // RabbitMQ: the exchange's partition queues exist before the first copy is published.
        requiredGroups: [`${group}.exchange`],
      },
    });
  }
  return entries.length ? { partitions, inputs: entries } : undefined;
}

/** Every instance runs the statements over the tables; outputs written as Avro need the registry too. */
export function attachSql(
  workload: ProcessorWorkload,
  processor: Processor,
  tables: SqlTable[],
  defaultRegistry?: string,
  registryUrl: (url: string) => string = (url) => url,
  plans: LogicalPlan[] = [],
): SqlExchange | undefined {
  let exchange: SqlExchange | undefined;
  for (const config of workload.configs) {
    config.sql = { statements: [...(processor.spec.inlineQuery ?? [])], tables };
    for (const binding of [...config.inputs, ...config.outputs]) {
      const table = tables.find((t) => t.stream === binding.stream);
      if (binding.schemaRegistryUri) binding.schemaRegistryUri = registryUrl(binding.schemaRegistryUri);
      else if (defaultRegistry) binding.schemaRegistryUri = defaultRegistry;
      if (table && table.valueFormat === 'json' && config.outputs.includes(binding)) delete binding.schemaRegistryUri;
    }
    exchange ??= sqlExchange(processor, plans, config.inputs, workload.replicas);
    if (exchange) config.sql.exchange = exchange;
  }
  // Replica i reads exchange partitions p % replicas == i: in a cluster, stable ordinals (a StatefulSet).
  if (exchange) workload.stateful = true;
  return exchange;
}
