// End to end: the real `sr up` (etcd, API server, controllers with the local runtime, dev Kafka), the original
// tutorials applied with kubectl, data in the tutorials' generator format, assertions on what comes out.
// One `sr up` is shared; everything is deleted between tutorials. Fault cases (kill -9 a processor, restart
// the controllers, restart etcd) run at the end on the same system.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, useSrUp } from '../support/controllers-up';
import { TEAMS, javaStringHash, rabbitProbe, users, type OutMessage, type User } from '../support/controllers-data';
import { SAMPLES_DIR } from '../support/controllers-samples';
import { waitFor } from '../support/ports';
import { upScenario } from '../support/up-scenario';
import { METRICS_URL_ANNOTATION } from '../../crds/types';

const sr = useSrUp();

function sample(file: string): string { return readFileSync(join(SAMPLES_DIR, file), 'utf8'); }
function fixture(file: string): string {
  return readFileSync(join(FIXTURES, 'tutorials', file), 'utf8').replaceAll('${KAFKA_BOOTSTRAP}', sr.up.kafkaBootstrap).replaceAll('${FIXTURES}', FIXTURES);
}

/** A tutorial: its resources are deleted afterwards whatever happens. */
const scenario = (name: string, body: () => Promise<void>): void => upScenario(sr, name, body);

const ids = (messages: OutMessage[]): Set<string> => new Set(messages.map((m) => { try { return (JSON.parse(m.value) as User).id; } catch { return ''; } }));
const hasAll = (sent: User[]) => (messages: OutMessage[]): boolean => { const got = ids(messages); return sent.every((u) => got.has(u.id)); };

