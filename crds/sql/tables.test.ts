import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSchemaContext, Stream } from '../types';
import type { SqlTable } from './table';
import { defaultTableName, tableFromAvroSchema, tableFromStream, type TableResult } from './tables';
import { loadFsqlSamples } from './corpus.fixture';

function stream(name: string, ctx: DataSchemaContext): Stream {
  return {
    apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Stream', metadata: { name },
    spec: { name, protocol: 'kafka', dataSchemaContext: ctx },
  };
}

/** `name:TYPE(params)[!]` plus `@source` unless payload and `~virtual`. */
function columns(t: SqlTable): string[] {
  return t.columns.map((c) => `${c.name}:${c.type.name}${c.type.params ? `(${c.type.params.join(',')})` : ''}${c.type.nullable ? '' : '!'}` +
    `${c.source === 'payload' ? '' : `@${c.source}`}${c.virtual ? '~virtual' : ''}`);
}

interface Summary {
  name: string;
  columns: string[];
  watermark?: string;
  primaryKey?: string[];
  keyFields?: string[];
  valueFormat: string;
  upsert: boolean;
  startupMode: string;
  registry?: string;
}

function summary(t: SqlTable): Summary {
  return {
    name: t.name, columns: columns(t),
    ...(t.watermark ? { watermark: `${t.watermark.column}-${t.watermark.delayMs}` } : {}),
    ...(t.primaryKey ? { primaryKey: t.primaryKey } : {}),
    ...(t.keyFields ? { keyFields: t.keyFields } : {}),
    valueFormat: t.valueFormat, upsert: t.upsert, startupMode: t.startupMode,
    ...(t.columnsFromRegistry ? { registry: t.columnsFromRegistry.subject } : {}),
  };
}

function tableOk(r: TableResult): SqlTable {
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.ok(r.table);
  return r.table;
}

function errorOf(r: TableResult, message: string, field?: string): void {
  assert.equal(r.table, undefined, 'a table was built despite the error');
  const e = r.diagnostics.find((d) => d.severity === 'error' && d.message.includes(message));
  assert.ok(e, `no error containing "${message}" in ${JSON.stringify(r.diagnostics)}`);
  if (field) assert.equal(e.field, field);
}

const EARLIEST = { valueFormat: 'json', upsert: false, startupMode: 'earliest-offset' };
const CARD: Summary = {
  name: 'AuthorizationAttempts', ...EARLIEST,
  columns: ['card_number:STRING!', 'card_type:STRING!', 'card_expiry:STRING!', 'name:STRING!', 'event_time:TIMESTAMP(3)!@timestamp~virtual'],
  watermark: 'event_time-3000',
};
const WINDOW_COLUMNS = ['window_start:TIMESTAMP(3)!', 'window_end:TIMESTAMP(3)!'];
const FRAUD: Summary = {
  name: 'PossibleFraud', ...EARLIEST, keyFields: ['card_number'],
  columns: [...WINDOW_COLUMNS, 'card_number:STRING!', 'authorization_attempts:BIGINT!'],
};
const SONGS: Summary = {
  name: 'Songs', ...EARLIEST,
  columns: ['song_id:BIGINT!', 'name:STRING!', 'album:STRING', 'artist:STRING', 'genre:STRING!', 'proctime:TIMESTAMP_LTZ(3)!@proctime~virtual'],
};
const PLAY_EVENTS: Summary = {
  name: 'PlayEvents', ...EARLIEST, watermark: 'event_time-30000',
  columns: ['song_id:BIGINT!', 'duration:BIGINT', 'event_time:TIMESTAMP(3)!@timestamp~virtual'],
};
const SONG_PLAYS: Summary = {
  name: 'SongPlays', ...EARLIEST, watermark: 'event_time-1000', keyFields: ['song_id'],
  columns: ['song_id:BIGINT!', 'album:STRING', 'artist:STRING', 'name:STRING', 'genre:STRING!', 'duration:BIGINT', 'event_time:TIMESTAMP(3)!'],
};
const TOP_K: Summary = {
  name: 'TopKSongsPerGenre', valueFormat: 'json', upsert: true, startupMode: 'earliest-offset',
  primaryKey: ['window_start', 'window_end', 'song_id', 'genre'],
  columns: [...WINDOW_COLUMNS, 'song_id:BIGINT!', 'name:STRING!', 'genre:STRING!', 'song_play_count:BIGINT'],
};

