// A Stream seen as a SQL table: the contract between the table builder (`tableFromStream`, here in crds/sql), the
// admission checks, the controllers (which put resolved tables into the processor's configuration) and the
// processor's planner. Plain JSON: it travels inside the processor configuration.
import type { SqlType } from './ast';

export type ValueFormat = 'json' | 'avro' | 'avro-confluent';

export interface TableColumn {
  name: string;
  type: SqlType;
  /** Where the value comes from. `payload`: the record's value field of the same name. `timestamp`: the Kafka record
   *  timestamp (`metadata.from: timestamp`); on RabbitMQ the AMQP `timestamp` property, else the `eventtime` header
   *  (processor/sql-runtime/README.md). `proctime`: the wall clock when the row is read. `header:<name>`: a message
   *  header (other `METADATA FROM` keys). */
  source: 'payload' | 'timestamp' | 'proctime' | `header:${string}`;
  /** Read, never written (`readonly: true` / `VIRTUAL`). */
  virtual?: boolean;
}

export interface TableWatermark {
  /** The rowtime column. */
  column: string;
  /** Out-of-orderness: watermark = max(column) − delayMs. */
  delayMs: number;
  /** As written, for EXPLAIN and diagnostics. */
  text: string;
}

export interface SqlTable {
  /** The name queries use: the schema's record name (`Clicks`, `SongPlays`), else the Stream's name with
   *  non-identifier characters as `_`. */
  name: string;
  /** The Stream's metadata.name (`[[STREAM:<stream>]]`). */
  stream: string;
  columns: TableColumn[];
  watermark?: TableWatermark;
  /** Upsert sinks: the key columns (`primaryKey`, or the DDL's PRIMARY KEY). */
  primaryKey?: string[];
  /** `ddl.key.fields` (`;`-separated in Flink): columns forming the Kafka record key of written rows. */
  keyFields?: string[];
  /** `ddl.value.format` (else `format`): how written rows are encoded; read rows are decided per record
   *  (Confluent-framed Avro or JSON). Default `json` here; the original defaulted to avro-confluent. */
  valueFormat: ValueFormat;
  /** `ddl.connector: upsert-kafka`: rows are upserts by primary key, deletes are tombstones. */
  upsert: boolean;
  /** `ddl.scan.startup.mode`: earliest-offset (default) | latest-offset | group-offsets. */
  startupMode: 'earliest-offset' | 'latest-offset' | 'group-offsets';
  /** Every `ddl.*` option, prefix removed, verbatim (for EXPLAIN). */
  options: Record<string, string>;
  /** Set when the columns are not known at admission (inline avro-confluent: read from the registry at run time). */
  columnsFromRegistry?: { url: string; subject?: string };
}