// Tutorial 4 first: its 3 replicas make the controllers create data-in with 3 partitions (the dev Kafka cannot
// grow a topic, and later tutorials reuse data-in).
scenario('tutorial 4: stateless replication (3 processes)', async () => {
  await sr.up.apply(sample('tutorials__4-stateless-replication.yaml'));
  // Ready = all three instances running and in their consumer group.
  await sr.up.waitReady('processor', 'stateless-replication', 60_000);
  const status = (await sr.up.getJson<{ status?: { replicas?: number; readyReplicas?: number } }>('processor/stateless-replication')).status;
  assert.equal(status?.replicas, 3);
  assert.equal(status?.readyReplicas, 3);
  assert.equal(sr.up.processorPids('default', 'stateless-replication').length, 3);
  const sent = users(12);
  const mark = await sr.kafka.mark('data-out');
  await sr.kafka.produce('data-in', sent);
  await sr.kafka.collect('data-out', mark, hasAll(sent));
  // Every instance advertises its metrics (the editor's topology draws throughput from them); together they
  // counted every message in (at least once: a consumer-group rebalance may redeliver).
  const processor = await sr.up.getJson<{ metadata: { annotations?: Record<string, string> } }>('processor/stateless-replication');
  const urls = (processor.metadata.annotations?.[METRICS_URL_ANNOTATION] ?? '').split(',').filter(Boolean);
  assert.equal(urls.length, 3, `metrics-url annotation: ${urls.join(',')}`);
  const counted = async (): Promise<number> => {
    const texts = await Promise.all(urls.map(async (url) => (await fetch(url)).text()));
    return texts.flatMap((t) => t.split('\n')).filter((l) => l.startsWith('sr_processor_messages_in_total{'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  await waitFor('metrics of all instances count every message in', async () => (await counted()) >= sent.length, 10_000, 100);
});

scenario('tutorial 1: message retransmission (everything auto-provisioned)', async () => {
  await sr.up.apply(sample('tutorials__1-message-retransmission.yaml'));
  await sr.up.waitReady('processor', 're-transmission-processor');
  for (const s of ['data-in', 'data-out']) await sr.up.waitReady('stream', s);
  const cs = await sr.up.getJson<{ status: { storageAddress: unknown; conditions: { reason: string }[] } }>('clusterstream/data-in-cluster-stream');
  assert.doesNotMatch(JSON.stringify(cs.status), /guest|password/);
  const sent = users(10);
  const mark = await sr.kafka.mark('data-out');
  await sr.kafka.produce('data-in', sent);
  const out = await sr.kafka.collect('data-out', mark, hasAll(sent));
  for (const u of sent) assert.deepEqual(JSON.parse(out.find((m) => m.value.includes(u.id))!.value), u);
});

scenario('tutorial 2: Kafka -> SRP -> RabbitMQ bridge', async () => {
  await sr.up.apply(sample('tutorials__2-multibiner-bridge.yaml'));
  await sr.up.waitReady('processor', 'multibinder-processor');
  const probe = await rabbitProbe('data-out');
  try {
    const sent = users(8);
    await sr.kafka.produce('data-in', sent);
    await waitFor('bridged to RabbitMQ', () => hasAll(sent)(probe.messages), 60_000, 100);
  } finally { await probe.close(); }
});

scenario('tutorial 2.1: admin ClusterStreams claimed by developers Streams (server URLs honoured)', async () => {
  await sr.up.apply(fixture('2.1-multibiner-bridge-production-mode.yaml'));
  await sr.up.waitReady('processor', 'multibinder-processor');
  const stream = await sr.up.getJson<{ status: { clusterStreamName: string; storageAddress: { server: Record<string, { url: string }> } } }>('stream/data-out-stream');
  assert.equal(stream.status.clusterStreamName, 'rabbitmq-cluster-stream');
  assert.equal(Object.values(stream.status.storageAddress.server)[0].url, 'amqp://127.0.0.1:5672');
  const probe = await rabbitProbe('data-out');
  try {
    const sent = users(5);
    await sr.kafka.produce('data-in', sent);
    await waitFor('bridged to RabbitMQ', () => hasAll(sent)(probe.messages), 60_000, 100);
  } finally { await probe.close(); }
});

scenario('tutorial 3: inline SpEL transformation and output headers', async () => {
  await sr.up.apply(sample('tutorials__3-inline-transformation.yaml'));
  await sr.up.waitReady('processor', 'inline-transformation');
  const sent = users(6);
  const mark = await sr.kafka.mark('data-out');
  await sr.kafka.produce('data-in', sent);
  const out = await sr.kafka.collect('data-out', mark, (ms) => sent.every((u) => ms.some((m) => m.value.includes(u.email))));
  for (const u of sent) {
    const m = out.find((x) => x.value.includes(u.email))!;
    assert.deepEqual(JSON.parse(m.value), { [u.fullName]: u.email });
  }
});

const teamScore = (u: User): string => `Team:${u.team}, Score:${u.score}`;

scenario('tutorial 5: partition by field (keyExpression), stateful replication', async () => {
  await sr.up.apply(sample('tutorials__5-partition-by-field-with-stateful-replication.yaml'));
  await sr.up.waitReady('processor', 'team-partition-processor');
  await sr.up.waitReady('processor', 'team-scores-processor');
  assert.equal(sr.up.processorPids('default', 'team-scores-processor').length, 3);
  const sent = users(9, { score: (i) => 50 + i });
  const markPartitioned = await sr.kafka.mark('partitioned-by-team');
  const mark = await sr.kafka.mark('team-scores');
  await sr.kafka.produce('data-in', sent);
  const partitioned = await sr.kafka.collect('partitioned-by-team', markPartitioned, hasAll(sent));
  for (const m of partitioned) {
    const u = JSON.parse(m.value) as User;
    if (!sent.some((s) => s.id === u.id)) continue;
    assert.equal(m.partition, Math.abs(javaStringHash(u.team)) % 3, `team ${u.team} on its Spring partition`);
  }
  await sr.kafka.collect('team-scores', mark, (ms) => sent.every((u) => ms.some((m) => m.value.includes(teamScore(u)))));
});

scenario('tutorial 5.1: partition by header keys', async () => {
  await sr.up.apply(sample('tutorials__5.1-partition-by-field(header-keys)-with-stateful-replication.yaml'));
  await sr.up.waitReady('processor', 'user-partition-processor');
  await sr.up.waitReady('processor', 'user-scores-processor');
  const sent = users(9, { score: (i) => 10 + i });
  const markPartitioned = await sr.kafka.mark('partitioned-by-team');
  const mark = await sr.kafka.mark('team-scores');
  await sr.kafka.produce('data-in', sent);
  const partitioned = await sr.kafka.collect('partitioned-by-team', markPartitioned, hasAll(sent));
  const partitionOf = new Map<string, number>();
  for (const m of partitioned) {
    assert.ok(m.headers.team, 'team header set by srp.output.headers');
    const seen = partitionOf.get(m.headers.team);
    if (seen !== undefined) assert.equal(m.partition, seen, 'one partition per team');
    partitionOf.set(m.headers.team, m.partition);
  }
  await sr.kafka.collect('team-scores', mark, (ms) => sent.every((u) => ms.some((m) => m.value.includes(teamScore(u)))));
});

scenario('tutorial 5.2: partition by field on RabbitMQ', async () => {
  await sr.up.apply(sample('tutorials__5.2-partition-by-field-with-stateful-replication(rabbitmq).yaml'));
  await sr.up.waitReady('processor', 'user-partition-processor');
  await sr.up.waitReady('processor', 'user-scores-processor');
  const probe = await rabbitProbe('team-scores');
  try {
    const sent = users(9, { score: (i) => 20 + i });
    await sr.kafka.produce('data-in', sent);
    await waitFor('team scores on RabbitMQ', () => sent.every((u) => probe.messages.some((m) => m.value.includes(teamScore(u)))), 60_000, 100);
  } finally { await probe.close(); }
});

/** Event times later than anything produced before, aligned to a 5 s window. */
let clock = 0;
function nextWindow(): number { clock = Math.ceil((Math.max(Date.now(), clock) + 60_000) / 5000) * 5000; return clock; }

/** Sends to every partition of the topic (each partition holds its own watermark back). */
async function produceToEveryPartition(topic: string, values: object[]): Promise<void> {
  const partitions = [...(await sr.kafka.mark(topic)).keys()];
  for (const p of partitions.length ? partitions : [0]) await sr.kafka.produce(topic, values, {}, p);
}

scenario('tutorial 6: tumbling window aggregation with a raw gRPC UDF; late events to the side channel', async () => {
  await sr.up.apply(fixture('6-time-window-aggregation.yaml'));
  await sr.up.waitReady('processor', 'user-scores-processor', 90_000);
  const w = nextWindow();
  const inWindow = users(9, { time: (i) => w + i * 100, score: (i) => i + 1 });
  const mark = await sr.kafka.mark('user-scores');
  await sr.kafka.produce('data-in', inWindow);
  // A later event moves the watermark (2 s out-of-orderness) past the window's end: the window is released.
  await produceToEveryPartition('data-in', users(1, { time: () => w + 20_000 }));
  const out = await sr.kafka.collect('user-scores', mark, (ms) => ms.filter((m) => m.value.includes(inWindow[0].fullName.slice(0, 6))).length >= 3, 90_000);
  const totals = new Map<string, number>();
  for (const m of out) { const r = JSON.parse(m.value) as { name: string; totalScore: number }; totals.set(r.name, r.totalScore); }
  for (let k = 0; k < 3; k++) {
    const name = inWindow[k].fullName;
    const expected = inWindow.filter((u) => u.fullName === name).reduce((s, u) => s + u.score, 0);
    assert.equal(totals.get(name), expected, `total of ${name}`);
  }
  // A late event (behind the watermark) goes to its own side-channel destination.
  const late = users(1, { time: () => w + 1000 });
  const lateMark = await sr.kafka.mark('user-scores.late');
  await sr.kafka.produce('data-in', late);
  await sr.kafka.collect('user-scores.late', lateMark, hasAll(late), 60_000);
});

scenario('tutorial 6.1: partitioned time-window aggregation, 3 replicas with UDF sidecars', async () => {
  await sr.up.apply(fixture('6.1-partition-by-field-stateful-replication-time-window-aggregation.yaml'));
  await sr.up.waitReady('processor', 'team-partition-processor', 90_000);
  await sr.up.waitReady('processor', 'team-scores-processor', 90_000);
  assert.equal(sr.up.processorPids('default', 'team-scores-processor').length, 6, '3 processors + 3 UDFs');
  const w = nextWindow();
  const inWindow = users(12, { time: (i) => w + i * 100, score: (i) => i + 1 });
  const mark = await sr.kafka.mark('team-scores');
  const markPartitioned = await sr.kafka.mark('partitioned-by-team');
  await sr.kafka.produce('data-in', inWindow);
  // The upstream processor reads data-in's partitions concurrently and the downstream allows no out-of-orderness
  // (no time attributes on partitioned-by-team): let the window's events through before the later ones, or they
  // could arrive after them and be (rightly) dropped as late.
  await sr.kafka.collect('partitioned-by-team', markPartitioned, hasAll(inWindow));
  // Two rounds: the upstream processor stamps each message with ITS watermark (the minimum over its input
  // partitions), which has passed the window only once every partition has seen the first round.
  for (const later of [20_000, 25_000]) {
    await produceToEveryPartition('data-in', TEAMS.map((team, i) => users(1, { time: () => w + later + i, team: () => team })[0]));
  }
  const out = await sr.kafka.collect('team-scores', mark, (ms) => TEAMS.every((t) => ms.some((m) => m.value.includes(`"team":"${t}"`) && m.value.includes(`"from":"${w}"`) || m.value.includes(`"team":"${t}"`) && m.value.includes(String(w)))), 90_000);
  for (const team of TEAMS) {
    const expected = inWindow.filter((u) => u.team === team).reduce((s, u) => s + u.score, 0);
    const results = out.map((m) => JSON.parse(m.value) as { team: string; totalScore: number; from: string }).filter((r) => r.team === team && String(r.from) === String(w));
    assert.equal(results.reduce((s, r) => s + r.totalScore, 0), expected, `team ${team}`);
  }
});