/** Expected tables by Stream name; `file#stream` where one file differs. */
const EXPECTED: Record<string, Summary> = {
  'card-authorizations-stream': CARD,
  'possible-fraud-stream': FRAUD,
  'user-stream': { name: 'Users', ...EARLIEST, columns: ['user_id:STRING!', 'name:STRING!', 'level:STRING!', 'proctime:TIMESTAMP_LTZ(3)!@proctime~virtual'] },
  'click-stream': {
    name: 'Clicks', ...EARLIEST, watermark: 'event_time-30000',
    columns: ['user_id:STRING!', 'page:INT!', 'action:STRING!', 'device:STRING!', 'agent:STRING!', 'event_time:TIMESTAMP(3)!@timestamp~virtual'],
  },
  'vip-action-stream': {
    name: 'VipActions', ...EARLIEST, watermark: 'event_time-1000', keyFields: ['user_id'],
    columns: ['user_id:STRING!', 'name:STRING!', 'page:INT!', 'action:STRING!', 'event_time:TIMESTAMP(3)!'],
  },
  'iot-monitoring-stream': {
    name: 'MonitoringStream', ...EARLIEST, watermark: 'ts-3000',
    columns: ['error_code:STRING!', 'type:STRING!', 'application:STRING!', 'version:STRING!', 'description:STRING!', 'ts:TIMESTAMP(3)!'],
  },
  'error-count-stream': {
    name: 'ErrorCount', ...EARLIEST, keyFields: ['error_code'],
    columns: [...WINDOW_COLUMNS, 'error_code:STRING!', 'error_count:BIGINT!'],
  },
  'songs-stream': SONGS,
  'kafka-stream-songs': SONGS,
  'playevents-stream': PLAY_EVENTS,
  'kafka-stream-playevents': PLAY_EVENTS,
  'songplays-stream': SONG_PLAYS,
  'kafka-stream-songplays': SONG_PLAYS,
  'topk-songs-per-genre-stream': TOP_K,
  'kafka-stream-topk-songs-per-genre': TOP_K,
  // Columns come from the registry at run time; the metadata column, proctime and watermark are known now.
  'top-k-songs__streaming-pipeline-inline-avro-confluent-schema.yaml#kafka-stream-songs': {
    name: 'kafka_stream_songs', valueFormat: 'avro-confluent', upsert: false, startupMode: 'earliest-offset',
    columns: ['proctime:TIMESTAMP_LTZ(3)!@proctime~virtual'], registry: 'songs-value',
  },
  'top-k-songs__streaming-pipeline-inline-avro-confluent-schema.yaml#kafka-stream-playevents': {
    name: 'kafka_stream_playevents', valueFormat: 'avro-confluent', upsert: false, startupMode: 'earliest-offset',
    columns: ['event_time:TIMESTAMP(3)!@timestamp~virtual'], watermark: 'event_time-30000', registry: 'playevents-value',
  },
};

