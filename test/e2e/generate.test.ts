// `sr generate` end to end on a real `sr up` (a child process: etcd, API server, controllers, dev Kafka, development
// schema registry): the top-k-songs sample's Streams are applied verbatim — their inline avro-confluent schemas name
// an in-cluster registry, served by sr up's own — then its data-generator manifest runs as it is; what lands in the
// Streams' topics decodes through the registry. Run twice with one seed, the records are the same. The original's
// in-cluster ClusterStream addresses (tutorial 2.1) are served by the local brokers, and the conditions say so.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { Kafka, logLevel } from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { SR_ENTRY, useSrUp } from '../support/controllers-up';
import { uniqueName } from '../support/rabbitmq';

const run = promisify(execFile);
const SAMPLES = resolve(__dirname, '..', '..', '..', '..', 'shared', 'sr-samples');
const PIPELINE = join(SAMPLES, 'top-k-songs__streaming-pipeline-inline-avro-confluent-schema.yaml');
const GENERATOR = join(SAMPLES, 'top-k-songs__data-generator.yaml');
const sr = useSrUp();

/** The documents of a sample of the given kinds, as they are. */
function documents(file: string, kinds: string[]): string {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as { kind?: string })
    .filter((d) => d && kinds.includes(d.kind ?? '')).map((d) => stringify(d)).join('---\n');
}

interface Condition { type: string; status: string; message?: string }

