// One failing case per semantic rule, asserting the exact field path (and offset where the rule gives one).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeIssues, validateResource, validateUpdate, valueAtPath, type FieldIssue } from './index';
import type { Stream } from '../types';

const API_VERSION = 'streaming.tanzu.vmware.com/v1alpha1';

function stream(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 's', namespace: 'default' }): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: 'Stream', metadata, spec: { name: 'topic', protocol: 'kafka', ...spec } };
}

function processor(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p' }): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: 'Processor', metadata, spec };
}

/** An SRP processor with one input and output plus the given attributes. */
function srp(attributes: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return processor({ type: 'SRP', inputs: [{ name: 'in' }], outputs: [{ name: 'out' }], attributes, ...extra });
}

function clusterStream(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'cs' }): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: 'ClusterStream', metadata, spec: { name: 'topic', storage: { server: { protocol: 'kafka' } }, ...spec } };
}

const fields = (issues: FieldIssue[]): string[] => issues.map((i) => i.field);
const errorsOf = (obj: unknown): string[] => fields(validateResource(obj).errors);
const warningsOf = (obj: unknown): string[] => fields(validateResource(obj).warnings);
function onlyError(obj: unknown): FieldIssue {
  const { errors } = validateResource(obj);
  assert.equal(errors.length, 1, JSON.stringify(errors, null, 1));
  return errors[0];
}

describe('valid objects', () => {
  it('have no errors and no warnings', () => {
    for (const obj of [
      stream({ keys: ['user'], partitionCount: 3, dataSchemaContext: { schemaless: 'application/json' } }),
      clusterStream({}),
      srp({ 'srp.window': '5s', 'srp.window.idle.timeout': '60s', 'srp.lateEventMode': 'SIDE_CHANNEL', 'srp.output.late': 'late' }),
      processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT * FROM [[STREAM:in]]'] }),
      processor({ type: 'SCS', inputs: [{ name: 'in' }], template: { spec: { containers: [{ name: 'app', command: ['node', 'app.js'] }] } } }),
    ]) {
      assert.deepEqual(validateResource(obj), { errors: [], warnings: [] });
    }
  });
});

