// End to end: the original's four streaming SQL showcases (iot-monitoring, anomaly detection, clickstream, top-k
// songs) applied verbatim on the real `sr up`, fed with records this test generates, and every row that comes out
// compared with an independent computation of the same query by SQLite over the same records (test/support/
// sql-oracle.ts). The SRP processors of those files whose UDF is a container image are not what is tested here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SR_ENTRY, useSrUp } from '../support/controllers-up';
import { SAMPLES_DIR } from '../support/controllers-samples';
import type { OutMessage } from '../support/controllers-data';
import { SqlOracle, canonicalRows, sqlTime, type OracleValue } from '../support/sql-oracle';
import { debugPortOf, upScenario } from '../support/up-scenario';
import { waitFor } from '../support/ports';
import { MINUTE, iotEvents, iotExpected } from '../support/iot-monitoring';

const sr = useSrUp();
const run = promisify(execFile);

function sample(file: string): string { return readFileSync(join(SAMPLES_DIR, file), 'utf8'); }

/** Records with their Kafka timestamps (the samples' `metadata.from: timestamp` columns) on chosen partitions. */
class Records {
  private producer: Producer | undefined;
  private readonly kafka: Kafka;
  constructor(bootstrap: string) { this.kafka = new Kafka({ clientId: 'sr-sql-e2e', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING }); }

  async partitions(topic: string): Promise<number[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try { return (await admin.fetchTopicOffsets(topic)).map((o) => o.partition); } finally { await admin.disconnect(); }
  }

  async send(topic: string, records: { value: object; timestamp?: number; partition?: number; key?: string }[]): Promise<void> {
    if (!this.producer) { this.producer = this.kafka.producer(); await this.producer.connect(); }
    for (let i = 0; i < records.length; i += 500) {
      await this.producer.send({
        topic, acks: -1,
        messages: records.slice(i, i + 500).map((r) => ({
          value: JSON.stringify(r.value),
          headers: { contentType: 'application/json' },
          ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
          ...(r.partition !== undefined ? { partition: r.partition } : {}),
          ...(r.key !== undefined ? { key: r.key } : {}),
        })),
      });
    }
  }

  async close(): Promise<void> { await this.producer?.disconnect(); }
}

const rowsOf = (messages: OutMessage[]): Record<string, unknown>[] => messages.map((m) => JSON.parse(m.value) as Record<string, unknown>);

/** A processor instance's /debug/state (its debug port from its log). */
async function processorState(name: string, index = 0): Promise<{ sql?: { engine?: { statements?: { operators?: Record<string, unknown>[] }[] } } } | undefined> {
  const port = debugPortOf(sr.up, name, index);
  if (!port) return undefined;
  return fetch(`http://127.0.0.1:${port}/debug/state`).then((r) => r.json() as Promise<{ sql?: { engine?: { statements?: { operators?: Record<string, unknown>[] }[] } } }>).catch(() => undefined);
}

async function processorMetrics(name: string): Promise<string> {
  const port = debugPortOf(sr.up, name);
  return port ? fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()) : '';
}

/** A scenario with its own Kafka record writer on the dev cluster. */
function scenario(name: string, body: (records: Records) => Promise<void>): void {
  upScenario(sr, name, async () => {
    const records = new Records(sr.up.kafkaBootstrap);
    try { await body(records); } finally { await records.close(); }
  });
}

/** Reads `topic` from `mark` until `expected` rows came, then a little longer so duplicates would show. */
async function collectRows(topic: string, mark: Map<number, number>, expected: number, timeoutMs = 90_000): Promise<Record<string, unknown>[]> {
  let settledAt = 0;
  const messages = await sr.kafka.collect(topic, mark, (m) => {
    if (m.length < expected) return false;
    settledAt ||= Date.now();
    return Date.now() - settledAt > 2500;
  }, timeoutMs);
  return rowsOf(messages);
}


