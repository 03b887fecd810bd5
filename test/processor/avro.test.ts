// End to end through the real `sr processor` process and the Kafka-protocol cluster: Avro payloads in the Confluent
// wire format, encoded by @kafkajs/confluent-schema-registry as a producer would, decoded through a schema registry.
//  1. a SpEL transform reads Avro fields and a 5 s tumbling window runs on an Avro field's event time (the input
//     Stream's schemaRegistryUri and time attribute);
//  2. stateless (srp.input.schemaRegistryUri): a filter, srp.output.headers and a keyExpression read Avro fields,
//     unchanged payloads leave as the same Avro bytes; corrupt, unknown-schema and unframed "avro" messages land in
//     the dead-letter topic with the error in headers; a registry outage is reported on /readyz and /debug/state,
//     known schemas keep decoding, a new schema is dead-lettered after retries, and decoding resumes when it is back;
//  3. the controllers put a Stream's registry into the processor configuration.
// The registry is the development registry of `sr up` (cli/schema-registry, the Confluent REST API), run in this
// process by test/support/schema-registry.ts; everything else (Kafka protocol, processor process, library) is real.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { ProcessorConfig } from '../../processor/config';
import { writeWireFrame } from '../../processor/codec';
import { schemaRegistryOf } from '../../controllers/workload';
import type { Stream } from '../../crds/types';
import { uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { KafkaCollector, kafkaClientFor, useProcessorTestResources, waitReady, type ReceivedKafkaMessage } from '../support/processor-harness';
import { sampleWorkloads } from '../support/controllers-samples';
import { TestSchemaRegistry } from '../support/schema-registry';

const resources = useProcessorTestResources();
const { closers } = resources;
const id = uniqueName('avro');
let registry: TestSchemaRegistry;
let producer: SchemaRegistry;
let scoreId: number;

const SCORE_SCHEMA = {
  type: 'record',
  name: 'Score',
  namespace: 'test.avro',
  fields: [
    { name: 'team', type: 'string' },
    { name: 'score', type: 'int' },
    { name: 'score_time', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'player', type: { type: 'record', name: 'Player', fields: [{ name: 'name', type: 'string' }] } },
  ],
};

interface Score {
  team: string;
  score: number;
  score_time: number;
  player: { name: string };
}

before(async () => {
  registry = await TestSchemaRegistry.start();
  producer = new SchemaRegistry({ host: registry.url });
  ({ id: scoreId } = await producer.register({ type: SchemaType.AVRO, schema: JSON.stringify(SCORE_SCHEMA) }, { subject: 'scores-value' }));
});

after(async () => {
  await registry?.stop();
});

async function produce(topic: string, messages: Array<{ value: Buffer; headers?: Record<string, string> }>): Promise<void> {
  const kafkaProducer = kafkaClientFor(resources.kafka.bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await kafkaProducer.connect();
  try {
    await kafkaProducer.send({ topic, acks: -1, messages: messages.map((m) => ({ value: m.value, ...(m.headers ? { headers: m.headers } : {}), partition: 0 })) });
  } finally {
    await kafkaProducer.disconnect();
  }
}

function json(record: ReceivedKafkaMessage): unknown {
  return JSON.parse(record.value.toString('utf8'));
}

test('SpEL over Avro fields, tumbling window on an Avro field\'s event time', async () => {
  const input = `${id}-scores`;
  const output = `${id}-windows`;
  await resources.kafka.createTopic(input, 1);
  await resources.kafka.createTopic(output, 1);
  const config: ProcessorConfig = {
    name: 'avro-window', namespace: 'test', group: `${id}-win`, instanceIndex: 0, instanceCount: 1,
    inputs: [{
      stream: 'scores', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap },
      schemaRegistryUri: registry.url, // the Stream's dataSchemaContext.schemaRegistryUri
      timeAttribute: { field: 'score_time', watermark: "`score_time` - INTERVAL '1' SECOND" },
    }],
    outputs: [{ stream: 'windows', protocol: 'kafka', destination: output, server: { url: resources.kafka.bootstrap } }],
    attributes: {
      'srp.spel.expression': '{team: payload.team, points: payload.score * 10, player: payload.player.name, score_time: payload.score_time}',
      'srp.window': '5s',
      'srp.window.idle.timeout': '60s',
    },
    http: { port: 0 },
  };
  const collector = await KafkaCollector.start(resources.kafka.bootstrap, output, `${output}-collector`);
  closers.push(collector);
  const proc = await resources.startReady(config);

  const t0 = 1_700_000_000_000; // a multiple of 5000
  const event = async (team: string, score: number, offset: number, name: string): Promise<{ value: Buffer }> => ({
    value: await producer.encode(scoreId, { team, score, score_time: t0 + offset, player: { name } } satisfies Score),
  });
  await produce(input, [
    await event('red', 1, 0, 'Ann'), await event('blue', 2, 1000, 'Bob'), await event('red', 3, 4000, 'Ann'),
    await event('green', 4, 7000, 'Cid'), // watermark t0+5999: the window [t0, t0+5000) closes
    await event('blue', 5, 12_000, 'Bob'), // watermark t0+10999: the window [t0+5000, t0+10000) closes
  ]);
  await waitFor('two windows', () => collector.messages.length >= 2, 30_000, 100);
  const [first, second] = collector.messages;
  assert.equal(first.headers.windowStartTime, String(t0));
  assert.equal(first.headers.windowEndTime, String(t0 + 5000));
  assert.equal(first.headers.contentType, 'application/json');
  assert.deepEqual(json(first), [
    { team: 'red', points: 10, player: 'Ann', score_time: t0 },
    { team: 'blue', points: 20, player: 'Bob', score_time: t0 + 1000 },
    { team: 'red', points: 30, player: 'Ann', score_time: t0 + 4000 },
  ]);
  assert.equal(second.headers.windowStartTime, String(t0 + 5000));
  assert.deepEqual(json(second), [{ team: 'green', points: 40, player: 'Cid', score_time: t0 + 7000 }]);
  assert.equal(await proc.stop(), 0);
});

test('stateless: filter, output headers and keyExpression read Avro; unchanged Avro passes through; bad Avro is dead-lettered; registry outage', async () => {
  const input = `${id}-events`;
  const output = `${id}-teams`;
  const dlq = `${id}-dlq`;
  await resources.kafka.createTopic(input, 1);
  await resources.kafka.createTopic(output, 3);
  await resources.kafka.createTopic(dlq, 1);
  const config: ProcessorConfig = {
    name: 'avro-stateless', namespace: 'test', group: `${id}-sl`, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'events', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap } }],
    outputs: [{
      stream: 'teams', protocol: 'kafka', destination: output, server: { url: resources.kafka.bootstrap },
      partitioning: { keyExpression: 'payload.team', partitionCount: 3 },
    }],
    deadLetter: { stream: 'dlq', protocol: 'kafka', destination: dlq, server: { url: resources.kafka.bootstrap } },
    attributes: {
      'srp.input.schemaRegistryUri': registry.url,
      'srp.input.timestampExpression': 'payload.score_time',
      'srp.lateEventMode': 'UPSERT',
      'srp.filter.expression': 'score >= 10',
      'srp.output.headers': 'team=payload.team;player=payload.player.name',
    },
    http: { port: 0 },
  };
  const out = await KafkaCollector.start(resources.kafka.bootstrap, output, `${output}-collector`);
  const dead = await KafkaCollector.start(resources.kafka.bootstrap, dlq, `${dlq}-collector`);
  closers.push(out, dead);
  const proc = await resources.startReady(config);

  const t0 = 1_700_000_100_000;
  const red = await producer.encode(scoreId, { team: 'red', score: 50, score_time: t0, player: { name: 'Ann' } } satisfies Score);
  const blue = await producer.encode(scoreId, { team: 'blue', score: 70, score_time: t0 + 1, player: { name: 'Bob' } } satisfies Score);
  const low = await producer.encode(scoreId, { team: 'red', score: 5, score_time: t0 + 2, player: { name: 'Low' } } satisfies Score);
  const green = Buffer.from(JSON.stringify({ team: 'green', score: 90, score_time: t0 + 3, player: { name: 'Cid' } }));
  const truncated = red.subarray(0, red.length - 3);
  const unknownSchema = writeWireFrame(987_654, Buffer.from([6, 0x72, 0x65, 0x64]));
  const unframed = Buffer.from('{"team":"red"}');
  await produce(input, [
    { value: red }, // Confluent style: no content type, recognised by its frame
    { value: blue, headers: { contentType: 'application/vnd.scores.v1+avro' } },
    { value: low }, // filtered: score 5
    { value: green, headers: { contentType: 'application/json' } }, // JSON on the same input is still JSON
    { value: truncated, headers: { n: 'truncated' } },
    { value: unknownSchema, headers: { n: 'unknown' } },
    { value: unframed, headers: { n: 'unframed', contentType: 'avro/binary' } },
  ]);
  await waitFor('3 results and 3 dead letters', () => out.messages.length >= 3 && dead.messages.length >= 3, 30_000, 100);

  const byTeam = new Map(out.messages.map((r) => [r.headers.team, r]));
  const redOut = byTeam.get('red')!;
  assert.ok(redOut.value.equals(red), 'the Avro bytes pass through unchanged');
  assert.equal(redOut.headers.contentType, 'avro/binary');
  assert.equal(redOut.headers.player, 'Ann');
  assert.equal(redOut.headers.eventtime, String(t0), 'event time read from the Avro field');
  assert.equal(redOut.partition, 0, 'Java "red".hashCode() % 3');
  const blueOut = byTeam.get('blue')!;
  assert.ok(blueOut.value.equals(blue));
  assert.equal(blueOut.headers.contentType, 'application/vnd.scores.v1+avro', 'the original content type is kept');
  assert.equal(blueOut.headers.player, 'Bob');
  assert.equal(blueOut.partition, 1);
  const greenOut = byTeam.get('green')!;
  assert.deepEqual(json(greenOut), { team: 'green', score: 90, score_time: t0 + 3, player: { name: 'Cid' } });
  assert.equal(greenOut.headers.contentType, 'application/json');
  assert.equal(greenOut.partition, 1);

  const letter = (n: string): ReceivedKafkaMessage => dead.messages.find((r) => r.headers.n === n)!;
  assert.ok(letter('truncated').value.equals(truncated), 'the dead letter carries the original bytes');
  for (const n of ['truncated', 'unknown', 'unframed']) {
    assert.equal(letter(n).headers['x-exception-stage'], 'decode', n);
    assert.equal(letter(n).headers['x-original-destination'], input, n);
  }
  assert.match(letter('truncated').headers['x-exception-message'], new RegExp(`does not decode with its writer schema \\(id ${scoreId}\\)`));
  assert.match(letter('unknown').headers['x-exception-message'], /schema id 987654 is not in the registry \(404\)/);
  assert.match(letter('unframed').headers['x-exception-message'], /not in the Confluent wire format/);
  assert.ok(letter('unframed').value.equals(unframed));

  const state = (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as { schemaRegistries: Array<{ url: string; state: string; inputs: string[]; schemasCached: number }> };
  assert.deepEqual(state.schemaRegistries.map((r) => [r.url, r.state, r.inputs, r.schemasCached]), [[registry.url, 'reachable', ['events'], 1]]);

  // Registry outage: a schema the processor has not seen yet is registered, then the registry goes away.
  const { id: badgeId } = await producer.register(
    { type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'Badge', namespace: 'test.avro', fields: [{ name: 'team', type: 'string' }, { name: 'score', type: 'int' }, { name: 'score_time', type: 'long' }, { name: 'player', type: { type: 'record', name: 'Holder', fields: [{ name: 'name', type: 'string' }] } }] }) },
    { subject: 'badges-value' },
  );
  const badge = (team: string, name: string): Promise<Buffer> => producer.encode(badgeId, { team, score: 99, score_time: t0 + 20, player: { name } });
  const outage1 = await badge('blue', 'Outage');
  const after1 = await badge('red', 'Back');
  await registry.stop();
  try {
    await waitFor('/readyz to report the registry', async () => {
      const res = await fetch(`${proc.debugUrl}/readyz`);
      return res.status === 503 && (await res.text()).includes(`not ready: schema registry ${registry.url}: unreachable`);
    }, 20_000, 200);
    const down = (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as { schemaRegistries: Array<{ state: string; lastError?: string }> };
    assert.equal(down.schemaRegistries[0].state, 'unreachable');
    assert.ok(down.schemaRegistries[0].lastError);
    const cached = await producer.encode(scoreId, { team: 'red', score: 11, score_time: t0 + 10, player: { name: 'Cached' } } satisfies Score);
    await produce(input, [{ value: cached }, { value: outage1, headers: { n: 'outage' } }]);
    await waitFor('the known schema still decodes; the new one is dead-lettered', () => out.messages.some((r) => r.headers.player === 'Cached') && dead.messages.some((r) => r.headers.n === 'outage'), 30_000, 100);
    assert.match(letter('outage').headers['x-exception-message'], /schema registry .* unreachable after 3 attempts/);
    assert.ok(letter('outage').value.equals(outage1));
  } finally {
    await registry.start();
  }
  await waitReady(proc.debugUrl, 20_000);
  await produce(input, [{ value: after1 }]);
  await waitFor('decoding resumes', () => out.messages.some((r) => r.headers.player === 'Back'), 30_000, 100);
  const back = out.messages.find((r) => r.headers.player === 'Back')!;
  assert.ok(back.value.equals(after1));
  assert.equal(back.headers.team, 'red');
  assert.equal(out.messages.length, 5, 'nothing else was produced (the filtered event included)');
  assert.equal(dead.messages.length, 4);
  assert.equal(await proc.stop(), 0);
});

test('the controllers pass a Stream\'s registry to the processor configuration', () => {
  const sample = sampleWorkloads({ credentialsInConfig: true, httpPort: 0 }).find((s) => s.file === 'tests__streaming-pipeline-srp.yaml');
  assert.ok(sample, 'the original sample with a schemaRegistryUri');
  assert.equal(sample.workload.configs[0].inputs[0].schemaRegistryUri, 'http://s-registry.streaming-runtime.svc.cluster.local:8081');
  const stream = (dataSchemaContext: Stream['spec']['dataSchemaContext']): Stream => ({
    apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Stream', metadata: { name: 's' }, spec: { name: 's', protocol: 'kafka', dataSchemaContext },
  });
  assert.equal(schemaRegistryOf(stream({ inline: { type: 'avro-confluent', schema: 'http://registry:8081/subjects/songs-value/versions/latest' } })), 'http://registry:8081');
  assert.equal(schemaRegistryOf(stream({ inline: { type: 'avro', schema: '{"type":"record","name":"x","fields":[]}' } })), undefined);
  assert.equal(schemaRegistryOf(stream({ schemaless: 'application/json' })), undefined);
});
