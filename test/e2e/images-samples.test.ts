// End to end: the original's samples whose Processors name container images and no command, applied VERBATIM on the
// real `sr up` (no --images: the state directory's default map, created from examples/images/images.yaml). Every
// Processor must reach Ready and the images' TypeScript implementations must produce what the originals do:
// tutorial 3.1 (the Python uppercase UDF sidecar on srp.grpcPort 50051), tutorial 3.2 (time-source -> log-sink),
// tutorial 3's output header read from the inbound payload, tutorial 6 (the user-score-js window aggregator),
// the three spring-cloud-stream ticktock pipelines (time-source -> transform-processor -> log-sink, partitioned
// variants included) and anomaly detection light (a windowed JS UDF on `header.timestamp` event time, then log-sink).
// One `sr up` is shared; everything is deleted between samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { useSrUp } from '../support/controllers-up';
import { javaStringHash, users, type OutMessage } from '../support/controllers-data';
import { SAMPLES_DIR } from '../support/controllers-samples';
import { waitFor } from '../support/ports';
import { upScenario } from '../support/up-scenario';

const sr = useSrUp();

function sample(file: string): string { return readFileSync(join(SAMPLES_DIR, file), 'utf8'); }

/** The Processors a sample file declares. */
function processorsOf(yaml: string): string[] {
  return parseAllDocuments(yaml).map((d) => d.toJSON() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((d) => d?.kind === 'Processor').map((d) => d?.metadata?.name ?? '');
}

/** What the log files of a Processor's container hold beyond what they held at `mark` (logs are appended). */
function logMark(): Map<string, number> {
  const dir = join(sr.up.dir, 'logs');
  return new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).length]));
}
function newLogText(mark: Map<string, number>, processor: string, container: string): string {
  const dir = join(sr.up.dir, 'logs');
  const pattern = new RegExp(`^default_${processor}-\\d+-${container}\\.log$`);
  return readdirSync(dir).filter((f) => pattern.test(f))
    .map((f) => readFileSync(join(dir, f)).subarray(mark.get(f) ?? 0).toString('utf8')).join('\n');
}

/** Applies a sample verbatim and waits until every Processor in it is Ready. */
async function applyAndWaitReady(file: string, timeoutMs = 90_000): Promise<string[]> {
  const yaml = sample(file);
  await sr.up.apply(yaml);
  const names = processorsOf(yaml);
  assert.ok(names.length > 0);
  for (const name of names) await sr.up.waitReady('processor', name, timeoutMs);
  return names;
}

const scenario = (name: string, body: () => Promise<void>): void => upScenario(sr, name, body);

const TIMESTAMP_DD_MM_YYYY = /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/;

test('sr up created the default image map in its state directory', async () => {
  const map = join(sr.up.dir, 'images.yaml');
  // The controllers create it when they start (sr up reports ready once they are launched).
  await waitFor('DIR/images.yaml', () => existsSync(map), 30_000, 100);
  assert.match(readFileSync(map, 'utf8'), /udf-uppercase-python/);
});

scenario('tutorial 3.1: polyglot UDF (udf-uppercase-python image) uppercases every message', async () => {
  await applyAndWaitReady('tutorials__3.1-polyglot-udf-transformation.yaml');
  // The sidecar listens where the runtime told it (GRPC_PORT), not on the image's 50051, and says so in its log.
  const udfLog = newLogText(new Map(), 'udf-transformation', 'uppercase-grpc-python');
  assert.match(udfLog, /udf-uppercase-python: gRPC MessagingService listening on 127\.0\.0\.1:\d+/);
  const sent = users(6);
  const mark = await sr.kafka.mark('data-out');
  await sr.kafka.produce('data-in', sent);
  const expected = new Set(sent.map((u) => JSON.stringify(u).toUpperCase()));
  const out = await sr.kafka.collect('data-out', mark, (ms) => [...expected].every((e) => ms.some((m) => m.value === e)));
  const m = out.find((x) => expected.has(x.value))!;
  assert.equal(m.headers.contentType, 'application/json', 'the Python UDF keeps the headers');
});