scenario('iot-monitoring: filter + 1-minute TUMBLE count per error code equals SQLite; late rows dropped', async (records) => {
  await sr.up.apply(sample('iot-monitoring__streaming-pipeline.yaml'));
  await sr.up.waitReady('srp', 'iot-monitoring-sql-aggregation', 120_000);
  const partitions = await records.partitions('iot-monitoring');
  const mark = await sr.kafka.mark('error-count');
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 20 * MINUTE;
  const codes = ['C-1', 'C-2', 'C-3', null];
  const events: { error_code: string | null; type: string; application: string; version: string; description: string; ts: number }[] = [];
  for (let i = 0; i < 400; i++) {
    events.push({
      error_code: codes[(i * 7) % codes.length], type: i % 3 === 0 ? 'INFO' : 'ERROR',
      application: `app-${i % 5}`, version: '1.0', description: `event ${i}`,
      // Spread over 4 minutes, out of order within the watermark's 3 s.
      ts: t0 + ((i * 613) % (4 * MINUTE)),
    });
  }
  // Rows in arrival order: sorted by time with a little disorder (never more than 3 s back).
  events.sort((a, b) => a.ts - b.ts);
  await records.send('iot-monitoring', events.map((value, i) => ({ value, partition: partitions[i % partitions.length] })));
  // Every partition moves its watermark past the fourth minute: windows 0..3 close, nothing later holds data.
  const closing = partitions.map((partition) => ({ value: { error_code: 'C-1', type: 'INFO', application: 'a', version: '1', description: 'tick', ts: t0 + 6 * MINUTE }, partition }));
  await records.send('iot-monitoring', closing);

  const oracle = await SqlOracle.open();
  oracle.load('t', ['error_code', 'type', 'ts'], events);
  const expected = oracle.query(`SELECT ts - ts % ${MINUTE} AS window_start, ts - ts % ${MINUTE} + ${MINUTE} AS window_end, error_code, COUNT(*) AS error_count
    FROM t WHERE type = 'ERROR' GROUP BY 1, 2, 3`);
  oracle.close();
  assert.ok(expected.length >= 12, 'four windows of three codes and NULL');

  const rows = await collectRows('error-count', mark, expected.length);
  const got = rows.map((r) => ({ window_start: sqlTime(r.window_start), window_end: sqlTime(r.window_end), error_code: r.error_code as string | null, error_count: r.error_count as number }));
  assert.deepEqual(canonicalRows(got), canonicalRows(expected));

  // A row for a window that already fired is late: dropped (and counted), the window is not emitted again.
  const late = await sr.kafka.mark('error-count');
  await records.send('iot-monitoring', partitions.map((partition) => ({ value: { error_code: 'C-1', type: 'ERROR', application: 'a', version: '1', description: 'late', ts: t0 + 1000 }, partition })));
  await new Promise((r) => setTimeout(r, 4000));
  const after = await sr.kafka.collect('error-count', late, () => true, 10_000);
  assert.equal(after.length, 0, `nothing re-emitted for the late row: ${after.map((m) => m.value).join(' | ')}`);
  const metrics = await processorMetrics('iot-monitoring-sql-aggregation');
  // The plan, as `debugExplain` showed it in the original: `sr explain` reads it from the instances' /debug/state.
  const explained = await run(process.execPath, [SR_ENTRY, 'explain', 'iot-monitoring-sql-aggregation', '--dir', sr.up.dir, '--state']);
  assert.match(explained.stdout, /WindowAggregate group=\(window_start, window_end, error_code\)/);
  assert.match(explained.stdout, /"lateRowsDropped": [1-9]/);
  const dropped = Number(/^sr_processor_sql_late_rows_dropped_total\{[^}]*statement="0"[^}]*\} (\S+)/m.exec(metrics)?.[1] ?? 0);
  assert.ok(dropped >= 1, `the late rows are counted (${dropped})`);
});