describe('tableFromStream: the original samples', () => {
  const samples = loadFsqlSamples();

  it('every Kafka Stream of every FSQL sample becomes the expected table, without diagnostics', () => {
    assert.ok(samples.streams.length >= 25, `found only ${samples.streams.length} streams`);
    for (const { file, stream: s } of samples.streams) {
      const name = s.metadata.name ?? '';
      const expected = EXPECTED[`${file}#${name}`] ?? EXPECTED[name];
      assert.ok(expected, `no expectation for ${file} ${name}`);
      const r = tableFromStream(s);
      assert.deepEqual(r.diagnostics, [], `${file} ${name}`);
      assert.ok(r.table);
      assert.deepEqual(summary(r.table), expected, `${file} ${name}`);
      assert.equal(r.table.stream, name);
    }
  });

  it('ddl.* options pass through without the prefix; watermarks keep their text', () => {
    const fraud = samples.streams.find((s) => s.file === 'anomaly-detection__streaming-pipeline.yaml' && s.stream.metadata.name === 'possible-fraud-stream');
    assert.ok(fraud);
    assert.deepEqual(tableOk(tableFromStream(fraud.stream)).options, {
      'key.fields': 'card_number', 'value.format': 'json', 'properties.allow.auto.create.topics': 'true', 'scan.startup.mode': 'earliest-offset',
    });
    const card = samples.streams.find((s) => s.stream.metadata.name === 'card-authorizations-stream');
    assert.ok(card);
    assert.deepEqual(tableOk(tableFromStream(card.stream)).watermark, { column: 'event_time', delayMs: 3000, text: "`event_time` - INTERVAL '3' SECONDS" });
  });

  it('avro-confluent: tableFromAvroSchema fills in the registry columns and record name', () => {
    const songs = samples.streams.find((s) => s.file.includes('avro-confluent') && s.stream.metadata.name === 'kafka-stream-songs');
    const plays = samples.streams.find((s) => s.file.includes('avro-confluent') && s.stream.metadata.name === 'kafka-stream-playevents');
    assert.ok(songs && plays);
    assert.deepEqual(tableOk(tableFromStream(songs.stream)).columnsFromRegistry, {
      url: 'http://s-registry.streaming-runtime.svc.cluster.local:8081/subjects/songs-value/versions/latest', subject: 'songs-value',
    });
    const registrySongs = JSON.stringify({
      type: 'record', name: 'Songs', namespace: 'net.tzolov.poc.playsongs.avro',
      fields: [{ name: 'song_id', type: 'long' }, { name: 'name', type: 'string' }, { name: 'album', type: ['null', 'string'] },
        { name: 'artist', type: ['null', 'string'] }, { name: 'genre', type: 'string' }],
    });
    const t = tableOk(tableFromAvroSchema(songs.stream, registrySongs));
    assert.deepEqual(summary(t), { ...SONGS, valueFormat: 'avro-confluent' });
    assert.equal(t.columnsFromRegistry, undefined);
    const p = tableOk(tableFromStream(plays.stream, {
      registrySchema: { type: 'record', name: 'net.tzolov.poc.playsongs.avro.PlayEvents', fields: [{ name: 'song_id', type: 'long' }, { name: 'duration', type: ['null', 'long'] }] },
    }));
    assert.deepEqual(summary(p), { ...PLAY_EVENTS, valueFormat: 'avro-confluent' });
  });
});

