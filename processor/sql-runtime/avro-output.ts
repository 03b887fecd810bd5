// Rows written as Avro in the Confluent wire format (`value.format: avro-confluent` / `avro`): the writer schema is
// derived from the sink's columns (record name = table name), registered once under `<topic>-value` (the Confluent
// TopicNameStrategy, what Flink's avro-confluent format does), then every row is encoded with that id.
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { SqlTable, TableColumn } from '../../crds/sql/table';
import { writtenColumns } from './row-codec';

type AvroType = string | { type: string; logicalType?: string; precision?: number; scale?: number };

function avroTypeOf(column: TableColumn): AvroType {
  switch (column.type.name) {
    case 'BOOLEAN': return 'boolean';
    case 'TINYINT': case 'SMALLINT': case 'INT': return 'int';
    case 'BIGINT': return 'long';
    case 'FLOAT': return 'float';
    case 'DOUBLE': case 'DECIMAL': return 'double';
    case 'DATE': return { type: 'int', logicalType: 'date' };
    case 'TIME': return { type: 'int', logicalType: 'time-millis' };
    case 'TIMESTAMP': case 'TIMESTAMP_LTZ': return { type: 'long', logicalType: 'timestamp-millis' };
    case 'BYTES': return 'bytes';
    default: return 'string';
  }
}

/** The Avro record schema of a sink's written columns; nullable columns are `["null", T]` with default null. */
export function avroSchemaOf(table: SqlTable): Record<string, unknown> {
  return {
    type: 'record',
    name: table.name.replace(/[^A-Za-z0-9_]/g, '_'),
    fields: writtenColumns(table).filter((c) => c.source === 'payload').map((c) => (c.type.nullable
      ? { name: c.name, type: ['null', avroTypeOf(c)], default: null }
      : { name: c.name, type: avroTypeOf(c) })),
  };
}

export class AvroRowEncoder {
  private readonly registry: SchemaRegistry;
  private id: Promise<number> | undefined;

  constructor(
    private readonly table: SqlTable,
    registryUrl: string,
    private readonly topic: string,
  ) {
    this.registry = new SchemaRegistry({ host: registryUrl.replace(/\/+$/, '') });
  }

  private schemaId(): Promise<number> {
    this.id ??= this.registry
      .register({ type: SchemaType.AVRO, schema: JSON.stringify(avroSchemaOf(this.table)) }, { subject: `${this.topic}-value` })
      .then((r) => r.id);
    // A failed registration is tried again with the next row rather than cached.
    this.id.catch(() => { this.id = undefined; });
    return this.id;
  }

  /** Avro values: TIMESTAMP as epoch ms (a `long` timestamp-millis), everything else as the engine gives it. */
  async encode(values: Record<string, unknown>): Promise<Buffer> {
    const record: Record<string, unknown> = {};
    for (const column of writtenColumns(this.table)) {
      if (column.source !== 'payload') continue;
      const value = values[column.name];
      record[column.name] = value === undefined ? null : value;
    }
    return this.registry.encode(await this.schemaId(), record);
  }
}