describe('metadata', () => {
  it('names are RFC 1123 subdomains, with kube\'s message', () => {
    const issue = onlyError(stream({}, { name: 'Bad_Name' }));
    assert.equal(issue.field, 'metadata.name');
    assert.match(issue.message, /^Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/);
    assert.deepEqual(errorsOf(clusterStream({}, { name: 'x'.repeat(254) })), ['metadata.name']);
    assert.deepEqual(errorsOf(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT * FROM [[STREAM:in]]'] }, { name: 'ok.name-1' })), []);
  });

  it('requires a name or generateName', () => {
    assert.deepEqual(onlyError(stream({}, {})), { field: 'metadata.name', type: 'FieldValueRequired', message: 'Required value: name or generateName is required' });
    assert.deepEqual(errorsOf(stream({}, { generateName: 'gen-' })), []);
    assert.deepEqual(errorsOf(stream({}, { generateName: 'Gen-' })), ['metadata.generateName']);
  });

  it('namespaces: RFC 1123 labels; none on ClusterStreams', () => {
    assert.deepEqual(errorsOf(stream({}, { name: 's', namespace: 'Bad.NS' })), ['metadata.namespace']);
    assert.equal(onlyError(clusterStream({}, { name: 'cs', namespace: 'default' })).type, 'FieldValueForbidden');
  });

  it('reports a missing metadata, a non-object and an unknown kind', () => {
    assert.deepEqual(errorsOf({ apiVersion: API_VERSION, kind: 'Stream', spec: { protocol: 'kafka' } }), ['metadata']);
    assert.deepEqual(errorsOf(null), ['']);
    assert.deepEqual(onlyError({ kind: 'Deployment' }).type, 'FieldValueNotSupported');
  });
});

describe('Stream', () => {
  it('requires a spec', () => {
    assert.deepEqual(errorsOf({ apiVersion: API_VERSION, kind: 'Stream', metadata: { name: 's' } }), ['spec']);
  });

  it('checks spec.name as a Kafka topic or RabbitMQ exchange name', () => {
    assert.deepEqual(errorsOf(stream({ name: 'bad topic' })), ['spec.name']);
    assert.deepEqual(errorsOf(stream({ name: 'x'.repeat(250) })), ['spec.name']);
    assert.deepEqual(errorsOf(stream({ name: '..' })), ['spec.name']);
    assert.deepEqual(errorsOf(stream({ name: 'Data.In_1-x' })), []);
    assert.deepEqual(errorsOf(stream({ name: 'amq.direct', protocol: 'rabbitmq' })), ['spec.name']);
    assert.deepEqual(errorsOf(stream({ name: 'orders exchange', protocol: 'rabbitmq' })), []);
    assert.deepEqual(errorsOf(stream({ name: '', protocol: 'rabbitmq' })), ['spec.name']);
  });

  it('forbids keys together with keyExpression', () => {
    const issue = onlyError(stream({ keys: ['team'], keyExpression: 'payload.team' }));
    assert.deepEqual([issue.field, issue.type], ['spec.keyExpression', 'FieldValueForbidden']);
  });

  it('parses keyExpression (with the offset of the problem)', () => {
    const issue = onlyError(stream({ keyExpression: "payload.team + " }));
    assert.equal(issue.field, 'spec.keyExpression');
    assert.equal(typeof issue.offset, 'number');
    assert.deepEqual(errorsOf(stream({ keyExpression: "headers['user']" })), []);
  });

  it('rejects duplicate or empty keys', () => {
    assert.deepEqual(errorsOf(stream({ keys: ['a', 'b', 'a', ' '] })), ['spec.keys[2]', 'spec.keys[3]']);
  });

  it('partitionCount >= 1', () => {
    assert.deepEqual(errorsOf(stream({ partitionCount: 0 })), ['spec.partitionCount']);
  });

  it('dataSchemaContext: exactly one of inline, schema, schemaless', () => {
    const none = onlyError(stream({ dataSchemaContext: { timeAttributes: [{ name: 'proctime' }] } }));
    assert.deepEqual([none.field, none.type], ['spec.dataSchemaContext', 'FieldValueRequired']);
    const two = onlyError(stream({ dataSchemaContext: { schemaless: 'application/json', schema: { name: 'U', namespace: 'n', fields: [] } } }));
    assert.deepEqual([two.field, two.type], ['spec.dataSchemaContext.schemaless', 'FieldValueForbidden']);
  });

  it('schemaless is a content type', () => {
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { schemaless: 'json' } })), ['spec.dataSchemaContext.schemaless']);
  });

  it('inline Avro schemas must parse (JSON or YAML); avro-confluent may reference a registry URL', () => {
    const issue = onlyError(stream({ dataSchemaContext: { inline: { type: 'avro', schema: '{"type": "record", "fields": [}' } } }));
    assert.equal(issue.field, 'spec.dataSchemaContext.inline.schema');
    assert.ok((issue.offset ?? -1) > 0, `offset ${issue.offset}`);
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { inline: { type: 'avro', schema: 'just text' } } })), ['spec.dataSchemaContext.inline.schema']);
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { inline: { type: 'avro-confluent', schema: 'http://registry:8081/subjects/x/versions/latest' } } })), []);
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { inline: { type: 'sql', schema: 'CREATE TABLE t (a INT)' } } })), []);
  });

  it('timeAttributes watermarks parse (offset) and name a declared field (warning)', () => {
    const schema = { name: 'User', namespace: 'n', fields: [{ name: 'score_time', type: 'long' }] };
    const bad = onlyError(stream({ dataSchemaContext: { schema, timeAttributes: [{ name: 'score_time', watermark: "`score_time` - INTERVAL 2" }] } }));
    assert.equal(bad.field, 'spec.dataSchemaContext.timeAttributes[0].watermark');
    assert.equal(bad.offset, 24);
    const undeclared = stream({ dataSchemaContext: { schema, timeAttributes: [{ name: 'ts', watermark: "`ts` - INTERVAL '1' SECOND" }] } });
    assert.deepEqual(errorsOf(undeclared), []);
    assert.deepEqual(warningsOf(undeclared), ['spec.dataSchemaContext.timeAttributes[0].watermark']);
    // Fields of an inline Avro schema count as declared.
    const avro = JSON.stringify({ type: 'record', name: 'E', fields: [{ name: 'event_time', type: 'long' }] });
    assert.deepEqual(validateResource(stream({ dataSchemaContext: { inline: { type: 'avro', schema: avro }, timeAttributes: [{ name: 'event_time', watermark: "`event_time` - INTERVAL '30' SECONDS" }] } })), { errors: [], warnings: [] });
  });

  it('schema fields: unique names, parsable watermarks; primaryKey names declared fields (warning)', () => {
    const schema = { name: 'U', namespace: 'n', fields: [{ name: 'a', type: 'string' }, { name: 'a', type: 'int', watermark: '`a` -' }] };
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { schema } })), ['spec.dataSchemaContext.schema.fields[1].name', 'spec.dataSchemaContext.schema.fields[1].watermark']);
    const keyed = stream({ dataSchemaContext: { schema: { name: 'U', namespace: 'n', fields: [{ name: 'a', type: 'string' }] }, primaryKey: ['a', 'b'] } });
    assert.deepEqual(warningsOf(keyed), ['spec.dataSchemaContext.primaryKey[1]']);
  });

  it('storage.clusterStream and binding are object names; schemaRegistryUri a URL', () => {
    assert.deepEqual(errorsOf(stream({ storage: { clusterStream: 'Bad CS' } })), ['spec.storage.clusterStream']);
    assert.deepEqual(errorsOf(stream({ binding: 'my_secret' })), ['spec.binding']);
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { schemaless: 'text/plain', schemaRegistryUri: 'registry' } })), ['spec.dataSchemaContext.schemaRegistryUri']);
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { schemaless: 'text/plain', schemaRegistryUri: 'kafka://registry:8081' } })), ['spec.dataSchemaContext.schemaRegistryUri']);
    assert.deepEqual(errorsOf(stream({ dataSchemaContext: { schemaless: 'text/plain', schemaRegistryUri: 'http://registry:8081' } })), []);
  });
});