scenario("tutorial 3 (no image, item of the same issue): header user=payload.fullName from the inbound payload", async () => {
  await applyAndWaitReady('tutorials__3-inline-transformation.yaml');
  const sent = users(4);
  const mark = await sr.kafka.mark('data-out');
  await sr.kafka.produce('data-in', sent);
  const out = await sr.kafka.collect('data-out', mark, (ms) => sent.every((u) => ms.some((m) => m.value.includes(u.email))));
  for (const u of sent) {
    const m = out.find((x) => x.value.includes(u.email))!;
    assert.deepEqual(JSON.parse(m.value), { [u.fullName]: u.email }, 'the transform dropped fullName from the payload');
    assert.equal(m.headers.user, u.fullName, 'the header still carries it: read from the inbound payload');
  }
});

scenario('tutorial 6 verbatim: tumbling windows aggregated by the user-score-js image', async () => {
  await applyAndWaitReady('tutorials__6-time-window-aggregation.yaml');
  // Event time = score_time (2 s out-of-orderness): a window a minute ahead of anything produced before, then a
  // later event that moves the watermark past its end.
  const w = Math.ceil((Date.now() + 60_000) / 5000) * 5000;
  const inWindow = users(9, { time: (i) => w + i * 100, score: (i) => i + 1 });
  await sr.kafka.produce('data-in', inWindow);
  const mark = await sr.kafka.mark('user-scores');
  await sr.kafka.produce('data-in', users(1, { time: () => w + 20_000 }));
  const names = [...new Set(inWindow.map((u) => u.fullName))];
  const out = await sr.kafka.collect('user-scores', mark, (ms) => names.every((n) => ms.some((m) => m.value.includes(n))), 90_000);
  for (const name of names) {
    const result = JSON.parse(out.find((m) => m.value.includes(name))!.value) as { from: string; to: string; name: string; totalScore: number };
    assert.deepEqual(result, {
      from: String(w), to: String(w + 5000), name,
      totalScore: inWindow.filter((u) => u.fullName === name).reduce((sum, u) => sum + u.score, 0),
    });
  }
});

scenario('tutorial 3.2: SCS time-source -> log-sink (springcloudstream images)', async () => {
  const logs = logMark();
  await applyAndWaitReady('tutorials__3.2-scs-transformation.yaml');
  // Marks are taken once the topics exist: reading a missing topic's offsets would make the dev Kafka auto-create it
  // with its own partition count before the controllers do.
  const topicMark = await sr.kafka.mark('timestamps-stream');
  // TIME_DATE-FORMAT dd/MM/yyyy HH:mm:ss, every 2 s (SPRING_CLOUD_STREAM_POLLER_FIXED-DELAY).
  const ticks = (await sr.kafka.collect('timestamps-stream', topicMark, (ms) => ms.length >= 3, 60_000)).sort((a, b) => a.timestamp - b.timestamp);
  for (const t of ticks) assert.match(t.value, TIMESTAMP_DD_MM_YYYY);
  for (let i = 1; i < ticks.length; i++) {
    const gap = ticks[i].timestamp - ticks[i - 1].timestamp;
    assert.ok(gap >= 1500 && gap <= 6000, `a tick every ~2 s (got ${gap} ms)`);
  }
  await waitFor('log-sink logs the timestamps with LOG_EXPRESSION', () =>
    /log-sink : My uppercase timestamp is: \d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d/.test(newLogText(logs, 'log-sink', 'scdf-log-sink-kafka')), 60_000, 200);
});