describe('tableFromStream: rules', () => {
  it('names: schema name, Avro record name, CREATE TABLE name, else metadata.name with non-identifier characters as _', () => {
    assert.equal(tableOk(tableFromStream(stream('s', { schema: { name: 'Clicks', namespace: 'x', fields: [{ name: 'a', type: 'string' }] } }))).name, 'Clicks');
    assert.equal(tableOk(tableFromStream(stream('s', { inline: { type: 'avro', schema: '{"type":"record","name":"a.b.Rec","fields":[]}' } }))).name, 'Rec');
    assert.equal(tableOk(tableFromStream(stream('s', { schema: { name: 'com.example.Clicks', namespace: 'x', fields: [] } }))).name, 'Clicks');
    assert.equal(tableOk(tableFromStream(stream('s', { inline: { type: 'sql', schema: 'CREATE TABLE `My Table` (a INT)' } }))).name, 'My Table');
    assert.equal(tableOk(tableFromStream(stream('my-stream.v2', { metadataFields: [{ name: 'a', type: 'int' }] }))).name, 'my_stream_v2');
    assert.equal(defaultTableName(stream('9lives', {})), '_9lives');
  });

  it('schema field types: Avro names, logical types (combined or separate), SQL type names; optional means nullable', () => {
    const t = tableOk(tableFromStream(stream('s', {
      schema: {
        name: 'T', namespace: 'x', fields: [
          { name: 'a', type: 'string' }, { name: 'b', type: 'int', optional: true }, { name: 'c', type: 'long' },
          { name: 'd', type: 'double' }, { name: 'e', type: 'float' }, { name: 'f', type: 'boolean' }, { name: 'g', type: 'bytes' },
          { name: 'h', type: 'long_timestamp-millis' }, { name: 'i', type: 'long', logicalType: 'timestamp-millis' },
          { name: 'j', type: 'long', logicalType: 'timestamp-micros' }, { name: 'k', type: 'int', logicalType: 'date' },
          { name: 'l', type: 'TIMESTAMP_LTZ(3)' }, { name: 'm', type: 'DECIMAL(10, 2)', optional: true }, { name: 'n', type: 'proctime' },
        ],
      },
    })));
    assert.deepEqual(columns(t), [
      'a:STRING!', 'b:INT', 'c:BIGINT!', 'd:DOUBLE!', 'e:FLOAT!', 'f:BOOLEAN!', 'g:BYTES!', 'h:TIMESTAMP(3)!', 'i:TIMESTAMP(3)!',
      'j:TIMESTAMP(6)!', 'k:DATE!', 'l:TIMESTAMP_LTZ(3)!', 'm:DECIMAL(10,2)', 'n:TIMESTAMP_LTZ(3)!@proctime~virtual',
    ]);
    errorOf(tableFromStream(stream('s', { schema: { name: 'T', namespace: 'x', fields: [{ name: 'a', type: 'uuidish' }] } })),
      "unknown type 'uuidish'", 'spec.dataSchemaContext.schema.fields[0].type');
  });

  it('metadata fields: timestamp, other keys as headers, readonly as virtual', () => {
    const t = tableOk(tableFromStream(stream('s', {
      schema: { name: 'T', namespace: 'x', fields: [{ name: 'a', type: 'string' }] },
      metadataFields: [
        { name: 'ts', type: 'long_timestamp-millis', metadata: { from: 'timestamp', readonly: true } },
        { name: 'trace', type: 'string', metadata: { from: 'trace-id' } },
      ],
    })));
    assert.deepEqual(columns(t), ['a:STRING!', 'ts:TIMESTAMP(3)!@timestamp~virtual', 'trace:STRING!@header:trace-id']);
  });

  it('inline Avro in YAML and JSON: unions with null are nullable, logical types map, nested types are refused', () => {
    const yamlSchema = 'type: record\nname: R\nfields:\n- name: a\n  type: string\n- name: b\n  type: [ "null", "long" ]\n' +
      '- name: c\n  type: { type: long, logicalType: timestamp-millis }\n- name: d\n  type: { type: bytes, logicalType: decimal, precision: 9, scale: 3 }\n' +
      '- name: e\n  type: { type: enum, name: E, symbols: [X, Y] }';
    assert.deepEqual(columns(tableOk(tableFromStream(stream('s', { inline: { type: 'avro', schema: yamlSchema } })))),
      ['a:STRING!', 'b:BIGINT', 'c:TIMESTAMP(3)!', 'd:DECIMAL(9,3)!', 'e:STRING!']);
    errorOf(tableFromStream(stream('s', { inline: { type: 'avro', schema: '{"type":"record","name":"R","fields":[{"name":"n","type":{"type":"record","name":"X","fields":[]}}]}' } })),
      "field 'n': nested record types are not supported");
    errorOf(tableFromStream(stream('s', { inline: { type: 'avro', schema: '{"type":"record","name":"R","fields":[{"name":"u","type":["null","int","string"]}]}' } })),
      'unions of several types');
    errorOf(tableFromStream(stream('s', { inline: { type: 'avro', schema: '{"type": "record", ' } })), 'the Avro schema does not parse', 'spec.dataSchemaContext.inline.schema');
    errorOf(tableFromStream(stream('s', { inline: { type: 'avro', schema: '"string"' } })), 'expected an Avro record schema');
  });

  it('inline SQL: metadata, PROCTIME(), DDL watermark, DDL primary key and WITH options (ddl.* wins)', () => {
    const text = "CREATE TABLE Orders (\n  id BIGINT NOT NULL,\n  amount DECIMAL(10, 2),\n  ts TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL,\n" +
      "  src STRING METADATA FROM 'source',\n  pt AS PROCTIME(),\n  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND,\n  PRIMARY KEY (id) NOT ENFORCED\n" +
      ") WITH ('connector' = 'upsert-kafka', 'value.format' = 'avro', 'key.format' = 'json')";
    const t = tableOk(tableFromStream(stream('orders', { inline: { type: 'sql', schema: text }, options: { 'ddl.value.format': 'json' } })));
    assert.deepEqual(summary(t), {
      name: 'Orders', columns: ['id:BIGINT!', 'amount:DECIMAL(10,2)', 'ts:TIMESTAMP(3)@timestamp~virtual', 'src:STRING@header:source', 'pt:TIMESTAMP_LTZ(3)!@proctime~virtual'],
      watermark: 'ts-2000', primaryKey: ['id'], valueFormat: 'json', upsert: true, startupMode: 'earliest-offset',
    });
    assert.equal(t.watermark?.text, "ts - INTERVAL '2' SECOND");
    assert.deepEqual(t.options, { connector: 'upsert-kafka', 'value.format': 'json', 'key.format': 'json' });
  });

  it('inline SQL errors carry the parser diagnostic and its offset', () => {
    const text = 'CREATE TABLE T (\n  a INT,\n  b WIBBLE\n)';
    const r = tableFromStream(stream('s', { inline: { type: 'sql', schema: text } }));
    errorOf(r, "unknown type 'WIBBLE'", 'spec.dataSchemaContext.inline.schema');
    const d = r.diagnostics[0];
    assert.equal(d.offset, text.indexOf('WIBBLE'));
    assert.deepEqual([d.sql?.line, d.sql?.column], [3, 5]);
    errorOf(tableFromStream(stream('s', { inline: { type: 'sql', schema: 'SELECT a FROM T' } })), 'an inline sql schema is one CREATE TABLE statement');
    errorOf(tableFromStream(stream('s', { inline: { type: 'sql', schema: 'CREATE TABLE T (a INT, b AS a + 1)' } })), "computed column 'b' is not supported; supported: b AS PROCTIME()");
    errorOf(tableFromStream(stream('s', { inline: { type: 'sql', schema: "CREATE TABLE T (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND * 2)" } })),
      'watermark strategy not supported');
  });

  it('time attributes: watermark makes event time; none makes processing time, adding the column when missing', () => {
    const base: DataSchemaContext = { schema: { name: 'T', namespace: 'x', fields: [{ name: 'a', type: 'string' }, { name: 'ts', type: 'long_timestamp-millis' }] } };
    const rowtime = tableOk(tableFromStream(stream('s', { ...base, timeAttributes: [{ name: 'ts', watermark: "`ts` - INTERVAL '500' MILLISECONDS" }] })));
    assert.deepEqual(rowtime.watermark, { column: 'ts', delayMs: 500, text: "`ts` - INTERVAL '500' MILLISECONDS" });
    const bare = tableOk(tableFromStream(stream('s', { ...base, timeAttributes: [{ name: 'ts', watermark: 'ts' }] })));
    assert.equal(bare.watermark?.delayMs, 0);
    const proc = tableOk(tableFromStream(stream('s', { ...base, timeAttributes: [{ name: 'proc' }] })));
    assert.deepEqual(columns(proc).at(-1), 'proc:TIMESTAMP_LTZ(3)!@proctime~virtual');
    assert.equal(proc.watermark, undefined);
    // The original generated WATERMARK FOR on such names; an existing event column without a watermark is refused.
    errorOf(tableFromStream(stream('s', { ...base, timeAttributes: [{ name: 'ts' }] })), "'ts' is a column of the table, so it cannot be processing time",
      'spec.dataSchemaContext.timeAttributes[0].name');
    // The same field declared as proctime and as a time attribute is one column.
    const twice = tableOk(tableFromStream(stream('s', { schema: { name: 'T', namespace: 'x', fields: [{ name: 'p', type: 'proctime' }] }, timeAttributes: [{ name: 'p' }] })));
    assert.deepEqual(columns(twice), ['p:TIMESTAMP_LTZ(3)!@proctime~virtual']);
  });

  it('watermark errors: missing column, non-timestamp column, proctime column, two watermarks, bad text, other field', () => {
    const fields = [{ name: 'n', type: 'long' }, { name: 'ts', type: 'long_timestamp-millis', watermark: "`ts` - INTERVAL '1' SECOND" }];
    const ctx = (extra: Partial<DataSchemaContext>): DataSchemaContext => ({ schema: { name: 'T', namespace: 'x', fields: [{ name: 'n', type: 'long' }] }, ...extra });
    errorOf(tableFromStream(stream('s', ctx({ timeAttributes: [{ name: 'missing', watermark: "`missing` - INTERVAL '1' SECOND" }] }))),
      "the watermark names 'missing', which is not a column of the table (columns: n)", 'spec.dataSchemaContext.timeAttributes[0].watermark');
    errorOf(tableFromStream(stream('s', ctx({ timeAttributes: [{ name: 'n', watermark: "n - INTERVAL '1' SECOND" }] }))),
      "the rowtime column 'n' is BIGINT; a watermark needs a TIMESTAMP(3) or TIMESTAMP_LTZ(3) column");
    errorOf(tableFromStream(stream('s', { schema: { name: 'T', namespace: 'x', fields: [{ name: 'p', type: 'proctime', watermark: "p - INTERVAL '1' SECOND" }] } })),
      "'p' is processing time");
    errorOf(tableFromStream(stream('s', { schema: { name: 'T', namespace: 'x', fields }, timeAttributes: [{ name: 'ts', watermark: "`ts` - INTERVAL '5' SECOND" }] })),
      "a table has one watermark: '`ts` - INTERVAL '1' SECOND' is already declared (spec.dataSchemaContext.schema.fields[1].watermark)");
    // The same watermark declared twice (field and time attribute) is one.
    assert.equal(tableOk(tableFromStream(stream('s', { schema: { name: 'T', namespace: 'x', fields }, timeAttributes: [{ name: 'ts', watermark: "ts - INTERVAL '1000' MILLISECOND" }] }))).watermark?.delayMs, 1000);
    const bad = tableFromStream(stream('s', ctx({ timeAttributes: [{ name: 'n', watermark: "`n` - INTERVAL '1' FORTNIGHT" }] })));
    errorOf(bad, "unknown interval unit 'FORTNIGHT'");
    assert.equal(bad.diagnostics[0].offset, "`n` - INTERVAL '1' ".length);
    errorOf(tableFromStream(stream('s', ctx({ timeAttributes: [{ name: 'n', watermark: "`other` - INTERVAL '1' SECOND" }] }))),
      "the watermark of 'n' is computed from 'other'");
  });

  it('options: key.fields split on ;, value format, upsert needs a primary key, startup mode, unknown values refused', () => {
    const fields = [{ name: 'a', type: 'string' }, { name: 'b', type: 'string' }];
    const ctx = (options: Record<string, string>, primaryKey?: string[]): DataSchemaContext =>
      ({ schema: { name: 'T', namespace: 'x', fields }, options, ...(primaryKey ? { primaryKey } : {}) });
    const keyed = tableOk(tableFromStream(stream('s', ctx({ 'ddl.key.fields': 'a; b', 'ddl.value.format': 'avro', 'ddl.scan.startup.mode': 'latest-offset' }))));
    assert.deepEqual([keyed.keyFields, keyed.valueFormat, keyed.startupMode, keyed.upsert], [['a', 'b'], 'avro', 'latest-offset', false]);
    assert.equal(tableOk(tableFromStream(stream('s', ctx({ 'ddl.format': 'avro-confluent' })))).valueFormat, 'avro-confluent');
    assert.equal(tableOk(tableFromStream(stream('s', ctx({})))).valueFormat, 'json');
    assert.equal(tableOk(tableFromStream(stream('s', ctx({ 'ddl.scan.startup.mode': 'group-offsets' })))).startupMode, 'group-offsets');
    errorOf(tableFromStream(stream('s', ctx({ 'ddl.value.format': 'csv' }))), "value format 'csv' is not supported; supported: json, avro, avro-confluent",
      'spec.dataSchemaContext.options[ddl.value.format]');
    errorOf(tableFromStream(stream('s', ctx({ 'ddl.connector': 'upsert-kafka' }))), 'an upsert-kafka table needs a primary key');
    errorOf(tableFromStream(stream('s', ctx({ 'ddl.connector': 'filesystem' }))), "connector 'filesystem' is not supported; supported: kafka, upsert-kafka");
    errorOf(tableFromStream(stream('s', ctx({ 'ddl.scan.startup.mode': 'timestamp' }))), "scan.startup.mode 'timestamp' is not supported");
    const pkOnly = tableFromStream(stream('s', ctx({}, ['a'])));
    assert.deepEqual(tableOk(pkOnly).primaryKey, ['a']);
    assert.equal(tableOk(pkOnly).upsert, false);
    assert.ok(pkOnly.diagnostics.some((d) => d.severity === 'warning' && d.message.includes('upsert-kafka')));
    const unknownKey = tableFromStream(stream('s', ctx({ 'ddl.key.fields': 'zz', 'ddl.connector': 'upsert-kafka' }, ['a', 'yy'])));
    assert.ok(tableOk(unknownKey));
    assert.deepEqual(unknownKey.diagnostics.map((d) => [d.severity, d.message]), [
      ['warning', "primary key column 'yy' is not a column of the table"], ['warning', "key field 'zz' is not a column of the table"],
    ]);
  });

  it('duplicate columns, schemaless Streams and nameless fields are errors', () => {
    errorOf(tableFromStream(stream('s', {
      schema: { name: 'T', namespace: 'x', fields: [{ name: 'a', type: 'string' }] },
      metadataFields: [{ name: 'a', type: 'long_timestamp-millis', metadata: { from: 'timestamp' } }],
    })), "duplicate column 'a'", 'spec.dataSchemaContext.metadataFields[0]');
    errorOf(tableFromStream(stream('s', { schemaless: 'application/json' })), 'a schemaless Stream has no columns');
    errorOf(tableFromStream(stream('s', { schema: { name: 'T', namespace: 'x', fields: [{ name: '', type: 'string' }] } })), 'a field needs a name');
  });

  it('never throws on malformed Streams', () => {
    const odd: unknown[] = [
      { metadata: {}, spec: {} },
      { metadata: { name: 'x' }, spec: { dataSchemaContext: { schema: { name: 'T', fields: [null, 3, { name: 'a' }] } } } },
      { metadata: { name: 'x' }, spec: { dataSchemaContext: { inline: { type: 'avro', schema: '{"type":"record","name":"R","fields":[null,{"name":1}]}' } } } },
      { metadata: { name: 'x' }, spec: { dataSchemaContext: { timeAttributes: [null, { name: 3 }], metadataFields: [{}], options: { 'ddl.key.fields': '' } } } },
      { metadata: { name: 'x' }, spec: { dataSchemaContext: { inline: { type: 'sql', schema: 'CREATE TABLE' } } } },
    ];
    for (const s of odd) {
      const r = tableFromStream(s as Stream);
      assert.ok(Array.isArray(r.diagnostics));
    }
  });

  it('every truncation of every inline schema of the samples builds a table or reports errors, never throws', () => {
    let failed = 0;
    for (const { stream: s } of loadFsqlSamples().streams) {
      const inline = s.spec.dataSchemaContext?.inline;
      if (!inline) continue;
      for (let n = 0; n < inline.schema.length; n++) {
        const cut: Stream = { ...s, spec: { ...s.spec, dataSchemaContext: { ...s.spec.dataSchemaContext, inline: { ...inline, schema: inline.schema.slice(0, n) } } } };
        const r = tableFromStream(cut);
        assert.ok(r.table || r.diagnostics.some((d) => d.severity === 'error'));
        if (!r.table) failed++;
      }
    }
    assert.ok(failed > 100, 'truncated schemas should mostly fail');
  });
});