describe('ClusterStream', () => {
  it('checks spec.name for the server protocol, the binding name; warns without a protocol', () => {
    assert.deepEqual(errorsOf(clusterStream({ name: 'a/b' })), ['spec.name']);
    assert.deepEqual(errorsOf(clusterStream({ name: 'amq.topic', storage: { server: { protocol: 'rabbitmq' } } })), ['spec.name']);
    assert.deepEqual(errorsOf(clusterStream({ storage: { server: { protocol: 'kafka', binding: 'Secret!' } } })), ['spec.storage.server.binding']);
    assert.deepEqual(warningsOf(clusterStream({ storage: {} })), ['spec.storage.server.protocol']);
    assert.deepEqual(errorsOf({ apiVersion: API_VERSION, kind: 'ClusterStream', metadata: { name: 'c' } }), ['spec']);
  });
});

describe('Processor', () => {
  it('window state: one choice, or agreeing ones; a contradiction or an unknown type is refused', () => {
    const withAttributes = (attributes: Record<string, string>) => processor({ inputs: [{ name: 'in' }], outputs: [{ name: 'out' }], attributes: { 'srp.window': '5s', ...attributes } });
    assert.deepEqual(errorsOf(withAttributes({ 'srp.envs': 'SRP_PROCESSOR_STATETYPE=ROCKSDB' })), []);
    assert.deepEqual(errorsOf(withAttributes({ 'srp.window.state': 'ROCKSDB', 'srp.envs': 'STATE_TYPE=ROCKSDB' })), []);
    const contradiction = validateResource(withAttributes({ 'srp.window.state': 'MEMORY', 'srp.envs': 'SRP_PROCESSOR_STATETYPE=ROCKSDB' })).errors;
    assert.deepEqual(contradiction.map((i) => i.field), ['spec.attributes[srp.window.state]']);
    assert.match(contradiction[0].message, /contradicts/);
    assert.deepEqual(errorsOf(withAttributes({ 'srp.envs': 'STATE_TYPE=DISK' })), ['spec.attributes[srp.envs]']);
    // An unknown srp.window.state is reported once, by its enum.
    assert.deepEqual(errorsOf(withAttributes({ 'srp.window.state': 'DISK', 'srp.envs': 'STATE_TYPE=ROCKSDB' })), ['spec.attributes[srp.window.state]']);
  });

  it('SRP needs an input; warns without outputs', () => {
    assert.deepEqual(onlyError(processor({ outputs: [{ name: 'out' }] })).field, 'spec.inputs');
    assert.deepEqual(errorsOf(processor({ inputs: [], outputs: [{ name: 'out' }] })), ['spec.inputs']);
    assert.deepEqual(errorsOf(processor({ inputs: null, outputs: [{ name: 'out' }] })), ['spec.inputs']);
    assert.deepEqual(warningsOf(processor({ inputs: [{ name: 'in' }] })), ['spec.outputs']);
  });

  it('inputs/outputs name Streams, once each', () => {
    assert.deepEqual(errorsOf(processor({ inputs: [{ name: 'In' }], outputs: [{ name: 'out' }] })), ['spec.inputs[0].name']);
    const duplicated = validateResource(processor({ inputs: [{ name: 'a' }, { name: 'a' }], outputs: [{ name: 'o' }, { name: 'o' }] })).errors;
    assert.deepEqual(duplicated.map((i) => [i.field, i.type]), [
      ['spec.inputs[1].name', 'FieldValueDuplicate'],
      ['spec.outputs[1].name', 'FieldValueDuplicate'],
    ]);
    assert.deepEqual(warningsOf(processor({ inputs: [{ name: 'a' }], outputs: [{ name: 'a' }] })), ['spec.outputs[0].name']);
  });

  it('accepts the original test manifests\' inputs.sources form', () => {
    assert.deepEqual(errorsOf(processor({ inputs: { sources: [{ name: 'in' }] }, outputs: [{ name: 'out' }] })), []);
    assert.deepEqual(errorsOf(processor({ inputs: { sources: [{ name: 'IN' }] }, outputs: [{ name: 'out' }] })), ['spec.inputs[0].name']);
  });

  it('replicas >= 0', () => {
    assert.deepEqual(errorsOf(srp({}, { replicas: -1 })), ['spec.replicas']);
    assert.deepEqual(errorsOf(srp({}, { replicas: 0 })), []);
  });

  it('FSQL needs inlineQuery; no template beside it; placeholders name Streams', () => {
    assert.deepEqual(onlyError(processor({ type: 'FSQL' })).field, 'spec.inlineQuery');
    assert.deepEqual(errorsOf(processor({ type: 'FSQL', inlineQuery: [] })), ['spec.inlineQuery']);
    const withTemplate = onlyError(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT * FROM [[STREAM:in]]'], template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }));
    assert.deepEqual([withTemplate.field, withTemplate.type], ['spec.template', 'FieldValueForbidden']);
    const placeholder = onlyError(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT * FROM [[STREAM:in]]', 'SELECT * FROM [[STREAM:Bad Name]]'] }));
    assert.deepEqual([placeholder.field, placeholder.offset], ['spec.inlineQuery[1]', 23]);
    assert.deepEqual(errorsOf(processor({ type: 'FSQL', inlineQuery: ['  '] })), ['spec.inlineQuery[0]']);
  });

  it('FSQL statements are parsed: errors carry statement, line, column and the offset inside the string', () => {
    const syntax = onlyError(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT * FROM [[STREAM:in]]', 'INSERT INTO [[STREAM:out]]\n  SELEC x FROM [[STREAM:in]]'] }));
    assert.equal(syntax.field, 'spec.inlineQuery[1]');
    assert.match(syntax.message, /statement 2, line 2, column 3/);
    assert.equal(syntax.offset, 29);
    const bare = onlyError(processor({ type: 'FSQL', inlineQuery: ['SELECT * FROM [[STREAM:in]]'] }));
    assert.match(bare.message, /INSERT INTO .*debugQuery/);
  });

  it('FSQL statements are planned against the Streams the context knows: unknown columns are errors', () => {
    const readings = { apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Stream', metadata: { name: 'in', namespace: 'default' },
      spec: { name: 'in', protocol: 'kafka', dataSchemaContext: { schema: { name: 'Readings', namespace: 'x', fields: [{ name: 'sensor', type: 'string' }, { name: 'v', type: 'double' }] } } } } as unknown as Stream;
    const out = { ...readings, metadata: { name: 'out', namespace: 'default' }, spec: { ...readings.spec, name: 'out', dataSchemaContext: { schema: { name: 'Out', namespace: 'x', fields: [{ name: 'sensor', type: 'string' }] } } } } as unknown as Stream;
    const streams: Record<string, Stream> = { in: readings, out };
    const context = { stream: (_ns: string, name: string) => streams[name] };
    assert.deepEqual(validateResource(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT sensor FROM [[STREAM:in]]'] }), context).errors, []);
    const unknown = validateResource(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT sensr FROM [[STREAM:in]]'] }), context).errors;
    assert.equal(unknown.length, 1);
    assert.match(unknown[0].message, /sensr/);
    assert.equal(unknown[0].offset, 'INSERT INTO [[STREAM:out]] SELECT '.length);
    // Without the Streams (the editor on a lone Processor, or Streams not created yet) only the syntax is checked.
    assert.deepEqual(validateResource(processor({ type: 'FSQL', inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT sensr FROM [[STREAM:in]]'] })).errors, []);
  });

  it('inlineQuery is exclusive with template for other types too; warned about when unused', () => {
    const issue = onlyError(srp({}, { inlineQuery: ['INSERT INTO [[STREAM:out]] SELECT * FROM [[STREAM:in]]'], template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }));
    assert.deepEqual([issue.field, issue.type], ['spec.inlineQuery', 'FieldValueForbidden']);
    assert.deepEqual(warningsOf(srp({}, { inlineQuery: ['SELECT 1'] })), ['spec.inlineQuery']);
  });

  it('SCS needs a container; every container needs an image or a command', () => {
    assert.deepEqual(onlyError(processor({ type: 'SCS', inputs: [{ name: 'in' }] })).field, 'spec.template.spec.containers');
    assert.deepEqual(errorsOf(processor({ type: 'SCS', template: { spec: { containers: [] } } })), ['spec.template.spec.containers']);
    const noImage = onlyError(processor({ type: 'SCS', template: { spec: { containers: [{ name: 'app' }] } } }));
    assert.deepEqual([noImage.field, noImage.type], ['spec.template.spec.containers[0].image', 'FieldValueRequired']);
    assert.deepEqual(errorsOf(srp({}, { template: { spec: { containers: [{ name: 'udf', image: ' ' }] } } })), ['spec.template.spec.containers[0].image']);
  });

  it('containers: DNS label names, unique; IANA port names; env names; value xor valueFrom', () => {
    const containers = [
      { name: 'UDF', image: 'i' },
      { name: 'udf', image: 'i', ports: [{ containerPort: 50051, name: 'grpc_port' }, { containerPort: 8080, name: 'http' }, { containerPort: 8081, name: 'http' }] },
      { name: 'udf', image: 'i', env: [{ name: '1BAD', value: 'x' }, { name: 'OK', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
    ];
    assert.deepEqual(errorsOf(srp({}, { template: { spec: { containers } } })), [
      'spec.template.spec.containers[0].name',
      'spec.template.spec.containers[1].ports[0].name',
      'spec.template.spec.containers[1].ports[2].name',
      'spec.template.spec.containers[2].name',
      'spec.template.spec.containers[2].env[0].name',
      'spec.template.spec.containers[2].env[1].valueFrom',
    ]);
  });
});

describe('Processor attributes', () => {
  const attributeError = (name: string, value: string): FieldIssue => {
    const issue = onlyError(srp({ [name]: value }));
    assert.equal(issue.field, `spec.attributes[${name}]`);
    return issue;
  };

  it('durations: srp.window, idle timeout, out-of-orderness, lateness, slide, gap, watermark idle, udf timeout', () => {
    for (const name of [
      'srp.window', 'srp.window.idle.timeout', 'srp.maxOutOfOrderness', 'srp.allowedLateness', 'srp.window.slide',
      'srp.window.gap', 'srp.watermark.idleTimeout', 'srp.udf.timeout',
    ]) {
      const issue = onlyError(srp({ 'srp.window': '10s', 'srp.window.type': name === 'srp.window.gap' ? 'SESSION' : name === 'srp.window.slide' ? 'SLIDING' : 'TUMBLING', 'srp.window.slide': '1s', 'srp.window.gap': '1s', [name]: '5 parsecs' }));
      assert.equal(issue.field, `spec.attributes[${name}]`);
      assert.equal(issue.offset, 1);
    }
    assert.deepEqual(errorsOf(srp({ 'srp.window': '500ms', 'srp.maxOutOfOrderness': '2m', 'srp.allowedLateness': '1h', 'srp.udf.timeout': '1d', 'srp.watermark.idleTimeout': '3000' })), []);
    assert.deepEqual(attributeError('srp.window', '0s').type, 'FieldValueInvalid');
  });

  it('srp.lateEventMode is DROP, UPSERT or SIDE_CHANNEL', () => {
    assert.equal(attributeError('srp.lateEventMode', 'LATE').message, 'Unsupported value: "LATE": supported values: "DROP", "UPSERT", "SIDE_CHANNEL"');
  });

  it('srp.output.headers syntax (with offset)', () => {
    assert.equal(attributeError('srp.output.headers', 'user=payload.fullName;team').offset, 22);
  });

  it('srp.spel.expression parses (with offset)', () => {
    const issue = attributeError('srp.spel.expression', "'Team:' + #jsonPath(payload, '$.team') +");
    assert.equal(issue.offset, 40);
    assert.match(issue.message, /at offset 40/);
  });

  it('srp.jsonata.expression and srp.filter.expression parse', () => {
    assert.equal(attributeError('srp.jsonata.expression', '$.(').offset, 3);
    attributeError('srp.filter.expression', 'score >');
  });

  it('srp.grpcPort is 1..65535; srp.skipUdf a boolean; counts positive', () => {
    for (const port of ['0', '65536', 'abc', '']) attributeError('srp.grpcPort', port);
    assert.deepEqual(errorsOf(srp({ 'srp.grpcPort': '50051' })), []);
    assert.equal(attributeError('srp.skipUdf', 'yes').type, 'FieldValueNotSupported');
    attributeError('srp.udf.maxAttempts', '0');
    assert.deepEqual(errorsOf(srp({ 'srp.window': '1s', 'srp.window.maxState': 'lots' })), ['spec.attributes[srp.window.maxState]']);
  });

  it('srp.envs syntax; stream names; registry URL; timestamp expression', () => {
    attributeError('srp.envs', 'A=1;NOEQUALS');
    assert.deepEqual(errorsOf(srp({ 'srp.lateEventMode': 'SIDE_CHANNEL', 'srp.output.late': 'Late_Stream' })), ['spec.attributes[srp.output.late]']);
    attributeError('srp.output.deadLetter', 'dead letters');
    attributeError('srp.input.schemaRegistryUri', 'registry:8081 x');
    assert.match(attributeError('srp.input.schemaRegistryUri', 'ftp://registry:8081').message, /http:\/\/ or https:\/\//);
    assert.deepEqual(errorsOf(srp({ 'srp.input.schemaRegistryUri': 'https://user:pw@registry.example:8081/prefix' })), []);
    attributeError('srp.input.timestampExpression', 'payload.a b');
    assert.deepEqual(errorsOf(srp({ 'srp.input.timestampExpression': 'header.eventtime' })), []);
  });

  it('window types: SLIDING needs srp.window and a slide no longer than it; SESSION needs a gap', () => {
    assert.deepEqual(errorsOf(srp({ 'srp.window.type': 'SLIDING', 'srp.window': '10s' })), ['spec.attributes[srp.window.slide]']);
    assert.deepEqual(errorsOf(srp({ 'srp.window.type': 'SLIDING', 'srp.window.slide': '1s' })), ['spec.attributes[srp.window]']);
    assert.deepEqual(errorsOf(srp({ 'srp.window.type': 'SLIDING', 'srp.window': '10s', 'srp.window.slide': '20s' })), ['spec.attributes[srp.window.slide]']);
    assert.deepEqual(errorsOf(srp({ 'srp.window.type': 'SESSION' })), ['spec.attributes[srp.window.gap]']);
    assert.deepEqual(errorsOf(srp({ 'srp.window.type': 'HOPPING' })), ['spec.attributes[srp.window.type]']);
    assert.deepEqual(validateResource(srp({ 'srp.window.type': 'SESSION', 'srp.window.gap': '30s' })), { errors: [], warnings: [] });
  });

  it('warns (not errors) about unknown srp.* attributes, suggesting the closest one', () => {
    const result = validateResource(srp({ 'srp.windw': '5s', 'srp.brand.new': 'x', 'myOwnSetting': 'free-form' }));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(fields(result.warnings), ['spec.attributes[srp.windw]', 'spec.attributes[srp.brand.new]']);
    assert.match(result.warnings[0].message, /did you mean "srp.window"\?/);
  });

  it('warns about attributes that have no effect', () => {
    assert.deepEqual(warningsOf(srp({ 'srp.window.idle.timeout': '5s' })), ['spec.attributes[srp.window.idle.timeout]']);
    assert.deepEqual(warningsOf(srp({ 'srp.output.late': 'late' })), ['spec.attributes[srp.output.late]']);
    assert.deepEqual(warningsOf(srp({ 'srp.skipUdf': 'false' })), ['spec.attributes[srp.skipUdf]']);
    assert.deepEqual(warningsOf(processor({ type: 'FSQL', inlineQuery: ['q'], attributes: { 'srp.window': '5s' } })), ['spec.attributes[srp.window]']);
  });
});

describe('validateUpdate', () => {
  it('Stream spec.name and spec.protocol are immutable', () => {
    const before = stream({});
    const renamed = validateUpdate(before, stream({ name: 'other' })).errors;
    assert.deepEqual(renamed.map((i) => [i.field, i.message]), [['spec.name', 'Invalid value: "other": field is immutable']]);
    assert.deepEqual(fields(validateUpdate(before, stream({ protocol: 'rabbitmq' })).errors), ['spec.protocol']);
    assert.deepEqual(validateUpdate(before, stream({ partitionCount: 4 })).errors, []);
  });

  it('a defaulted spec.name equals metadata.name', () => {
    const before = { apiVersion: API_VERSION, kind: 'Stream', metadata: { name: 's' }, spec: { protocol: 'kafka' } };
    assert.deepEqual(validateUpdate(before, stream({ name: 's' })).errors, []);
  });

  it('ClusterStream spec.name and server protocol are immutable; Processors are mutable', () => {
    assert.deepEqual(fields(validateUpdate(clusterStream({}), clusterStream({ name: 'other' })).errors), ['spec.name']);
    assert.deepEqual(fields(validateUpdate(clusterStream({}), clusterStream({ storage: { server: { protocol: 'rabbitmq' } } })).errors), ['spec.storage.server.protocol']);
    assert.deepEqual(validateUpdate(srp({}), processor({ type: 'SCS', template: { spec: { containers: [{ name: 'c', image: 'i' }] } } })).errors, []);
  });

  it('ratchets: a stored invalid value that is unchanged is a warning, a new invalid value an error', () => {
    const stored = srp({ 'srp.window': 'five' });
    const statusUpdate = { ...structuredClone(stored), status: { observedGeneration: 1 } };
    const result = validateUpdate(stored, statusUpdate);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(fields(result.warnings), ['spec.attributes[srp.window]']);
    assert.deepEqual(fields(validateUpdate(stored, srp({ 'srp.window': 'six' })).errors), ['spec.attributes[srp.window]']);
  });
});

describe('helpers', () => {
  it('valueAtPath follows Kubernetes field paths', () => {
    const obj = srp({ 'srp.window': '5s' });
    assert.deepEqual(valueAtPath(obj, 'spec.attributes[srp.window]'), { found: true, value: '5s' });
    assert.deepEqual(valueAtPath(obj, 'spec.inputs[0].name'), { found: true, value: 'in' });
    assert.deepEqual(valueAtPath(obj, 'spec.inputs[3].name'), { found: false });
    assert.deepEqual(valueAtPath(obj, 'spec.nothing.here'), { found: false });
  });

  it('mergeIssues drops semantic issues already reported by the schema at the same field or a parent', () => {
    const structural: FieldIssue[] = [{ field: 'spec.inputs[1]', type: 'FieldValueDuplicate', message: 'Duplicate value' }];
    const semantic: FieldIssue[] = [
      { field: 'spec.inputs[1].name', type: 'FieldValueDuplicate', message: 'Duplicate value' },
      { field: 'spec.inputs[10].name', type: 'FieldValueInvalid', message: 'x' },
    ];
    assert.deepEqual(fields(mergeIssues(structural, semantic)), ['spec.inputs[1]', 'spec.inputs[10].name']);
  });

  it('never throws on hostile input', () => {
    const hostile: unknown[] = [
      undefined, 1, 'x', [], { kind: 'Processor' }, { kind: 'Processor', spec: [] }, { kind: 'Stream', spec: { dataSchemaContext: [] } },
      { kind: 'Processor', metadata: { name: 7 }, spec: { inputs: [null, 1, 'x'], attributes: { 'srp.window': 5 }, template: { spec: { containers: [null, { ports: 'x', env: [null] }] } } } },
      { kind: 'Stream', metadata: [], spec: { keys: 'x', dataSchemaContext: { schema: { fields: [null] }, timeAttributes: [null, { watermark: 1 }] } } },
    ];
    for (const obj of hostile) {
      validateResource(obj);
      validateUpdate(obj, obj);
    }
  });
});
