// A Stream seen as a SQL table (table.ts), built the way the original generated its Flink DDL: columns from the
// schema fields, the inline Avro / SQL schema or (after the controllers fetch it) the registry's Avro schema, plus
// `metadataFields`; one watermark; the primary key; `ddl.*` options. Unlike the original's generator
// (controllers/fsql.ts) it never declares a watermark on a column that does not exist: a time attribute without a
// watermark is processing time, and one naming no column adds a proctime column of that name.
import { parse as parseYaml } from 'yaml';
import type { Stream, SchemaField } from '../types';
import { parseWatermarkExpression } from '../expressions/watermark';
import type { ColumnDefinition, CreateTableStatement, Expr, SqlDiagnostic, SqlType, SqlTypeName } from './ast';
import { parseStatement } from './parser';
import type { SqlTable, TableColumn, TableWatermark, ValueFormat } from './table';

/** A problem with a Stream as a table, at a Kubernetes field path (`spec.dataSchemaContext.schema.fields[4].type`);
 *  `offset` is the position inside that string value; `sql` the parser's diagnostic for an inline `sql` schema. */
export interface TableDiagnostic {
  severity: 'error' | 'warning';
  field: string;
  message: string;
  offset?: number;
  sql?: SqlDiagnostic;
}

export interface TableResult {
  /** Absent when any diagnostic is an error. */
  table?: SqlTable;
  diagnostics: TableDiagnostic[];
}

export interface TableFromStreamOptions {
  /** The Avro schema (JSON text or object) fetched from the registry for an inline `avro-confluent` Stream. */
  registrySchema?: string | object;
}

const CTX = 'spec.dataSchemaContext';
const VALUE_FORMATS: ValueFormat[] = ['json', 'avro', 'avro-confluent'];
const STARTUP_MODES: SqlTable['startupMode'][] = ['earliest-offset', 'latest-offset', 'group-offsets'];

/** Builds the table of a Stream; never throws on bad user input. */
export function tableFromStream(stream: Stream, opts: TableFromStreamOptions = {}): TableResult {
  return new TableBuilder(stream).build(opts.registrySchema);
}

/** The table of an inline `avro-confluent` Stream once its schema has been read from the registry. */
export function tableFromAvroSchema(stream: Stream, avroSchemaJson: string | object): TableResult {
  return new TableBuilder(stream).build(avroSchemaJson);
}