/** Every record of `topic` from `from` (an offset) to its current end, decoded through the registry. */
async function readTopic(topic: string, from: number, registryUrl: string): Promise<Array<{ key: string; value: Record<string, unknown> }>> {
  const kafka = new Kafka({ clientId: 'generate-e2e', brokers: sr.up.kafkaBootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const end = Number((await admin.fetchTopicOffsets(topic))[0].high);
  await admin.disconnect();
  const decoder = new SchemaRegistry({ host: registryUrl });
  const out: Array<{ key: string; value: Record<string, unknown> }> = [];
  const consumer = kafka.consumer({ groupId: uniqueName('generate-e2e'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => { done = r; });
  if (end <= from) done();
  await consumer.run({
    eachMessage: async ({ message }) => {
      const offset = Number(message.offset);
      if (offset >= from && offset < end) out.push({ key: message.key?.toString() ?? '', value: { ...((await decoder.decode(message.value!)) as Record<string, unknown>) } });
      if (offset >= end - 1) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise((r) => { timer = setTimeout(r, 30_000); })]);
  clearTimeout(timer);
  await consumer.disconnect();
  return out;
}

async function endOffset(topic: string): Promise<number> {
  const kafka = new Kafka({ clientId: 'generate-e2e', brokers: sr.up.kafkaBootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try { return Number((await admin.fetchTopicOffsets(topic))[0].high); } finally { await admin.disconnect(); }
}

describe('sr generate on sr up', () => {
  it('prints the development registry with the other addresses', () => {
    assert.match(sr.up.output(), /schema registry: development registry/);
    assert.match(sr.up.output(), /Schema registry: http:\/\/127\.0\.0\.1:\d+/);
  });

  it("writes top-k-songs' records to its Streams' topics, Avro through the registry; one seed, the same records", async () => {
    const { up } = sr;
    await up.apply(documents(PIPELINE, ['Stream']));
    await up.waitReady('srs', 'kafka-stream-songs');
    await up.waitReady('srs', 'kafka-stream-playevents');
    const stream = await up.getJson<{ status: { conditions: Condition[] } }>('srs/kafka-stream-songs');
    const registryUrl = (JSON.parse(readFileSync(join(up.dir, 'run', 'schema-registry.json'), 'utf8')) as { url: string }).url;
    assert.match(stream.status.conditions.find((c) => c.type === 'Ready')?.message ?? '',
      new RegExp(`in-cluster address http://s-registry\\.streaming-runtime\\.svc\\.cluster\\.local:8081 served by the local schema registry at ${registryUrl.replace(/\./g, '\\.')}`));

    const generate = async (): Promise<string> => {
      const { stderr } = await run(process.execPath, [SR_ENTRY, 'generate', '-f', GENERATOR, '--dir', up.dir, '--seed', '7', '--duration', '3s'], { timeout: 60_000 });
      return stderr;
    };
    const songsFrom = await endOffset('songs');
    const playsFrom = await endOffset('playevents');
    const first = await generate();
    assert.match(first, /stream-songs → Stream default\/kafka-stream-songs \(Kafka [^)]+, topic songs\), AVRO \(subject songs-value, schema id \d+/);
    assert.match(first, /stream-playevents → Stream default\/kafka-stream-playevents .*topic playevents\), AVRO \(subject playevents-value/);
    assert.match(first, /done: \[\d+\.\ds\] stream-songs → songs: 100 sent/);

    const songs = await readTopic('songs', songsFrom, registryUrl);
    assert.equal(songs.length, 100);
    assert.deepEqual(songs.map((s) => s.key), Array.from({ length: 100 }, (_, i) => String(i + 1)));
    for (const { value } of songs) {
      assert.deepEqual(Object.keys(value), ['song_id', 'album', 'artist', 'name', 'genre']);
      assert.ok((value.song_id as number) >= 1 && (value.song_id as number) < 1000);
    }
    const plays = await readTopic('playevents', playsFrom, registryUrl);
    assert.ok(plays.length >= 5, `${plays.length} play events`);
    const ids = new Set(songs.map((s) => s.value.song_id));
    for (const { value } of plays) assert.ok(ids.has(value.song_id) || value.song_id === 666, `a play of a generated song: ${String(value.song_id)}`);

    // The Stream's schema URL, as the processors read it, resolves on the local registry.
    const latest = (await (await fetch(`${registryUrl}/subjects/songs-value/versions/latest`)).json()) as { schema: string };
    assert.equal((JSON.parse(latest.schema) as { name: string }).name, 'Song');

    // The same seed again: the same songs (the one stream that depends on nothing but its seed).
    const again = await endOffset('songs');
    await generate();
    const second = await readTopic('songs', again, registryUrl);
    assert.deepEqual(second.map((s) => [s.key, s.value]), songs.map((s) => [s.key, s.value]));
  });

  it('--kubeconfig and --schema-registry-url instead of --dir; a namespace without the Streams is a clear error', async () => {
    const { up } = sr;
    const registryUrl = (JSON.parse(readFileSync(join(up.dir, 'run', 'schema-registry.json'), 'utf8')) as { url: string }).url;
    const from = await endOffset('playevents');
    const { stderr } = await run(process.execPath, [SR_ENTRY, 'generate', '-f', GENERATOR, '--kubeconfig', up.kubeconfig, '--dir', '/nonexistent',
      '--schema-registry-url', registryUrl, '--duration', '1500ms', '--quiet'], { timeout: 60_000 });
    assert.match(stderr, /stream-playevents → Stream default\/kafka-stream-playevents/);
    assert.ok((await endOffset('playevents')) > from, 'play events written');
    await assert.rejects(
      run(process.execPath, [SR_ENTRY, 'generate', '-f', GENERATOR, '--dir', up.dir, '-n', 'nowhere', '--wait', '1s'], { timeout: 60_000 }),
      (e: Error & { stderr?: string }) => /no Stream in namespace "nowhere" has spec\.name "songs", "playevents" — apply the pipeline first/.test(e.stderr ?? ''),
    );
  });

  it("serves tutorial 2.1's in-cluster ClusterStream addresses with the local Kafka and RabbitMQ", async () => {
    const { up } = sr;
    await up.apply(documents(join(SAMPLES, 'tutorials__2.1-multibiner-bridge-production-mode.yaml'), ['ClusterStream']));
    await up.waitReady('srcs', 'kafka-cluster-stream');
    await up.waitReady('srcs', 'rabbitmq-cluster-stream');
    const kafka = await up.getJson<{ status: { conditions: Condition[]; storageAddress: { server: { production: { url: string } } } } }>('srcs/kafka-cluster-stream');
    assert.match(kafka.status.conditions[0].message ?? '', /in-cluster address kafka\.default\.svc\.cluster\.local:9092 served by the local Kafka at 127\.0\.0\.1:\d+/);
    assert.equal(kafka.status.storageAddress.server.production.url, up.kafkaBootstrap);
    const rabbit = await up.getJson<{ status: { conditions: Condition[] } }>('srcs/rabbitmq-cluster-stream');
    assert.match(rabbit.status.conditions[0].message ?? '', /in-cluster address rabbitmq\.default\.svc\.cluster\.local:5672 served by the local RabbitMQ at amqp:\/\/127\.0\.0\.1:5672/);
    assert.doesNotMatch(rabbit.status.conditions[0].message ?? '', /guest/);
  });
});
