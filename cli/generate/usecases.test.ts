// The four use cases' data generators, as their manifests configure them, writing to a real Kafka-protocol cluster
// (hack/bin/kafka-mock) with their schemas in the development registry; a consumer reads every topic back and
// decodes the records through the registry (@kafkajs/confluent-schema-registry, as a Confluent consumer would).
// Also the RabbitMQ path (the tutorials' JSON generator into an exchange of the machine's RabbitMQ).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { startKafka, type KafkaHandle } from '../../test/support/kafka';
import { rabbitUrl, uniqueName } from '../../test/support/rabbitmq';
import { TestSchemaRegistry } from '../../test/support/schema-registry';
import { readGeneratorConfig, type GeneratorConfig } from './config';
import { encoderFor } from './avro';
import { KafkaSink, RabbitSink } from './producer';
import { GeneratorRun, type StreamTarget } from './run';
import { CREDIT_CARD_NUMBERS } from './lists';

const SAMPLES = resolve(__dirname, '..', '..', '..', '..', 'shared', 'sr-samples');
const sample = (prefix: string): GeneratorConfig => readGeneratorConfig(join(SAMPLES, readdirSync(SAMPLES).find((f) => f === `${prefix}__data-generator.yaml`)!));

interface Read { topic: string; key: string; value: Record<string, unknown>; timestamp: number; raw: Buffer }

let kafka: KafkaHandle;
let registry: TestSchemaRegistry;
const read: Read[] = [];
const TOPICS = ['songs', 'playevents', 'user', 'click', 'iot-monitoring', 'card-authorizations'];

/** Runs a sample's generator for `ms` against the cluster and the registry. */
async function generate(config: GeneratorConfig, ms: number, seed: number): Promise<GeneratorRun> {
  const sink = new KafkaSink(kafka.bootstrap);
  try {
    const targets: StreamTarget[] = [];
    for (const s of config.streams) {
      const { encoder } = await encoderFor(s.valueFormat, s.schema, s.destination, registry.url);
      targets.push({ stream: s, destination: s.destination, sink, encoder });
    }
    const run = new GeneratorRun(targets, { seed, stopAfterMs: ms });
    await run.run();
    return run;
  } finally {
    await sink.close();
  }
}

before(async () => {
  kafka = await startKafka();
  registry = await TestSchemaRegistry.start();
  for (const t of TOPICS) await kafka.createTopic(t, 1);
  // The four use cases at once, as long as the slowest needs: anomaly detection's second stream starts after 1 s and
  // sends 50 records 100 ms apart.
  await Promise.all([
    generate(sample('top-k-songs'), 3000, 1),
    generate(sample('clickstream'), 3000, 2),
    generate(sample('iot-monitoring'), 3000, 3),
    generate(sample('anomaly-detection'), 6500, 4),
  ]);
  const decoder = new SchemaRegistry({ host: registry.url });
  const client = new Kafka({ clientId: 'generate-test', brokers: kafka.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  const expected = new Map<string, number>();
  for (const t of TOPICS) expected.set(t, Number((await admin.fetchTopicOffsets(t))[0].high));
  await admin.disconnect();
  const consumer = client.consumer({ groupId: uniqueName('generate'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: TOPICS, fromBeginning: true });
  const counts = new Map<string, number>();
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => { done = r; });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const raw = message.value!;
      const value = { ...((await decoder.decode(raw)) as Record<string, unknown>) };
      read.push({ topic, key: message.key?.toString() ?? '', value, timestamp: Number(message.timestamp), raw });
      counts.set(topic, (counts.get(topic) ?? 0) + 1);
      if (TOPICS.every((t) => (counts.get(t) ?? 0) >= expected.get(t)!)) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => { timer = setTimeout(r, 30_000); })]);
  clearTimeout(timer);
  await consumer.disconnect();
});

after(async () => {
  await registry?.stop();
  await kafka?.stop();
});

const of = (topic: string): Array<Record<string, unknown>> => read.filter((r) => r.topic === topic).map((r) => r.value);