scenario('anomaly detection: 5-second TUMBLE on the record timestamp, HAVING COUNT(*) > 5 exactly at the threshold', async (records) => {
  await sr.up.apply(sample('anomaly-detection__streaming-pipeline.yaml'));
  await sr.up.waitReady('srp', 'possible-fraud-detection', 120_000);
  const partitions = await records.partitions('card-authorizations');
  const mark = await sr.kafka.mark('possible-fraud');
  const t0 = Math.floor(Date.now() / 5000) * 5000 - 10 * MINUTE;
  const attempts: { card_number: string; card_type: string; card_expiry: string; name: string; event_time: number }[] = [];
  const burst = (card: string, count: number, windowIndex: number): void => {
    for (let i = 0; i < count; i++) attempts.push({ card_number: card, card_type: 'visa', card_expiry: '12/30', name: `holder ${card}`, event_time: t0 + windowIndex * 5000 + i * 400 });
  };
  burst('1234-2121-1221-1211', 6, 0); // > 5: an alert
  burst('1212-1221-1121-1234', 5, 0); // exactly 5: none
  burst('1211-1221-1234-2201', 4, 1); // 4 + 3 in two windows: none
  burst('1211-1221-1234-2201', 3, 2);
  burst('1234-2121-1221-1211', 9, 3); // 9: an alert
  burst('1212-1221-1121-1234', 6, 3); // 6: an alert
  attempts.sort((a, b) => a.event_time - b.event_time);
  await records.send('card-authorizations', attempts.map((a, i) => {
    const { event_time: timestamp, ...value } = a;
    return { value, timestamp, partition: partitions[i % partitions.length] };
  }));
  // event_time is the Kafka record timestamp (metadata.from: timestamp, readonly): the value never carries it.
  await records.send('card-authorizations', partitions.map((partition) => ({ value: { card_number: '0', card_type: 'x', card_expiry: 'x', name: 'tick' }, timestamp: t0 + 2 * MINUTE, partition })));

  const oracle = await SqlOracle.open();
  oracle.load('a', ['card_number', 'event_time'], attempts);
  const expected = oracle.query(`SELECT event_time - event_time % 5000 AS window_start, event_time - event_time % 5000 + 5000 AS window_end, card_number, COUNT(*) AS authorization_attempts
    FROM a GROUP BY 1, 2, 3 HAVING COUNT(*) > 5`);
  oracle.close();
  assert.equal(expected.length, 3);

  const rows = await collectRows('possible-fraud', mark, expected.length);
  const got = rows.map((r) => ({ window_start: sqlTime(r.window_start), window_end: sqlTime(r.window_end), card_number: r.card_number as string, authorization_attempts: r.authorization_attempts as number }));
  assert.deepEqual(canonicalRows(got), canonicalRows(expected));
});

scenario('clickstream: regular INNER JOIN of clicks and users on record names, WHERE level = PLATINUM; a click before its user', async (records) => {
  await sr.up.apply(sample('clickstream__streaming-pipeline.yaml'));
  await sr.up.waitReady('srp', 'vip-join-and-filter', 120_000);
  const mark = await sr.kafka.mark('vip-action');
  const t0 = Date.now() - 5 * MINUTE;
  const users = Array.from({ length: 12 }, (_, i) => ({ user_id: `u${i}`, name: `User ${i}`, level: i % 3 === 0 ? 'PLATINUM' : i % 3 === 1 ? 'GOLD' : 'SILVER' }));
  // A second row for u3 (still PLATINUM): a regular join matches clicks with both.
  users.push({ user_id: 'u3', name: 'User 3 again', level: 'PLATINUM' });
  const clicks = Array.from({ length: 60 }, (_, i) => ({ user_id: `u${(i * 5) % 13}`, page: 100 + i, action: i % 2 ? 'view' : 'buy', device: 'mobile', agent: 'firefox', event_time: t0 + i * 1000 }));
  // u9's first click comes before u9 is known: the join keeps it and matches it when the user arrives.
  const early = { user_id: 'u9', page: 99, action: 'early', device: 'desktop', agent: 'chrome', event_time: t0 - 1000 };
  const send = (list: typeof clicks) => records.send('click', list.map(({ event_time: timestamp, ...value }) => ({ value, timestamp })));
  await send([early]);
  await new Promise((r) => setTimeout(r, 1500));
  await records.send('user', users.map((value) => ({ value })));
  await send(clicks);

  const oracle = await SqlOracle.open();
  oracle.load('users', ['user_id', 'name', 'level'], users);
  oracle.load('clicks', ['user_id', 'page', 'action', 'event_time'], [early, ...clicks]);
  const expected = oracle.query(`SELECT u.user_id AS user_id, u.name AS name, c.page AS page, c.action AS action, c.event_time AS event_time
    FROM clicks c JOIN users u ON c.user_id = u.user_id WHERE u.level = 'PLATINUM'`);
  oracle.close();
  assert.ok(expected.some((r) => r.action === 'early'), 'the early click is expected in the result');

  const rows = await collectRows('vip-action', mark, expected.length);
  const got = rows.map((r) => ({ user_id: r.user_id as string, name: r.name as string, page: r.page as number, action: r.action as string, event_time: sqlTime(r.event_time) }));
  assert.deepEqual(canonicalRows(got), canonicalRows(expected));
});

