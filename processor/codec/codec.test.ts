// The payload codec against a schema registry: the development registry of `sr up` (cli/schema-registry, the
// Confluent REST API; test/support/schema-registry.ts runs it in this process and records the requests); payloads
// are encoded by @kafkajs/confluent-schema-registry, as a producer would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { TestSchemaRegistry } from '../../test/support/schema-registry';
import type { BindingConfig, ProcessorConfig } from '../config';
import type { Message } from '../message';
import {
  avroToJson,
  AvroPayloadDecoder,
  isUntyped,
  OriginalEncodings,
  PayloadCodecs,
  PayloadDecodeError,
  readWireFrame,
  saysAvro,
  SchemaRegistryClient,
  writeWireFrame,
} from '.';

const SCORE_SCHEMA = {
  type: 'record',
  name: 'Score',
  namespace: 'test.avro',
  fields: [
    { name: 'team', type: 'string' },
    { name: 'score', type: 'int' },
    { name: 'score_time', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'player', type: { type: 'record', name: 'Player', fields: [{ name: 'name', type: 'string' }, { name: 'tags', type: { type: 'array', items: 'string' } }] } },
    { name: 'nickname', type: ['null', 'string'], default: null },
    { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
    { name: 'raw', type: 'bytes' },
  ],
};

const score = {
  team: 'red',
  score: 42,
  score_time: 1_700_000_001_000,
  player: { name: 'Ann', tags: ['a', 'b'] },
  nickname: 'annie',
  level: 'HIGH',
  raw: Buffer.from([0, 0x41, 0xff]),
};

let fake: TestSchemaRegistry;
let producer: SchemaRegistry;
let scoreId: number;

before(async () => {
  fake = await TestSchemaRegistry.start();
  producer = new SchemaRegistry({ host: fake.url });
  ({ id: scoreId } = await producer.register({ type: SchemaType.AVRO, schema: JSON.stringify(SCORE_SCHEMA) }, { subject: 'scores-value' }));
});

after(async () => {
  await fake.stop();
});

function fetchesOf(id: number): number {
  return fake.requests.filter((r) => r === `GET /schemas/ids/${id}`).length;
}

function client(overrides: Partial<ConstructorParameters<typeof SchemaRegistryClient>[0]> = {}): SchemaRegistryClient {
  return new SchemaRegistryClient({ url: fake.url, initialBackoffMs: 10, maxBackoffMs: 20, requestTimeoutMs: 2000, ...overrides });
}

function avroMessage(payload: Buffer, headers: Record<string, string> = {}): Message {
  return { payload, headers, key: Buffer.from('k1') };
}

describe('wire format and content types', () => {
  it('reads and writes the Confluent frame: magic byte 0, 4-byte big-endian schema id, body', () => {
    const framed = writeWireFrame(258, Buffer.from('body'));
    assert.deepEqual([...framed.subarray(0, 5)], [0, 0, 0, 1, 2]);
    const frame = readWireFrame(framed);
    assert.equal(frame?.schemaId, 258);
    assert.equal(frame?.body.toString(), 'body');
    assert.equal(readWireFrame(Buffer.from([0, 0, 0, 1])), undefined, 'too short');
    assert.equal(readWireFrame(Buffer.from('{"a":1}')), undefined, 'JSON never starts with byte 0');
  });

  it('recognises Avro content types and untyped payloads', () => {
    for (const type of ['application/*+avro', 'avro/binary', 'avro/bytes', 'application/vnd.scores.v1+avro', 'Application/AVRO']) assert.ok(saysAvro(type), type);
    for (const type of [undefined, 'application/json', 'text/plain']) assert.ok(!saysAvro(type), String(type));
    for (const type of [undefined, '', 'application/octet-stream']) assert.ok(isUntyped(type), String(type));
    for (const type of ['application/json', 'text/plain', 'avro/binary']) assert.ok(!isUntyped(type), type);
  });

  it('renders Avro values as JSON: bytes as ISO-8859-1 code points, nested records, arrays, nulls', () => {
    assert.deepEqual(avroToJson({ a: Buffer.from([0, 0x41, 0xff]), b: [{ c: null }], d: undefined, e: 1.5 }), {
      a: '\u0000A\u00ff', b: [{ c: null }], d: null, e: 1.5,
    });
  });
});

describe('AvroPayloadDecoder', () => {
  it('decodes a framed payload to JSON the stages read, fetching the schema once, then synchronously', async () => {
    const registry = client();
    const decoder = new AvroPayloadDecoder(registry, new OriginalEncodings());
    const encoded = await producer.encode(scoreId, score);
    const before = fetchesOf(scoreId);
    const first = decoder.decode(avroMessage(encoded, { user: 'u1' }));
    assert.ok(first instanceof Promise, 'the first message of a schema waits for the registry');
    const decoded = await first;
    assert.deepEqual(JSON.parse(decoded.payload.toString()), { ...score, raw: '\u0000A\u00ff' });
    assert.deepEqual(decoded.headers, { user: 'u1', contentType: 'application/json' });
    assert.equal(decoded.key?.toString(), 'k1');
    const again = decoder.decode(avroMessage(await producer.encode(scoreId, { ...score, team: 'blue' })));
    assert.ok(!(again instanceof Promise), 'a known schema decodes without a promise');
    assert.equal((JSON.parse(again.payload.toString()) as { team: string }).team, 'blue');
    assert.equal(fetchesOf(scoreId) - before, 1, 'one registry request for the schema');
    assert.equal(registry.status().state, 'reachable');
    assert.equal(registry.status().schemasCached, 1);
  });

  it('concurrent messages of an unknown schema share one fetch', async () => {
    const decoder = new AvroPayloadDecoder(client(), new OriginalEncodings());
    const encoded = await producer.encode(scoreId, score);
    const before = fetchesOf(scoreId);
    const results = await Promise.all([1, 2, 3, 4].map(() => decoder.decode(avroMessage(encoded))));
    assert.equal(results.length, 4);
    assert.equal(fetchesOf(scoreId) - before, 1);
  });

  it('leaves other payloads alone: JSON, text, untyped bytes that are not a frame', () => {
    const decoder = new AvroPayloadDecoder(client(), new OriginalEncodings());
    for (const message of [
      avroMessage(Buffer.from('{"team":"red"}'), { contentType: 'application/json' }),
      avroMessage(Buffer.from([0, 0, 0, 0, 9, 1]), { contentType: 'text/plain' }),
      avroMessage(Buffer.from('hello')),
    ]) {
      assert.equal(decoder.decode(message), message);
    }
  });

  it('rejects what says Avro and is not: no frame, unknown schema id (no retry), corrupt body', async () => {
    const registry = client();
    const decoder = new AvroPayloadDecoder(registry, new OriginalEncodings());
    assert.throws(
      () => decoder.decode(avroMessage(Buffer.from('{"team":"red"}'), { contentType: 'avro/binary' })),
      (err: unknown) => err instanceof PayloadDecodeError && err.stage === 'decode' && /not in the Confluent wire format/.test(err.message),
    );
    const before = fetchesOf(4242);
    await assert.rejects(
      Promise.resolve(decoder.decode(avroMessage(writeWireFrame(4242, Buffer.from([2, 0x41]))))),
      (err: unknown) => err instanceof PayloadDecodeError && err.permanent && /schema id 4242 is not in the registry \(404\)/.test(err.message),
    );
    assert.equal(fetchesOf(4242) - before, 1, 'an unknown id is not retried');
    assert.equal(registry.status().state, 'reachable', 'a 404 is an answer');
    const encoded = await producer.encode(scoreId, score);
    await decoder.decode(avroMessage(encoded));
    const truncated = encoded.subarray(0, encoded.length - 4);
    assert.throws(() => decoder.decode(avroMessage(truncated)), (err: unknown) => err instanceof PayloadDecodeError && /does not decode with its writer schema \(id \d+\)/.test(err.message));
    assert.throws(() => decoder.decode(avroMessage(Buffer.concat([encoded, Buffer.from([7, 7])]))), /does not decode/, 'trailing bytes');
    assert.throws(() => decoder.decode(avroMessage(writeWireFrame(-3, Buffer.from([1])))), /invalid schema id -3/);
  });

  it('does not decode JSON Schema or Protobuf schemas', async () => {
    const { id } = await producer.register(
      { type: SchemaType.JSON, schema: JSON.stringify({ type: 'object', properties: { a: { type: 'number' } } }) },
      { subject: 'json-value' },
    );
    const decoder = new AvroPayloadDecoder(client(), new OriginalEncodings());
    await assert.rejects(
      Promise.resolve(decoder.decode(avroMessage(writeWireFrame(id, Buffer.from('{"a":1}'))))),
      /is not an Avro schema/,
    );
  });

  it('registry down: retried with backoff, then a non-permanent error; unreachable until it answers again', async () => {
    const { id } = await producer.register(
      { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Down', fields: [{ name: 'x', type: 'int' }] }) },
      { subject: 'down-value' },
    );
    const changes: string[] = [];
    const registry = client({ maxAttempts: 3, onStateChange: (s) => changes.push(s.state) });
    const decoder = new AvroPayloadDecoder(registry, new OriginalEncodings());
    const payload = writeWireFrame(id, Buffer.from([4]));
    await fake.stop();
    try {
      const started = Date.now();
      await assert.rejects(
        Promise.resolve(decoder.decode(avroMessage(payload))),
        (err: unknown) => err instanceof PayloadDecodeError && !err.permanent && /unreachable after 3 attempts/.test(err.message),
      );
      assert.ok(Date.now() - started >= 30, 'backed off between attempts (10 + 20 ms)');
      const status = registry.status();
      assert.equal(status.state, 'unreachable');
      assert.equal(status.fetches, 3);
      assert.equal(status.failedFetches, 3);
      assert.ok(status.lastError);
      assert.equal((await registry.probe(500)).state, 'unreachable');
    } finally {
      await fake.start();
    }
    assert.equal((await registry.probe(2000)).state, 'reachable');
    assert.deepEqual(JSON.parse((await decoder.decode(avroMessage(payload))).payload.toString()), { x: 2 });
    assert.deepEqual(changes, ['unreachable', 'reachable']);
  });

  it('credentials in the URL become basic auth and are never shown', async () => {
    const registry = new SchemaRegistryClient({ url: `http://svc:s%40cret@127.0.0.1:${fake.port}/` });
    assert.equal(registry.url, `http://127.0.0.1:${fake.port}`);
    await registry.schema(scoreId);
    assert.equal(fake.authorizations.at(-1), `Basic ${Buffer.from('svc:s@cret').toString('base64')}`);
    assert.ok(!JSON.stringify(registry.status()).includes('cret'));
    assert.throws(() => new SchemaRegistryClient({ url: 'ftp://u:secret@registry:21' }), (err: Error) => /must be an http:\/\/ or https:\/\/ URL/.test(err.message) && !err.message.includes('secret'));
    assert.throws(() => new SchemaRegistryClient({ url: 'registry:8081' }), /http/);
  });
});

describe('OriginalEncodings', () => {
  it('gives an unchanged decoded payload its original bytes and content type back, not a changed one', async () => {
    const originals = new OriginalEncodings();
    const decoder = new AvroPayloadDecoder(client(), originals);
    const encoded = await producer.encode(scoreId, score);
    const untyped = await decoder.decode(avroMessage(encoded, { h: '1' }));
    const passed = originals.restore({ ...untyped, headers: { ...untyped.headers, added: 'yes' } });
    assert.equal(passed.payload, encoded);
    assert.deepEqual(passed.headers, { h: '1', added: 'yes', contentType: 'avro/binary' });
    assert.equal(passed.key?.toString(), 'k1');
    const typed = await decoder.decode(avroMessage(encoded, { contentType: 'application/vnd.scores.v1+avro' }));
    assert.equal(originals.restore(typed).headers.contentType, 'application/vnd.scores.v1+avro');
    const changed: Message = { payload: Buffer.from(untyped.payload), headers: untyped.headers };
    assert.equal(originals.restore(changed), changed, 'a new payload (even with the same bytes) is the stage\'s output');
  });
});

describe('PayloadCodecs', () => {
  const input = (stream: string, schemaRegistryUri?: string): BindingConfig => ({
    stream, protocol: 'kafka', destination: stream, server: { url: '127.0.0.1:9092' }, ...(schemaRegistryUri ? { schemaRegistryUri } : {}),
  });
  const config = (inputs: BindingConfig[], attributes: Record<string, string> = {}): ProcessorConfig => ({
    name: 'p', namespace: 'default', group: 'p', instanceIndex: 0, instanceCount: 1, inputs, outputs: [input('out')], attributes, http: { port: 0 },
  });

  it('decodes the inputs that have a registry (the attribute overrides every Stream\'s)', async () => {
    const plain = new PayloadCodecs(config([input('a'), input('b', fake.url)]));
    assert.ok(plain.active);
    const encoded = await producer.encode(scoreId, score);
    const untouched = plain.decode(input('a'), avroMessage(encoded));
    assert.ok(!(untouched instanceof Promise));
    assert.equal(untouched.payload, encoded, 'input a has no registry');
    const decoded = await plain.decode(input('b', fake.url), avroMessage(encoded));
    assert.equal((JSON.parse(decoded.payload.toString()) as { team: string }).team, 'red');
    assert.equal(plain.restore(decoded).payload, encoded);
    assert.deepEqual(plain.describe().map((r) => [r.url, r.inputs]), [[fake.url, ['b']]]);

    const overridden = new PayloadCodecs(config([input('a'), input('b', 'http://elsewhere:8081')], { 'srp.input.schemaRegistryUri': fake.url }));
    assert.deepEqual(overridden.describe().map((r) => [r.url, r.inputs]), [[fake.url, ['a', 'b']]]);
    assert.equal(new PayloadCodecs(config([input('a')])).active, false);
  });

  it('rejects a registry URL that is not http(s), naming the setting', () => {
    assert.throws(() => new PayloadCodecs(config([input('a')], { 'srp.input.schemaRegistryUri': 'kafka://x:1' })), /^Error: srp\.input\.schemaRegistryUri: .*http:\/\//);
    assert.throws(() => new PayloadCodecs(config([input('a'), input('b', 'registry:8081')])), /^Error: inputs\[1\]\.schemaRegistryUri: /);
  });

  it('readiness names an unreachable registry', async () => {
    const codecs = new PayloadCodecs(config([input('a', fake.url)]));
    assert.deepEqual(await codecs.readiness(1000), []);
    const gone = new PayloadCodecs(config([input('a', 'http://127.0.0.1:1')]));
    const reasons = await gone.readiness(1000);
    assert.equal(reasons.length, 1);
    assert.match(reasons[0], /^schema registry http:\/\/127\.0\.0\.1:1: unreachable \(.+\)$/);
    assert.equal(gone.describe()[0].state, 'unreachable');
  });
});
