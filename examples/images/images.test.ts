// The image implementations as the local runtime runs them (compiled main.js, GRPC_PORT / SPRING_* environment):
// the UDFs over the gRPC protocol (uppercase variants, the window aggregators with the originals' results), the
// Spring property binding and SimpleDateFormat, and the Spring Cloud Stream apps chained over the real RabbitMQ
// (time-source -> transform-processor -> log-sink, with SPRING_RABBITMQ_* and a partitioned output). Their Kafka
// path runs end to end under `sr up` (test/e2e/images-samples.test.ts).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import { UdfClient } from '../../processor/udf/client';
import { WindowOperator } from '../../processor/window/operator';
import { decodeWindowReply, encodeWindowRequest } from '../../processor/window/encoding';
import { freePort, waitFor } from '../../test/support/ports';
import { rabbitUrl, uniqueName } from '../../test/support/rabbitmq';
import { SpringProperties, simpleDateFormat } from './lib/spring';

const children: ChildProcess[] = [];
const clients: UdfClient[] = [];
after(() => {
  for (const c of clients) c.close();
  for (const child of children) child.kill('SIGTERM');
});

interface Started { child: ChildProcess; output: () => string }

function start(image: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, [join(__dirname, image, 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  return { child, output: () => out };
}

async function udf(image: string): Promise<{ client: UdfClient; started: Started }> {
  const port = await freePort();
  const started = start(image, { GRPC_PORT: String(port) });
  await waitFor(`${image} listening`, () => started.output().includes(`listening on 127.0.0.1:${port}`), 15_000, 50);
  const client = new UdfClient({ address: `127.0.0.1:${port}`, maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 200, timeoutMs: 5000 });
  clients.push(client);
  return { client, started };
}

test('udf-uppercase java, go, python: the payload uppercased; headers kept except by the Go one', async () => {
  for (const variant of ['java', 'go', 'python']) {
    const { client, started } = await udf(`udf-uppercase-${variant}`);
    const reply = await client.requestReply({ payload: Buffer.from('{"fullName":"Ada Lovelace"}'), headers: { contentType: 'application/json', eventtime: '5' } });
    assert.equal(reply.payload.toString(), '{"FULLNAME":"ADA LOVELACE"}', variant);
    assert.deepEqual(reply.headers, variant === 'go' ? {} : { contentType: 'application/json', eventtime: '5' }, variant);
    assert.match(started.output(), /Received: \{"fullName":"Ada Lovelace"\}/);
  }
});

/** A released 5 s window holding these JSON events (what the processor sends an aggregator). */
function windowOf(events: object[]): ReturnType<WindowOperator<number>['advance']>[number] {
  const windows = new WindowOperator<number>({
    type: 'TUMBLING', sizeMs: 5000, slideMs: 5000, gapMs: 0, allowedLatenessMs: 0, lateEventMode: 'DROP', idleTimeoutMs: undefined, maxState: 1000,
  });
  events.forEach((e, i) => windows.add({ timestamp: 1000 + i, payload: Buffer.from(JSON.stringify(e)), headers: { contentType: 'application/json' }, token: i }, 0));
  return windows.advance(5000)[0];
}

async function aggregate(image: string, events: object[]): Promise<unknown[]> {
  const { client } = await udf(image);
  const release = windowOf(events);
  const reply = await client.requestReply(encodeWindowRequest(release));
  assert.equal(reply.headers.contentType, 'multipart/json');
  return decodeWindowReply(reply, release, 5000).map((m) => JSON.parse(m.payload.toString()) as unknown);
}

const users = [
  { fullName: 'Ada', team: 'red', score: 10 }, { fullName: 'Bob', team: 'blue', score: 5 },
  { fullName: 'Ada', team: 'red', score: 7 }, { fullName: 'Cy', team: 'red', score: '3' },
];

test('user-score-js and team-score-js: totals per user and per team, with the window bounds', async () => {
  assert.deepEqual(await aggregate('user-score-js', users), [
    { from: '0', to: '5000', name: 'Ada', totalScore: 17 }, { from: '0', to: '5000', name: 'Bob', totalScore: 5 }, { from: '0', to: '5000', name: 'Cy', totalScore: 3 },
  ]);
  assert.deepEqual(await aggregate('team-score-js', users), [
    { from: '0', to: '5000', team: 'red', totalScore: 20 }, { from: '0', to: '5000', team: 'blue', totalScore: 5 },
  ]);
  // Only multipart/json windows, as the npm helper.
  const { client } = await udf('team-score-js');
  await assert.rejects(client.requestReply({ payload: Buffer.from('{}'), headers: { contentType: 'application/json' } }), /multipart\/json/);
});

test('gaming-user-score then gaming-team-score: user sums as strings, team totals from them', async () => {
  const userScores = await aggregate('gaming-user-score', users.filter((u) => typeof u.score === 'number'));
  assert.deepEqual(userScores, [{ user: 'Ada', team: 'red', userTotalScore: '17' }, { user: 'Bob', team: 'blue', userTotalScore: '5' }]);
  assert.deepEqual(await aggregate('gaming-team-score', userScores as object[]), [
    { from: '0', to: '5000', team: 'red', totalScore: 17 }, { from: '0', to: '5000', team: 'blue', totalScore: 5 },
  ]);
});

test('udf-anomaly-detection-js: only cards with more than 5 authorizations in the window', async () => {
  const attempts = [...Array.from({ length: 6 }, () => ({ card_number: '1111' })), ...Array.from({ length: 5 }, () => ({ card_number: '2222' }))];
  assert.deepEqual(await aggregate('udf-anomaly-detection-js', attempts), [{ from: '0', to: '5000', card_number: '1111', count: 6 }]);
  assert.deepEqual(await aggregate('udf-anomaly-detection-js', attempts.slice(6)), [], 'nothing suspicious: no result');
});

test('Spring properties: relaxed binding of environment variables and --arguments', () => {
  const props = new SpringProperties(
    { 'TIME_DATE-FORMAT': 'ss', SPRING_CLOUD_STREAM_POLLER_FIXEDDELAY: '2000', SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_PRODUCER_PARTITIONCOUNT: '3' },
    ['--log.expression=payload + 1'],
  );
  assert.equal(props.get('time.date-format'), 'ss');
  assert.equal(props.millis('spring.cloud.stream.poller.fixed-delay', 1000), 2000);
  assert.equal(props.int('spring.cloud.stream.bindings.output.producer.partition-count'), 3);
  assert.equal(props.get('log.expression'), 'payload + 1');
  assert.equal(props.millis('spring.cloud.stream.poller.initial-delay', 7), 7);
});

test("SimpleDateFormat: time-source's default MM/dd/yy HH:mm:ss and the samples' patterns", () => {
  const date = new Date(2026, 0, 5, 7, 8, 9, 45);
  assert.equal(simpleDateFormat('MM/dd/yy HH:mm:ss')(date), '01/05/26 07:08:09');
  assert.equal(simpleDateFormat('dd/MM/yyyy HH:mm:ss')(date), '05/01/2026 07:08:09');
  assert.equal(simpleDateFormat('ss')(date), '09');
  assert.equal(simpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS")(date), '2026-01-05T07:08:09.045');
  assert.equal(simpleDateFormat("EEE, d MMM yyyy h 'o''clock' a, ''mm''")(date), "Mon, 5 Jan 2026 7 o'clock AM, '08'");
  assert.throws(() => simpleDateFormat('qq'), /letter 'q' is not supported/);
  assert.throws(() => simpleDateFormat("'open"), /unterminated quote/);
});

test('Spring Cloud Stream apps over RabbitMQ: time-source -> transform-processor (partitioned out) -> log-sink', async () => {
  const ticks = uniqueName('sr-images-ticks');
  const upper = uniqueName('sr-images-upper');
  const url = new URL(rabbitUrl());
  const rabbit = {
    SPRING_CLOUD_STREAM_DEFAULTBINDER: 'rabbit', SPRING_RABBITMQ_HOST: url.hostname, SPRING_RABBITMQ_PORT: url.port || '5672',
    SPRING_RABBITMQ_USERNAME: decodeURIComponent(url.username || 'guest'), SPRING_RABBITMQ_PASSWORD: decodeURIComponent(url.password || 'guest'),
  };
  // A probe on the partitioned output: queue bound to partition 1's routing key, and one to everything.
  const conn = await amqp.connect(rabbitUrl());
  const got: { key: string; body: string; headers: Record<string, unknown> }[] = [];
  try {
    const ch = await conn.createChannel();
    await ch.assertExchange(upper, 'topic', { durable: true });
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(q.queue, upper, '#');
    await ch.consume(q.queue, (m) => { if (m) got.push({ key: m.fields.routingKey, body: m.content.toString(), headers: m.properties.headers ?? {} }); }, { noAck: true });

    const sink = start('log-sink', { ...rabbit, SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION: upper, SPRING_CLOUD_STREAM_BINDINGS_INPUT_GROUP: 'log-sink', LOG_EXPRESSION: "'My uppercase timestamp is: ' + payload" });
    start('transform-processor', {
      ...rabbit, SPEL_FUNCTION_EXPRESSION: "payload.toUpperCase() + '-x'",
      SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION: ticks, SPRING_CLOUD_STREAM_BINDINGS_INPUT_GROUP: 'transformer',
      SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION: upper,
      SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_PRODUCER_PARTITIONKEYEXPRESSION: 'payload', SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_PRODUCER_PARTITIONCOUNT: '2',
    });
    await waitFor('log-sink and transform-processor bound', () => /log-sink: logging/.test(sink.output()), 15_000, 50);
    await new Promise((r) => setTimeout(r, 500)); // the transformer's queue is declared before the first tick
    const source = start('time-source', { ...rabbit, SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION: ticks, 'SPRING_CLOUD_STREAM_POLLER_FIXED-DELAY': '200', 'TIME_DATE-FORMAT': "'tick' HH:mm:ss.SSS" });
    await waitFor('uppercased ticks on the output exchange and in the sink log', () =>
      got.length >= 3 && (sink.output().match(/My uppercase timestamp is: TICK \d\d:\d\d:\d\d\.\d{3}-x/g) ?? []).length >= 3, 30_000, 100)
      .catch((err: unknown) => { throw new Error(`${String(err)}\nsource: ${source.output()}\nsink: ${sink.output()}\ngot: ${JSON.stringify(got.slice(0, 3))}`); });
    for (const m of got) {
      assert.match(m.body, /^TICK \d\d:\d\d:\d\d\.\d{3}-X$|^TICK \d\d:\d\d:\d\d\.\d{3}-x$/);
      const partition = Number(m.headers.scst_partition);
      assert.ok(partition === 0 || partition === 1, 'scst_partition set');
      assert.equal(m.key, `${upper}-${partition}`, 'partitioned routing key');
    }
    assert.match(sink.output(), / INFO \d+ --- \[log-sink\] log-sink : My uppercase timestamp is: TICK/);
  } finally {
    for (const child of children.splice(0)) child.kill('SIGTERM');
    // The apps declared durable queues and exchanges (Spring's conventions): remove them.
    const ch = await conn.createChannel().catch(() => undefined);
    for (const queue of [`${ticks}.transformer`, `${upper}.log-sink`]) await ch?.deleteQueue(queue).catch(() => undefined);
    for (const exchange of [ticks, upper]) await ch?.deleteExchange(exchange).catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
});