/** The uppercase stream's messages: the transformer's `payload.toUpperCase()` of the time-source ticks. */
async function ticktock(file: string, opts: { topic: string; format: RegExp; sinkReplicas: number }): Promise<OutMessage[]> {
  const logs = logMark();
  await applyAndWaitReady(file);
  const mark = await sr.kafka.mark(opts.topic);
  const status = await sr.up.getJson<{ status?: { replicas?: number; readyReplicas?: number } }>('processor/log-sink');
  assert.equal(status.status?.readyReplicas, opts.sinkReplicas);
  assert.equal(sr.up.processorPids('default', 'log-sink').length, opts.sinkReplicas, 'one log-sink process per replica');
  // The transformer's group may first catch up with ticks an earlier sample left on timestamps-stream (topics are
  // retained): every message is an uppercased tick of one of the samples' formats, and this sample's appear.
  const out = await sr.kafka.collect(opts.topic, mark, (ms) => ms.filter((m) => opts.format.test(m.value)).length >= 4, 90_000);
  for (const m of out) assert.match(m.value, /^\d\d$|^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
  await waitFor('log-sink logs the uppercased timestamps', () =>
    (newLogText(logs, 'log-sink', 'scdf-log-sink-kafka').match(/log-sink : My uppercase timestamp is: \S/g) ?? []).length >= 3, 90_000, 200);
  return out;
}

/** Spring's partition of a key: |hashCode| % count (Integer.MIN_VALUE -> 0). */
function springPartition(key: string, count: number): number {
  const h = javaStringHash(key);
  return Math.abs((h === -2147483648 ? 0 : Math.abs(h)) % count);
}

// The partitioned variant first: its two log-sink replicas make the controllers create `uppercase-stream` with two
// partitions (the dev Kafka cannot grow a topic, and the plain ticktock reuses it).
scenario('spring-cloud-stream ticktock partitioned: producer partitioning from the container env, 2 partitioned log-sinks', async () => {
  const out = await ticktock('spring-cloud-stream__streaming-pipeline-ticktock-partitioned.yaml', { topic: 'uppercase-stream', format: /^\d\d$/, sinkReplicas: 2 });
  // The container asks for 3 partitions by `payload`; the topic has 2 (the dev Kafka cannot add one), so 2 are used.
  const partitions = (await sr.kafka.mark('uppercase-stream')).size;
  for (const m of out) {
    assert.equal(m.partition, springPartition(m.value, partitions), `"${m.value}" on its Spring partition`);
    assert.equal(m.headers.scst_partition, String(m.partition));
  }
});

scenario('spring-cloud-stream ticktock: time-source -> transform-processor (payload.toUpperCase()) -> log-sink', async () => {
  await ticktock('spring-cloud-stream__streaming-pipeline-ticktock.yaml', { topic: 'uppercase-stream', format: TIMESTAMP_DD_MM_YYYY, sinkReplicas: 1 });
});

scenario('spring-cloud-stream ticktock partitioned (better): keyExpression payload, partitionCount 3, 3 log-sinks', async () => {
  const out = await ticktock('spring-cloud-stream__streaming-pipeline-ticktock-partitioned-better.yaml', { topic: 'uppercase', format: /^\d\d$/, sinkReplicas: 3 });
  assert.equal((await sr.kafka.mark('uppercase')).size, 3);
  for (const m of out) assert.equal(m.partition, springPartition(m.value, 3), `"${m.value}" on its Spring partition`);
});

scenario('anomaly detection light: windows on header.timestamp, the fraud UDF (JS image), alerts in the log-sink', async () => {
  const logs = logMark();
  await applyAndWaitReady('anomaly-detection__light__streaming-pipeline-light.yaml');
  const alerts = await sr.kafka.mark('fraud-alert-stream');
  // Eight attempts with one card, two with another, in one burst: one 5 s processing-time window (or two, when the
  // burst straddles a boundary: then at least one of them may hold more than 5 of the first card — so send 12).
  const card = `4${Date.now()}`;
  const attempts = [
    ...Array.from({ length: 12 }, () => ({ card_number: card, card_type: 'VISA', card_expiry: '12/30', name: 'Ada' })),
    ...Array.from({ length: 2 }, () => ({ card_number: '5000', card_type: 'MC', card_expiry: '01/30', name: 'Bob' })),
  ];
  await sr.kafka.produce('card-authorizations', attempts);
  // Event time is the moment the processor takes a message (header.timestamp), the watermark 3 s behind: a later
  // message releases the window.
  await new Promise((r) => setTimeout(r, 9000));
  await sr.kafka.produce('card-authorizations', [{ card_number: '6000', card_type: 'MC', card_expiry: '01/30', name: 'Cy' }]);
  const out = await sr.kafka.collect('fraud-alert-stream', alerts, (ms) => ms.some((m) => m.value.includes(card)), 60_000);
  const alert = JSON.parse(out.find((m) => m.value.includes(card))!.value) as { card_number: string; count: number; from: string; to: string };
  assert.equal(alert.card_number, card);
  assert.ok(alert.count > 5);
  assert.equal(Number(alert.to) - Number(alert.from), 5000);
  assert.ok(!out.some((m) => m.value.includes('"5000"')), 'two attempts are no fraud');
  await waitFor('the fraud-alert log-sink logs it', () => newLogText(logs, 'fraud-alert', 'scdf-log-sink-kafka').includes(`Possible fraud transactions: {"from"`), 60_000, 200);
});