scenario('top-k songs: join → songplays → 60 s TUMBLE count → window Top-3 per genre (ties)', async (records) => {
  await sr.up.apply(sample('top-k-songs__streaming-pipeline-inline-sql-schema.yaml'));
  await sr.up.waitReady('srp', 'topk-songs-join', 120_000);
  await sr.up.waitReady('srp', 'topk-songs-aggregate', 120_000);
  const mark = await sr.kafka.mark('topk-songs-per-genre');
  const genres = ['rock', 'jazz'];
  const songs = Array.from({ length: 8 }, (_, i) => ({ song_id: i + 1, name: `Song ${i + 1}`, album: `Album ${i % 3}`, artist: `Artist ${i % 4}`, genre: genres[i % 2] }));
  await records.send('songs', songs.map((value) => ({ value, key: String(value.song_id) })));
  // The join emits in the order matches happen: songs stored first make plays come out in time order (as the
  // original's generator does, songs before plays), so songplays' watermark does not overtake its own rows.
  await waitFor('songs stored by the join', async () => {
    const join = (await processorState('topk-songs-join'))?.sql?.engine?.statements?.[0]?.operators?.find((o) => o.operator === 'Join');
    return Number(join?.rightRowsStored ?? 0) >= songs.length;
  }, 60_000, 200);
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 15 * MINUTE;
  // Plays per (window, song): rock songs 1,3,5,7 get 5,3,3,3 plays in window 0 (a tie for the last two places),
  // jazz songs 2,4,6,8 get 4,2,2,1; window 1 reverses the order. Short plays (< 30 s) are filtered out.
  const counts: Record<number, number[]> = { 0: [5, 4, 3, 2, 3, 2, 3, 1], 1: [1, 2, 3, 2, 3, 4, 5, 6] };
  const plays: { song_id: number; duration: number; event_time: number }[] = [];
  for (const [w, perSong] of Object.entries(counts)) {
    perSong.forEach((n, s) => {
      for (let k = 0; k < n; k++) plays.push({ song_id: s + 1, duration: 30_000 + k * 1000, event_time: t0 + Number(w) * MINUTE + (s * 5 + k) * 700 });
      plays.push({ song_id: s + 1, duration: 29_999, event_time: t0 + Number(w) * MINUTE + 50_000 });
    });
  }
  plays.sort((a, b) => a.event_time - b.event_time);
  // One partition, in time order, as the original's generator writes them one by one: a regular join's output has
  // no watermark (Flink 1.14), so songplays' order is the plays' order, and songplays declares only 1 s of disorder.
  const sendPlays = (list: typeof plays) => records.send('playevents', list.map(({ event_time: timestamp, ...value }) => ({ value, timestamp, partition: 0 })));
  await sendPlays(plays);
  // A play two minutes later moves songplays' watermark past both windows.
  await sendPlays([{ song_id: 1, duration: 40_000, event_time: t0 + 3 * MINUTE }]);

  const oracle = await SqlOracle.open();
  oracle.load('songs', ['song_id', 'name', 'genre'], songs);
  oracle.load('plays', ['song_id', 'duration', 'event_time'], plays);
  const counted = oracle.query(`SELECT p.event_time - p.event_time % ${MINUTE} AS window_start, s.song_id AS song_id, s.name AS name, s.genre AS genre, COUNT(*) AS play_count
    FROM plays p JOIN songs s ON p.song_id = s.song_id WHERE p.duration >= 30000 GROUP BY 1, 2, 3, 4`);
  const top = oracle.query(`SELECT window_start, genre, play_count FROM (
      SELECT window_start, genre, play_count, ROW_NUMBER() OVER (PARTITION BY window_start, genre ORDER BY play_count DESC) AS rn FROM (
        SELECT p.event_time - p.event_time % ${MINUTE} AS window_start, s.song_id, s.genre AS genre, COUNT(*) AS play_count
        FROM plays p JOIN songs s ON p.song_id = s.song_id WHERE p.duration >= 30000 GROUP BY 1, 2, 3)) WHERE rn <= 3`);
  oracle.close();
  assert.equal(top.length, 12, 'two windows × two genres × 3');

  const rows = await collectRows('topk-songs-per-genre', mark, top.length).catch(async (err: unknown) => {
    const songplays = await sr.kafka.collect('songplays', new Map(), (m) => m.length >= 50, 15_000).catch(() => []);
    throw new Error(`${String(err)}\nsongplays in topic order: ${songplays.map((m) => `${m.partition}:${m.offset}:${(JSON.parse(m.value) as { event_time: string }).event_time}`).join(' ')}`);
  });
  // INSERT INTO maps by position: the query's play_count lands in the table's song_play_count.
  const got = rows.map((r) => ({ window_start: sqlTime(r.window_start), window_end: sqlTime(r.window_end), song_id: r.song_id as number, name: r.name as string, genre: r.genre as string, count: r.song_play_count as number }));
  for (const row of got) {
    assert.equal(row.window_end - row.window_start, MINUTE);
    const truth = counted.find((c) => c.window_start === row.window_start && c.song_id === row.song_id);
    assert.ok(truth, `song ${row.song_id} was played in window ${row.window_start}`);
    assert.equal(row.count, truth.play_count, `count of song ${row.song_id}`);
    assert.equal(row.genre, truth.genre);
    assert.equal(row.name, truth.name);
  }
  // Per window and genre: the same counts as SQLite's top 3 (which of several tied songs is kept is free).
  const key = (r: Record<string, unknown>): string => `${String(r.window_start)}/${String(r.genre)}`;
  const groups = [...new Set(top.map(key))];
  for (const g of groups) {
    assert.deepEqual(got.filter((r) => key(r) === g).map((r) => r.count).sort(), top.filter((r) => key(r) === g).map((r) => r.play_count as number).sort(), g);
  }
  assert.equal(got.length, top.length);
});