describe('use-case generators against Kafka, decoded through the registry', () => {
  it('registers each schema under <topic>-value and writes the Confluent wire format', async () => {
    const subjects = (await (await fetch(`${registry.url}/subjects`)).json()) as string[];
    assert.deepEqual(subjects.sort(), TOPICS.map((t) => `${t}-value`).sort());
    for (const r of read) assert.equal(r.raw[0], 0, 'magic byte');
    const songs = (await (await fetch(`${registry.url}/subjects/songs-value/versions/latest`)).json()) as { schema: string };
    assert.equal((JSON.parse(songs.schema) as { name: string }).name, 'Song');
  });

  it('top-k-songs: songs, and play events of those songs', () => {
    const songs = of('songs');
    assert.ok(songs.length >= 50, `${songs.length} songs`);
    for (const s of songs) {
      assert.deepEqual(Object.keys(s), ['song_id', 'album', 'artist', 'name', 'genre']);
      assert.ok(Number.isInteger(s.song_id) && (s.song_id as number) >= 1 && (s.song_id as number) < 1000);
      assert.match(String(s.album), /^\S+ \S+$/);
    }
    // unique_on=song_id: one record per id.
    const byId = new Map(songs.map((s) => [s.song_id, JSON.stringify(s)]));
    for (const s of songs) assert.equal(JSON.stringify(s), byId.get(s.song_id));
    const plays = of('playevents');
    assert.ok(plays.length >= 5, `${plays.length} play events`);
    for (const p of plays) {
      assert.ok(byId.has(p.song_id) || p.song_id === 666, `play of a known song: ${String(p.song_id)}`);
      assert.ok((p.duration as number) >= 30000 && (p.duration as number) < 1_000_000);
    }
  });

  it('clickstream: users, and clicks by those users', () => {
    const users = of('user');
    assert.ok(users.length >= 10, `${users.length} users`);
    for (const u of users) {
      assert.match(String(u.user_id), /^\d{3}-\d{2}-\d{4}$/);
      assert.ok(['BRONZE', 'SILVER', 'GOLD', 'PLATINUM'].includes(String(u.level)));
    }
    const ids = new Set(users.map((u) => u.user_id));
    const clicks = of('click');
    assert.ok(clicks.length >= 3, `${clicks.length} clicks`);
    for (const c of clicks) {
      assert.ok(ids.has(c.user_id), `a click of a known user: ${String(c.user_id)}`);
      assert.ok(['mobile', 'computer', 'tablet'].includes(String(c.device)));
      assert.ok(Number.isInteger(c.page));
    }
  });

  it('iot-monitoring: log records with current timestamps', () => {
    const logs = of('iot-monitoring');
    assert.ok(logs.length >= 50, `${logs.length} records`);
    for (const l of logs) {
      assert.match(String(l.error_code), /^C0\d\d_[A-Z_]+$/);
      assert.ok(Math.abs(Date.now() - (l.ts as number)) < 120_000, 'ts is the wall clock');
      assert.ok(['ERROR', 'DEBUG', 'INFO', 'WARN'].includes(String(l.type)));
      assert.match(String(l.version), /^\d\.\d{1,2}\.\d{1,2}( |-SNAPSHOT)$/);
      assert.ok(String(l.description).length > 0 && String(l.application).length > 0);
    }
  });

  it('anomaly detection: few card numbers, so some card is seen more than 5 times in a 5-second window', () => {
    const attempts = read.filter((r) => r.topic === 'card-authorizations');
    assert.ok(attempts.length >= 40, `${attempts.length} attempts`);
    const cards = new Set([...CREDIT_CARD_NUMBERS, '3529-1841-8961-4637']);
    for (const a of attempts) assert.ok(cards.has(String(a.value.card_number)), String(a.value.card_number));
    // The pipeline's query: TUMBLE 5 s, GROUP BY card_number, HAVING COUNT(*) > 5 (by the record's time).
    const windows = new Map<string, number>();
    for (const a of attempts) {
      const key = `${Math.floor(a.timestamp / 5000)}/${String(a.value.card_number)}`;
      windows.set(key, (windows.get(key) ?? 0) + 1);
    }
    assert.ok([...windows.values()].some((n) => n > 5), `counts per window and card: ${[...windows.values()].join(',')}`);
  });
});

describe('RabbitMQ Streams', () => {
  it("the tutorials' JSON generator publishes into the exchange with the destination as routing key", async () => {
    const exchange = uniqueName('gen-data-in');
    const connection = await amqp.connect(rabbitUrl());
    try {
      const channel = await connection.createChannel();
      await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: true });
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, exchange, exchange);
      const config = sample('tutorials');
      const sink = new RabbitSink(rabbitUrl());
      const stream = { ...config.streams[0], batch: { ...config.streams[0].batch, messageDelayMs: 5 } };
      const { encoder } = await encoderFor('JSON', stream.schema, exchange, undefined);
      const run = new GeneratorRun([{ stream, destination: exchange, sink, encoder }], { seed: 9, stopAfterMs: 400 });
      await run.run();
      await sink.close();
      const got: Array<Record<string, unknown>> = [];
      for (let msg = await channel.get(queue, { noAck: true }); msg; msg = await channel.get(queue, { noAck: true })) {
        assert.equal(msg.properties.contentType, 'application/json');
        got.push(JSON.parse(msg.content.toString()) as Record<string, unknown>);
      }
      assert.equal(got.length, run.stats[0].sent);
      assert.ok(got.length >= 10, `${got.length} users`);
      for (const u of got) {
        assert.deepEqual(Object.keys(u), ['id', 'score_time', 'fullName', 'email', 'score', 'team']);
        assert.ok(['red', 'blue', 'green'].includes(String(u.team)));
        assert.ok((u.score as number) >= 0 && (u.score as number) < 100);
      }
    } finally {
      await connection.close();
    }
  });
});