/** `metadata.name` (else `spec.name`) with every non-identifier character as `_`. */
export function defaultTableName(stream: Stream): string {
  const name = (stream.metadata?.name ?? stream.spec?.name ?? 'table').replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

interface ColumnBuild extends TableColumn {
  /** Where it was declared, for diagnostics. */
  field: string;
}

class TableBuilder {
  private readonly diagnostics: TableDiagnostic[] = [];
  private readonly columns: ColumnBuild[] = [];
  private name?: string;
  private watermark?: TableWatermark & { field: string };
  private ddlPrimaryKey?: string[];
  private ddlOptions: Record<string, string> = {};
  private columnsFromRegistry?: SqlTable['columnsFromRegistry'];

  constructor(private readonly stream: Stream) {}

  build(registrySchema?: string | object): TableResult {
    const ctx = this.stream.spec?.dataSchemaContext ?? {};
    if (ctx.schema) {
      this.name = typeof ctx.schema.name === 'string' && ctx.schema.name !== '' ? ctx.schema.name.split('.').pop() : undefined;
      (ctx.schema.fields ?? []).forEach((f, i) => this.schemaField(f, `${CTX}.schema.fields[${i}]`));
    } else if (registrySchema !== undefined) {
      this.avro(registrySchema, `${CTX}.inline.schema`);
    } else if (ctx.inline?.type === 'sql') {
      this.sql(ctx.inline.schema);
    } else if (ctx.inline?.type === 'avro-confluent' && /^https?:\/\//i.test(ctx.inline.schema.trim())) {
      const url = ctx.inline.schema.trim();
      const subject = /\/subjects\/([^/]+)/.exec(url)?.[1];
      this.columnsFromRegistry = { url, ...(subject ? { subject: decodeURIComponent(subject) } : {}) };
    } else if (ctx.inline) {
      this.avro(ctx.inline.schema, `${CTX}.inline.schema`);
    } else if (ctx.schemaless !== undefined) {
      this.error(`${CTX}.schemaless`, 'a schemaless Stream has no columns: declare dataSchemaContext.schema, or an inline avro or sql schema, to use it in SQL');
    }
    (ctx.metadataFields ?? []).forEach((f, i) => this.schemaField(f, `${CTX}.metadataFields[${i}]`));
    this.timeAttributes();
    const table = this.finish();
    return this.diagnostics.some((d) => d.severity === 'error') ? { diagnostics: this.diagnostics } : { table, diagnostics: this.diagnostics };
  }

  private error(field: string, message: string, offset?: number): void {
    this.diagnostics.push({ severity: 'error', field, message, ...(offset !== undefined ? { offset } : {}) });
  }

  private warning(field: string, message: string): void {
    this.diagnostics.push({ severity: 'warning', field, message });
  }

  private column(c: ColumnBuild): void {
    if (this.columns.some((x) => x.name === c.name)) {
      this.error(c.field, `duplicate column '${c.name}'`);
      return;
    }
    this.columns.push(c);
  }

  private hasColumn(name: string): boolean {
    return this.columns.some((c) => c.name === name);
  }

  // ---------------------------------------------------------------------------------------------- schema fields

  private schemaField(f: SchemaField, field: string): void {
    if (!f || typeof f.name !== 'string' || f.name === '') {
      this.error(`${field}.name`, 'a field needs a name');
      return;
    }
    const source = f.metadata ? metadataSource(f.metadata.from) : 'payload';
    if (f.type === 'proctime') {
      this.column({ name: f.name, type: proctimeType(), source: 'proctime', virtual: true, field });
    } else {
      const type = schemaFieldType(f);
      if (!type) {
        this.error(`${field}.type`, `unknown type '${f.type}${f.logicalType ? ` (${f.logicalType})` : ''}': use an Avro type ` +
          '(string, int, long, float, double, boolean, bytes, long_timestamp-millis, proctime) or a SQL type (BIGINT, TIMESTAMP(3), ...)');
        return;
      }
      this.column({ name: f.name, type, source, ...(f.metadata?.readonly ? { virtual: true } : {}), field });
    }
    if (f.watermark !== undefined) this.setWatermark(f.watermark, `${field}.watermark`, f.name);
  }

  // ---------------------------------------------------------------------------------------------- inline Avro

  private avro(schema: string | object, field: string): void {
    let parsed: unknown = schema;
    if (typeof schema === 'string') {
      try {
        // YAML is a superset of JSON: one parser reads both forms the samples use.
        parsed = parseYaml(schema);
      } catch (e) {
        this.error(field, `the Avro schema does not parse: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        return;
      }
    }
    if (!isObject(parsed) || parsed.type !== 'record' || !Array.isArray(parsed.fields)) {
      this.error(field, 'expected an Avro record schema ({type: record, name: ..., fields: [...]})');
      return;
    }
    if (typeof parsed.name === 'string' && parsed.name !== '') this.name = parsed.name.split('.').pop();
    parsed.fields.forEach((f: unknown, i: number) => {
      if (!isObject(f) || typeof f.name !== 'string') {
        this.error(field, `fields[${i}] needs a name`);
        return;
      }
      const type = avroType(f.type);
      if (typeof type === 'string') {
        this.error(field, `field '${f.name}': ${type}`);
        return;
      }
      this.column({ name: f.name, type, source: 'payload', field });
    });
  }

  // ---------------------------------------------------------------------------------------------- inline SQL

  private sql(text: string): void {
    const field = `${CTX}.inline.schema`;
    const { statement, diagnostics } = parseStatement(text);
    for (const d of diagnostics) this.diagnostics.push({ severity: 'error', field, message: d.message, offset: d.span.start, sql: d });
    if (!statement) return;
    if (statement.kind !== 'createTable') {
      this.error(field, 'an inline sql schema is one CREATE TABLE statement', statement.span.start);
      return;
    }
    this.name = statement.name.value;
    for (const c of statement.columns) this.sqlColumn(c, field);
    if (statement.watermark) this.sqlWatermark(statement, text, field);
    if (statement.primaryKey) this.ddlPrimaryKey = statement.primaryKey.map((k) => k.value);
    this.ddlOptions = { ...statement.options };
  }

  private sqlColumn(c: ColumnDefinition, field: string): void {
    const name = c.name.value;
    if (c.computed) {
      if (c.computed.kind === 'call' && c.computed.name === 'PROCTIME' && c.computed.args.length === 0) {
        this.column({ name, type: proctimeType(), source: 'proctime', virtual: true, field });
      } else {
        this.error(field, `computed column '${name}' is not supported; supported: ${name} AS PROCTIME()`, c.computed.span.start);
      }
      return;
    }
    if (!c.type) return;
    if (c.metadata) {
      this.column({ name, type: c.type, source: metadataSource(c.metadata.from), ...(c.metadata.virtual ? { virtual: true } : {}), field });
    } else this.column({ name, type: c.type, source: 'payload', field });
  }

  private sqlWatermark(statement: CreateTableStatement, text: string, field: string): void {
    const wm = statement.watermark!;
    const delay = watermarkDelay(wm.expression, wm.column.value);
    if (typeof delay === 'string') {
      this.error(field, delay, wm.expression.span.start);
      return;
    }
    const written = text.slice(wm.expression.span.start, wm.expression.span.end);
    this.setWatermarkParsed(wm.column.value, delay, written, field, wm.column.span.start);
  }

  // ---------------------------------------------------------------------------------------------- time

  private timeAttributes(): void {
    const attrs = this.stream.spec?.dataSchemaContext?.timeAttributes ?? [];
    attrs.forEach((a, i) => {
      const field = `${CTX}.timeAttributes[${i}]`;
      if (!a || typeof a.name !== 'string' || a.name === '') {
        this.error(`${field}.name`, 'a time attribute needs a name');
        return;
      }
      if (a.watermark !== undefined && a.watermark !== '') {
        this.setWatermark(a.watermark, `${field}.watermark`, a.name);
        return;
      }
      // No watermark: processing time. A column of that name must already be one; otherwise add it.
      const existing = this.columns.find((c) => c.name === a.name);
      if (!existing) {
        this.column({ name: a.name, type: proctimeType(), source: 'proctime', virtual: true, field });
      } else if (existing.source !== 'proctime') {
        this.error(`${field}.name`, `'${a.name}' is a column of the table, so it cannot be processing time: give it a watermark ` +
          `(e.g. \`${a.name}\` - INTERVAL '1' SECOND) to make it event time, or name a new column for processing time`);
      }
    });
  }

  private setWatermark(text: string, field: string, declaredOn: string): void {
    const parsed = parseWatermarkExpression(text);
    if (!parsed.ok) {
      this.error(field, parsed.error, parsed.offset);
      return;
    }
    const column = parsed.value.field;
    if (column !== declaredOn) {
      this.error(field, `the watermark of '${declaredOn}' is computed from '${column}': a watermark is declared on its own rowtime column`);
      return;
    }
    this.setWatermarkParsed(column, parsed.value.delayMs, text, field);
  }

  private setWatermarkParsed(column: string, delayMs: number, text: string, field: string, offset?: number): void {
    if (this.watermark) {
      if (this.watermark.column === column && this.watermark.delayMs === delayMs) return;
      this.error(field, `a table has one watermark: '${this.watermark.text}' is already declared (${this.watermark.field})`, offset);
      return;
    }
    if (delayMs < 0) {
      this.error(field, 'the watermark delay must not be negative', offset);
      return;
    }
    this.watermark = { column, delayMs, text, field };
  }

  // ---------------------------------------------------------------------------------------------- the table

  private finish(): SqlTable {
    const ctx = this.stream.spec?.dataSchemaContext ?? {};
    const options: Record<string, string> = { ...this.ddlOptions };
    for (const [k, v] of Object.entries(ctx.options ?? {})) if (k.startsWith('ddl.')) options[k.slice(4)] = String(v);
    const optionField = (key: string): string => (ctx.options && `ddl.${key}` in ctx.options ? `${CTX}.options[ddl.${key}]` : `${CTX}.inline.schema`);
    const known = !this.columnsFromRegistry;

    if (this.watermark && known) {
      const col = this.columns.find((c) => c.name === this.watermark!.column);
      if (!col) {
        this.error(this.watermark.field, `the watermark names '${this.watermark.column}', which is not a column of the table` +
          ` (columns: ${this.columns.map((c) => c.name).join(', ') || 'none'})`);
      } else if (col.type.name !== 'TIMESTAMP' && col.type.name !== 'TIMESTAMP_LTZ') {
        this.error(this.watermark.field, `the rowtime column '${col.name}' is ${typeText(col.type)}; a watermark needs a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column (e.g. type long_timestamp-millis)`);
      } else if (col.source === 'proctime') {
        this.error(this.watermark.field, `'${col.name}' is processing time; a watermark needs an event-time column`);
      }
    }

    const connector = options.connector ?? 'kafka';
    if (connector !== 'kafka' && connector !== 'upsert-kafka') {
      this.error(optionField('connector'), `connector '${connector}' is not supported; supported: kafka, upsert-kafka`);
    }
    const upsert = connector === 'upsert-kafka';
    const primaryKey = ctx.primaryKey && ctx.primaryKey.length > 0 ? [...ctx.primaryKey] : this.ddlPrimaryKey;
    if (upsert && !primaryKey) {
      this.error(optionField('connector'), 'an upsert-kafka table needs a primary key: set dataSchemaContext.primaryKey');
    }
    if (primaryKey && !upsert) {
      this.warning(`${CTX}.primaryKey`, "a primary key without 'ddl.connector: upsert-kafka' does not make the table an upsert table (rows are appended)");
    }
    const keyFields = options['key.fields']?.split(';').map((k) => k.trim()).filter((k) => k !== '');
    if (known) {
      for (const k of primaryKey ?? []) {
        if (!this.hasColumn(k)) this.warning(`${CTX}.primaryKey`, `primary key column '${k}' is not a column of the table`);
      }
      for (const k of keyFields ?? []) {
        if (!this.hasColumn(k)) this.warning(optionField('key.fields'), `key field '${k}' is not a column of the table`);
      }
    }

    const formatOption = options['value.format'] ?? options.format;
    let valueFormat: ValueFormat = ctx.inline?.type === 'avro-confluent' ? 'avro-confluent' : 'json';
    if (formatOption !== undefined) {
      if ((VALUE_FORMATS as string[]).includes(formatOption)) valueFormat = formatOption as ValueFormat;
      else this.error(optionField(options['value.format'] !== undefined ? 'value.format' : 'format'), `value format '${formatOption}' is not supported; supported: ${VALUE_FORMATS.join(', ')}`);
    }
    let startupMode: SqlTable['startupMode'] = 'earliest-offset';
    const mode = options['scan.startup.mode'];
    if (mode !== undefined) {
      if ((STARTUP_MODES as string[]).includes(mode)) startupMode = mode as SqlTable['startupMode'];
      else this.error(optionField('scan.startup.mode'), `scan.startup.mode '${mode}' is not supported; supported: ${STARTUP_MODES.join(', ')}`);
    }

    const watermark = this.watermark ? { column: this.watermark.column, delayMs: this.watermark.delayMs, text: this.watermark.text } : undefined;
    return {
      name: this.name ?? defaultTableName(this.stream),
      stream: this.stream.metadata?.name ?? this.stream.spec?.name ?? '',
      columns: this.columns.map(({ field: _field, ...c }) => c),
      ...(watermark ? { watermark } : {}),
      ...(primaryKey ? { primaryKey } : {}),
      ...(keyFields && keyFields.length > 0 ? { keyFields } : {}),
      valueFormat,
      upsert,
      startupMode,
      options,
      ...(this.columnsFromRegistry ? { columnsFromRegistry: this.columnsFromRegistry } : {}),
    };
  }
}

// ------------------------------------------------------------------------------------------------ types

function sqlType(name: SqlTypeName, nullable: boolean, params?: number[]): SqlType {
  return { name, ...(params ? { params } : {}), nullable };
}

/** PROCTIME() is TIMESTAMP_LTZ(3) NOT NULL in Flink. */
function proctimeType(): SqlType {
  return sqlType('TIMESTAMP_LTZ', false, [3]);
}

/** Avro primitive and logical types as Flink's Avro format maps them (`long` + `timestamp-millis` → TIMESTAMP(3)). */
const AVRO_TYPES: Record<string, [SqlTypeName, number[]?]> = {
  string: ['STRING'], int: ['INT'], integer: ['INT'], long: ['BIGINT'], float: ['FLOAT'], double: ['DOUBLE'],
  boolean: ['BOOLEAN'], bytes: ['BYTES'], fixed: ['BYTES'], enum: ['STRING'],
  'long_timestamp-millis': ['TIMESTAMP', [3]], 'long_timestamp-micros': ['TIMESTAMP', [6]],
  'long_local-timestamp-millis': ['TIMESTAMP', [3]], 'long_local-timestamp-micros': ['TIMESTAMP', [6]],
  'int_date': ['DATE'], 'int_time-millis': ['TIME', [3]], 'long_time-micros': ['TIME', [6]],
  'string_uuid': ['STRING'],
};

/** A schema field's type: `type` + `logicalType` (or the combined `long_timestamp-millis`), or a SQL type name. */
function schemaFieldType(f: SchemaField): SqlType | undefined {
  const nullable = f.optional === true;
  if (typeof f.type !== 'string') return undefined;
  const key = f.logicalType ? `${f.type}_${f.logicalType}` : f.type;
  const mapped = AVRO_TYPES[key] ?? AVRO_TYPES[key.toLowerCase()];
  if (mapped) return sqlType(mapped[0], nullable, mapped[1]);
  // A SQL type written directly (`type: TIMESTAMP(3)`, `BIGINT`): parse it as a one-column DDL.
  const r = parseStatement(`CREATE TABLE t (c ${f.type})`);
  if (r.statement?.kind === 'createTable' && r.statement.columns.length === 1 && r.statement.columns[0].type) {
    return { ...r.statement.columns[0].type, nullable: nullable && r.statement.columns[0].type.nullable };
  }
  return undefined;
}

/** An Avro field type as a SQL type, or the reason it has none. */
function avroType(t: unknown): SqlType | string {
  let nullable = false;
  if (Array.isArray(t)) {
    const others = t.filter((x) => x !== 'null');
    nullable = others.length < t.length;
    if (others.length !== 1) return `unions of several types (${JSON.stringify(t)}) are not supported; supported: [null, <type>]`;
    t = others[0];
  }
  if (typeof t === 'string') {
    const mapped = AVRO_TYPES[t];
    return mapped ? sqlType(mapped[0], nullable, mapped[1]) : `Avro type '${t}' is not supported (named types are not resolved)`;
  }
  if (isObject(t)) {
    const base = t.type;
    if (base === 'record' || base === 'array' || base === 'map') return `nested ${base} types are not supported; supported: primitive and logical types`;
    if (typeof base !== 'string') return 'expected a type name';
    if (t.logicalType === 'decimal') {
      const p = typeof t.precision === 'number' ? t.precision : 10;
      const s = typeof t.scale === 'number' ? t.scale : 0;
      return sqlType('DECIMAL', nullable, [p, s]);
    }
    const key = typeof t.logicalType === 'string' ? `${base}_${t.logicalType}` : base;
    const mapped = AVRO_TYPES[key] ?? AVRO_TYPES[base];
    return mapped ? sqlType(mapped[0], nullable, mapped[1]) : `Avro type '${base}' is not supported`;
  }
  return 'expected an Avro type';
}

function typeText(t: SqlType): string {
  return `${t.name}${t.params ? `(${t.params.join(', ')})` : ''}`;
}

function metadataSource(from: string | undefined): TableColumn['source'] {
  return !from || from === 'timestamp' ? 'timestamp' : `header:${from}`;
}

/** `c` or `c - INTERVAL 'n' UNIT` (the only watermark strategies we run): the delay, or why not. */
function watermarkDelay(e: Expr, column: string): number | string {
  const isColumn = (x: Expr): boolean => x.kind === 'column' && !x.qualifier && x.name.value === column;
  if (isColumn(e)) return 0;
  if (e.kind === 'binary' && e.op === '-' && isColumn(e.left) && e.right.kind === 'interval') return e.right.millis;
  return `watermark strategy not supported; supported: WATERMARK FOR ${column} AS ${column} [- INTERVAL 'n' UNIT]`;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