const IOT_CODES = ['C-1', 'C-2', 'C-3', 'C-4', 'C-5', null];

/** The index of a replica whose consumer of `stream` has partitions assigned (from its /debug/state). */
async function forwardingReplica(name: string, stream: string, replicas: number): Promise<number> {
  let found: number | undefined;
  await waitFor(`a replica of ${name} consuming ${stream}`, async () => {
    for (let index = 0; index < replicas && found === undefined; index++) {
      const port = debugPortOf(sr.up, name, index);
      const state = port ? await fetch(`http://127.0.0.1:${port}/debug/state`).then((r) => r.json() as Promise<{ inputs?: { stream: string; detail?: { assignedPartitions?: number[] } }[] }>).catch(() => undefined) : undefined;
      if (state?.inputs?.some((i) => i.stream === stream && (i.detail?.assignedPartitions?.length ?? 0) > 0)) found = index;
    }
    return found !== undefined;
  }, 60_000, 500);
  return found!;
}

const iotRows = (rows: Record<string, unknown>[]): Record<string, OracleValue>[] =>
  rows.map((r) => ({ window_start: sqlTime(r.window_start), window_end: sqlTime(r.window_end), error_code: r.error_code as string | null, error_count: r.error_count as number }));

scenario('replicas 1 and 3 give the same rows (keyed exchange), and kill -9 of a replica mid-window loses and duplicates nothing', async (records) => {
  await sr.up.apply(sample('iot-monitoring__streaming-pipeline.yaml'));
  await sr.up.waitReady('srp', 'iot-monitoring-sql-aggregation', 120_000);
  const partitions = await records.partitions('iot-monitoring');
  const send = async (events: ReturnType<typeof iotEvents>): Promise<void> =>
    records.send('iot-monitoring', events.map((value, i) => ({ value, partition: partitions[i % partitions.length] })));
  const close = async (at: number): Promise<void> =>
    records.send('iot-monitoring', partitions.map((partition) => ({ value: { error_code: 'C-1', type: 'INFO', application: 'a', version: '1', description: 'tick', ts: at }, partition })));

  // One replica.
  const base = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
  const first = iotEvents(base, 600, 'one', IOT_CODES);
  let mark = await sr.kafka.mark('error-count');
  await send(first);
  await close(base + 6 * MINUTE);
  const expectedFirst = await iotExpected(first);
  const one = iotRows(await collectRows('error-count', mark, expectedFirst.length));
  assert.deepEqual(canonicalRows(one), canonicalRows(expectedFirst), 'one replica');

  // Three replicas: the same statement over the same kind of data, split by error_code through the exchange.
  await sr.up.kubectl('scale', 'srp', 'iot-monitoring-sql-aggregation', '--replicas=3');
  await waitFor('3 replicas ready', async () => {
    const p = await sr.up.getJson<{ status?: { readyReplicas?: number; observedGeneration?: number }; metadata: { generation?: number } }>('srp/iot-monitoring-sql-aggregation');
    return p.status?.readyReplicas === 3 && p.status.observedGeneration === p.metadata.generation;
  }, 120_000, 500);
  const t1 = base + 10 * MINUTE;
  const second = iotEvents(t1, 600, 'three', IOT_CODES);
  mark = await sr.kafka.mark('error-count');
  // kill -9, while its windows are open, the replica that forwards the input (the topic has fewer partitions than
  // replicas): the local runtime restarts it, its source partitions move to the others and back (their watermarks stay
  // where it left them until their new owner reports them), its exchange rows are redelivered to it, and the copies
  // it had forwarded but not committed come a second time and are recognised: nothing lost, nothing counted twice.
  const owner = await forwardingReplica('iot-monitoring-sql-aggregation', 'iot-monitoring-stream', 3);
  await send(second.slice(0, 300));
  const victim = sr.up.processorPids('default', 'iot-monitoring-sql-aggregation').find((p) => p.slot === `${owner}-processor`);
  assert.ok(victim, `replica ${owner} runs`);
  process.kill(victim.pid, 'SIGKILL');
  await send(second.slice(300));
  await close(t1 + 6 * MINUTE);
  const expectedSecond = await iotExpected(second);
  const three = iotRows(await collectRows('error-count', mark, expectedSecond.length, 180_000));
  assert.deepEqual(canonicalRows(three), canonicalRows(expectedSecond), 'three replicas, one killed mid-window');
  // Same data shape, same answers: the windows of both runs agree row for row once shifted by the runs' offset.
  const shift = (rows: Record<string, OracleValue>[], by: number): string[] => canonicalRows(rows.map((r) => ({ ...r, window_start: (r.window_start as number) - by, window_end: (r.window_end as number) - by })));
  assert.deepEqual(shift(three, t1), shift(one, base), 'replicas 1 and 3 agree');
});

