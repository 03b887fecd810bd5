// Messages ↔ SQL rows. Reading: a record's value (JSON, or Avro already decoded to JSON by processor/codec) gives the
// payload columns by name; metadata columns come from the record (`timestamp`: see recordTimestamp) or its headers;
// `proctime` is the wall clock. Writing: rows become JSON objects (or Avro in the
// Confluent wire format, see avro-output.ts) with the sink's physical columns, keyed by `key.fields` / the primary key.
import type { SqlTable, TableColumn } from '../../crds/sql/table';
import { Headers, type Message } from '../message';

/** A row as the engine takes it (processor/sql/engine.ts `InputRow`). */
export interface DecodedRow {
  values: Record<string, unknown>;
  timestamp: number;
  headers: Record<string, string>;
}

export class RowDecodeError extends Error {}

/** The `timestamp` metadata column. Kafka: the record timestamp (every record has one). RabbitMQ keeps no time of its
 *  own, so it is what the publisher said: the AMQP `timestamp` property (binders/rabbitmq.ts, seconds or ms), else
 *  the `eventtime` header (the SRP's event time, ms), else the moment the processor read the message (`now`: rows of
 *  such a table are then in processing time, and a rowtime on them only orders what arrives). */
export function recordTimestamp(message: Message, brokerTimestamp: number | undefined, now: number): number {
  if (brokerTimestamp !== undefined && Number.isFinite(brokerTimestamp) && brokerTimestamp >= 0) return brokerTimestamp;
  const header = Number(message.headers[Headers.eventTime]);
  return Number.isFinite(header) && message.headers[Headers.eventTime] !== undefined ? header : now;
}

/** Reads one record as a row of `table`. Throws RowDecodeError when the value is not a JSON object. */
export function decodeRow(table: SqlTable, message: Message, brokerTimestamp: number | undefined, now: number): DecodedRow {
  let payload: unknown;
  try {
    payload = message.payload.length === 0 ? null : JSON.parse(message.payload.toString('utf8'));
  } catch (err) {
    throw new RowDecodeError(`the value of a record of table ${table.name} is neither JSON nor Avro in the Confluent wire format: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new RowDecodeError(`the value of a record of table ${table.name} must be a JSON object (got ${payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload})`);
  }
  const fields = payload as Record<string, unknown>;
  const timestamp = recordTimestamp(message, brokerTimestamp, now);
  const values: Record<string, unknown> = {};
  for (const column of table.columns) values[column.name] = columnValue(column, fields, message, timestamp, now);
  return { values, timestamp, headers: message.headers };
}

function columnValue(column: TableColumn, fields: Record<string, unknown>, message: Message, timestamp: number, now: number): unknown {
  switch (column.source) {
    case 'payload': {
      const value = fields[column.name];
      return value === undefined ? null : value;
    }
    case 'timestamp':
      return timestamp;
    case 'proctime':
      return now;
    default: {
      const header = message.headers[column.source.slice('header:'.length)];
      return header === undefined ? null : header;
    }
  }
}

/** Flink's JSON format writes TIMESTAMP(p) the SQL way: `yyyy-MM-dd HH:mm:ss[.fraction]`, UTC, the fraction
 *  without trailing zeros (none for a whole second). */
export function formatSqlTimestamp(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2024-01-02T03:04:05.670Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return fraction ? `${base}.${fraction}` : base;
}

/** DATE values are days since the epoch (processor/sql's value model). */
export function formatSqlDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** The JSON value of a column as Flink's JSON format writes it. */
export function jsonValue(column: TableColumn | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (!column) return value;
  switch (column.type.name) {
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return typeof value === 'number' ? formatSqlTimestamp(value) : value;
    case 'DATE':
      return typeof value === 'number' ? formatSqlDate(value) : value;
    default:
      return value;
  }
}

/** The physical (written) columns of a sink: virtual and proctime columns are never written. */
export function writtenColumns(table: SqlTable): TableColumn[] {
  return table.columns.filter((c) => !c.virtual && c.source !== 'proctime');
}

/** A row as a JSON object of the sink's written columns (in column order). */
export function rowObject(table: SqlTable, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of writtenColumns(table)) {
    if (column.source !== 'payload') continue;
    out[column.name] = jsonValue(column, values[column.name]);
  }
  return out;
}

/** The Kafka record key of a written row: the `key.fields` columns (else the primary key) as a JSON object, as
 *  Flink's `key.format: json` writes it; none when the table declares neither. */
export function rowKey(table: SqlTable, values: Record<string, unknown>): Buffer | undefined {
  const names = table.keyFields?.length ? table.keyFields : table.primaryKey;
  if (!names?.length) return undefined;
  const key: Record<string, unknown> = {};
  for (const name of names) key[name] = jsonValue(table.columns.find((c) => c.name === name), values[name]);
  return Buffer.from(JSON.stringify(key));
}
