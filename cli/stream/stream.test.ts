// `sr stream` parts without `sr up`: messages partitioned as the processors partition them, records printed with
// Avro decoded through a real (development) registry, and brokers that cannot be reached said so. The commands
// against a real `sr up` are in test/e2e/cli-stream.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Type } from 'avsc';
import type { BindingConfig, ProcessorConfig } from '../../processor/config';
import { selectPartition } from '../../processor/partition';
import { writeWireFrame } from '../../processor/codec';
import { TestSchemaRegistry } from '../../test/support/schema-registry';
import { RecordPrinter } from './format';
import { buildMessages, publishAll } from './publish';
import { KafkaTail, RabbitTail, rabbitPartition } from './tail';

const binding = (over: Partial<BindingConfig> = {}): BindingConfig => ({
  stream: 's', protocol: 'rabbitmq', destination: 'dest', server: { url: 'amqp://127.0.0.1:5672' }, ...over,
});

test('publish: values are partitioned with the Stream keyExpression the way processors do, and JSON is typed', () => {
  const out = buildMessages(binding({ partitioning: { keyExpression: 'payload.team', partitionCount: 3 } }),
    ['red', 'blue', 'green', 'yellow'].map((team, i) => ({ value: JSON.stringify({ team }), origin: `line ${i + 1}` })), { headers: { h: 'v' } });
  assert.deepEqual(out.map((m) => m.partition), ['red', 'blue', 'green', 'yellow'].map((t) => selectPartition(t, 3)));
  for (const m of out) {
    assert.equal(m.message.headers.scst_partition, String(m.partition));
    assert.equal(m.message.headers.contentType, 'application/json');
    assert.equal(m.message.headers.h, 'v');
  }
  // keys: header values; a text value is text/plain unless told otherwise.
  const [byHeader] = buildMessages(binding({ partitioning: { keys: ['region'], partitionCount: 4 } }), [{ value: 'plain', origin: 'VALUE' }], { headers: { region: 'eu' }, key: 'k1' });
  assert.equal(byHeader.partition, selectPartition('eu', 4));
  assert.equal(byHeader.message.headers.contentType, 'text/plain');
  assert.equal(byHeader.message.key?.toString(), 'k1');
  const [typed] = buildMessages(binding(), [{ value: '{broken', origin: 'VALUE' }], { headers: { contentType: 'application/json' } });
  assert.equal(typed.message.headers.contentType, 'application/json');
  assert.equal(typed.partition, undefined);
});

test('publish: a value without the partition key fails naming its line, before anything is built further', () => {
  assert.throws(
    () => buildMessages(binding({ partitioning: { keyExpression: 'payload.team', partitionCount: 3 } }),
      [{ value: '{"team":"red"}', origin: 'line 1 of f.jsonl' }, { value: '{"other":1}', origin: 'line 2 of f.jsonl' }], { headers: {} }),
    /^Error: line 2 of f\.jsonl: Stream s is partitioned by keyExpression 'payload\.team': /,
  );
  assert.throws(() => buildMessages(binding({ partitioning: { keys: ['region'], partitionCount: 2 } }), [{ value: 'x', origin: 'VALUE' }], { headers: {} }),
    /VALUE: Stream s is partitioned by keys \["region"\]: partition key is null/);
});

test('tail: the partition of a RabbitMQ message comes from scst_partition, else the routing key', () => {
  const m = (headers: Record<string, string>): { payload: Buffer; headers: Record<string, string> } => ({ payload: Buffer.alloc(0), headers });
  assert.equal(rabbitPartition('dest', 'dest-2', m({})), 2);
  assert.equal(rabbitPartition('dest', 'dest-2', m({ scst_partition: '1' })), 1);
  assert.equal(rabbitPartition('dest', 'dest', m({})), undefined);
  assert.equal(rabbitPartition('dest-x', 'dest-x', m({})), undefined);
});

let registry: TestSchemaRegistry;
before(async () => { registry = await TestSchemaRegistry.start(); });
after(async () => { await registry.stop(); });

test('tail: Avro in the Confluent wire format is decoded through the registry; other payloads shown as they are', async () => {
  const schema = { type: 'record', name: 'Play', fields: [{ name: 'song', type: 'string' }, { name: 'n', type: 'long' }] };
  const res = await fetch(`${registry.url}/subjects/plays-value/versions`, {
    method: 'POST', headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  const { id } = await res.json() as { id: number };
  const avro = writeWireFrame(id, Type.forSchema(schema as Parameters<typeof Type.forSchema>[0]).toBuffer({ song: 'Hey', n: 3 }));
  const lines: string[] = [];
  const printer = new RecordPrinter('json', (l) => lines.push(l), registry.url);
  await printer.print({ message: { payload: avro, headers: {}, key: Buffer.from('k') }, partition: 1, offset: '7', timestamp: 0 });
  await printer.print({ message: { payload: Buffer.from('{"a":1}'), headers: { contentType: 'application/json' } }, routingKey: 'dest', kept: true, redelivered: true });
  await printer.print({ message: { payload: Buffer.from([0xff, 0x00, 0xfe]), headers: { contentType: 'application/octet-stream' } } });
  await printer.print({ message: { payload: writeWireFrame(9999, Buffer.from([2])), headers: {} } });
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(parsed[0], { partition: 1, offset: '7', timestamp: '1970-01-01T00:00:00.000Z', key: 'k', headers: {}, value: { song: 'Hey', n: 3 }, schemaId: id });
  assert.deepEqual(parsed[1], { routingKey: 'dest', headers: { contentType: 'application/json' }, value: { a: 1 }, kept: true, redelivered: true });
  assert.deepEqual(parsed[2], { headers: { contentType: 'application/octet-stream' }, value: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), valueEncoding: 'base64' });
  assert.match(String(parsed[3].decodeError), /9999/);

  const raw: string[] = [];
  const rawPrinter = new RecordPrinter('raw', (l) => raw.push(l), registry.url);
  await rawPrinter.print({ message: { payload: avro, headers: {} } });
  await rawPrinter.print({ message: { payload: Buffer.from('{ "spaced": true }'), headers: {} } });
  assert.deepEqual(raw, ['{"song":"Hey","n":3}\n', '{ "spaced": true }\n']);
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('a broker that cannot be reached is an error naming it (and no credentials)', async () => {
  const port = await closedPort();
  const rabbit = binding({ server: { url: `amqp://127.0.0.1:${port}`, credentials: { username: 'u', password: 'secret' } } });
  const tail = new RabbitTail(rabbit);
  await assert.rejects(tail.start(() => undefined), (err: Error) => {
    assert.match(err.message, new RegExp(`^cannot reach RabbitMQ amqp://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  await tail.close();
  const config = { name: 'sr-stream', namespace: 'default', group: 'sr-stream', instanceIndex: 0, instanceCount: 1, inputs: [], outputs: [], attributes: {} } as unknown as ProcessorConfig;
  await assert.rejects(publishAll(rabbit, config, buildMessages(rabbit, [{ value: 'x', origin: 'VALUE' }], { headers: {} }), 1500),
    new RegExp(`^Error: cannot reach RabbitMQ amqp://127\\.0\\.0\\.1:${port}: no answer within 2 s \\(last error: .*ECONNREFUSED`));
  const kafka = new KafkaTail(binding({ protocol: 'kafka', server: { url: `127.0.0.1:${port}` } }), false, 1500);
  await assert.rejects(kafka.start(() => undefined), new RegExp(`^Error: cannot reach Kafka 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
  await kafka.close();
});