scenario('an upsert-kafka sink keyed by its primary key: updates, and a Kafka tombstone (null value) when a row stops passing HAVING', async (records) => {
  await sr.up.apply(`apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: readings }
spec:
  name: readings
  protocol: kafka
  dataSchemaContext:
    schema:
      name: Readings
      namespace: demo
      fields: [{ name: sensor, type: string }, { name: v, type: int }]
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: quiet-sensors }
spec:
  name: quiet-sensors
  protocol: kafka
  dataSchemaContext:
    schema:
      name: QuietSensors
      namespace: demo
      fields: [{ name: sensor, type: string }, { name: readings, type: long }]
    primaryKey: [sensor]
    options:
      ddl.connector: upsert-kafka
      ddl.value.format: json
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: quiet-sensors }
spec:
  type: FSQL
  inlineQuery:
    - "INSERT INTO [[STREAM:quiet-sensors]] SELECT sensor, COUNT(*) AS readings FROM [[STREAM:readings]] GROUP BY sensor HAVING COUNT(*) < 3"
`);
  await sr.up.waitReady('srp', 'quiet-sensors', 120_000);
  const kafka = new Kafka({ clientId: 'sr-sql-upsert', brokers: sr.up.kafkaBootstrap.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `sr-sql-upsert-${Date.now()}`, maxWaitTimeInMs: 100 });
  const seen: { key: string; value: Buffer | null; kind?: string }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: ['quiet-sensors'], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { seen.push({ key: message.key?.toString() ?? '', value: message.value, kind: message.headers?.['sr-row-kind']?.toString() }); } });
  try {
    // One record at a time: each result is confirmed before the next reading (the order of a key's changes matters).
    for (const [i, sensor] of ['s1', 's2', 's1', 's1'].entries()) {
      await records.send('readings', [{ value: { sensor, v: i }, partition: 0 }]);
      await waitFor(`result ${i + 1}`, () => seen.length >= i + 1, 60_000, 100);
    }
    const s1 = seen.filter((r) => r.key === JSON.stringify({ sensor: 's1' }));
    const s2 = seen.filter((r) => r.key === JSON.stringify({ sensor: 's2' }));
    assert.deepEqual(s1.slice(0, 2).map((r) => JSON.parse(r.value?.toString() ?? 'null') as unknown), [{ sensor: 's1', readings: 1 }, { sensor: 's1', readings: 2 }]);
    assert.equal(s1[1].kind, 'update');
    // The third reading of s1 fails HAVING COUNT(*) < 3: the key is deleted — a tombstone, whose value is null.
    assert.equal(s1.length, 3);
    assert.equal(s1[2].value, null, 'a Kafka tombstone');
    assert.equal(s1[2].kind, 'delete');
    assert.deepEqual(s2.map((r) => JSON.parse(r.value?.toString() ?? 'null') as unknown), [{ sensor: 's2', readings: 1 }]);
  } finally {
    await consumer.disconnect();
  }
});
