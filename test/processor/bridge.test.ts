// End to end: the real `sr processor` child process bridging Kafka and RabbitMQ in every direction at once
// (two inputs, two outputs): every message reaches both outputs with its headers kept; /healthz, /readyz,
// /metrics, /debug/state and /debug/tap answer; SIGTERM exits cleanly.
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessorConfig } from '../../processor/config';
import { startKafka, type KafkaHandle } from '../support/kafka';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import {
  countPayloads,
  KafkaCollector,
  kafkaProduce,
  RabbitCollector,
  rabbitCleanup,
  SR_CLI,
  rabbitPublish,
  startProcessor,
  waitReady,
  type ProcessorProcess,
} from '../support/processor-harness';

let kafka: KafkaHandle;
let processor: ProcessorProcess | undefined;
const id = uniqueName('br');
const names = {
  kafkaIn: `${id}-kin`,
  kafkaOut: `${id}-kout`,
  rabbitIn: `${id}-rin`,
  rabbitOut: `${id}-rout`,
  group: `${id}-proc`,
};
const collectors: Array<{ close(): Promise<void> }> = [];

before(async () => {
  kafka = await startKafka();
  await kafka.createTopic(names.kafkaIn, 2);
  await kafka.createTopic(names.kafkaOut, 2);
});

after(async () => {
  await processor?.kill();
  for (const c of collectors) await c.close();
  await kafka?.stop();
  await rabbitCleanup(rabbitUrl(), [names.rabbitIn, names.rabbitOut, `${names.rabbitIn}.${names.group}.dlq`], [
    `${names.rabbitIn}.${names.group}`,
    `${names.rabbitOut}.collector`,
    `${names.rabbitIn}.${names.group}.dlq.${names.group}`,
  ]);
});

test('bridges Kafka and RabbitMQ in all four directions, keeping headers', async () => {
  const rabbit = { url: rabbitUrl() };
  const kafkaServer = { url: kafka.bootstrap };
  const config: ProcessorConfig = {
    name: 'bridge',
    namespace: 'test',
    group: names.group,
    instanceIndex: 0,
    instanceCount: 1,
    inputs: [
      { stream: 'kafka-in', protocol: 'kafka', destination: names.kafkaIn, server: kafkaServer },
      { stream: 'rabbit-in', protocol: 'rabbitmq', destination: names.rabbitIn, server: rabbit },
    ],
    outputs: [
      { stream: 'kafka-out', protocol: 'kafka', destination: names.kafkaOut, server: kafkaServer },
      { stream: 'rabbit-out', protocol: 'rabbitmq', destination: names.rabbitOut, server: rabbit },
    ],
    // Both inputs carry the same event times: once one input has moved the watermark, the other's events are
    // behind it. DROP (the default, as in the original) would drop them; a bridge that forwards everything says UPSERT.
    attributes: { 'srp.lateEventMode': 'UPSERT' },
    http: { port: 0 },
  };
  const rabbitOut = await RabbitCollector.start(rabbit.url, names.rabbitOut);
  collectors.push(rabbitOut);
  const kafkaOut = await KafkaCollector.start(kafka.bootstrap, names.kafkaOut, `${id}-collector`);
  collectors.push(kafkaOut);

  processor = await startProcessor(config);
  await waitReady(processor.debugUrl);

  // A tap listener sees a sample of what passes (limit 3, then the stream ends).
  const tapped = fetch(`${processor.debugUrl}/debug/tap?sample=1&limit=3`).then((r) => r.text());
  // ... and so does `sr tap`, the CLI (only the `out` point, 2 lines, then it exits).
  const cli = spawn(process.execPath, [SR_CLI, 'tap', processor.debugUrl, '--point', 'out', '--limit', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let cliOut = '';
  cli.stdout.on('data', (d: Buffer) => { cliOut += d.toString(); });
  const cliExit = new Promise<number | null>((r) => cli.once('exit', r));
  await waitFor('sr tap connected', async () => /"tapListeners": 2/.test(await (await fetch(`${processor!.debugUrl}/debug/state`)).text()));

  const n = 200;
  const headers = (i: number): Record<string, string> => ({
    contentType: 'application/json',
    eventtime: String(1_700_000_000_000 + i),
    watermark: String(1_700_000_000_000),
    'x-user': `u${i}`,
  });
  await kafkaProduce(kafka.bootstrap, names.kafkaIn, Array.from({ length: n }, (_, i) => ({ payload: JSON.stringify({ from: 'kafka', i }), headers: headers(i), key: `k${i}` })));
  await rabbitPublish(rabbit.url, names.rabbitIn, Array.from({ length: n }, (_, i) => ({ payload: JSON.stringify({ from: 'rabbit', i }), headers: headers(i) })));

  await waitFor('all messages on both outputs', () => rabbitOut.messages.length >= 2 * n && kafkaOut.messages.length >= 2 * n, 60_000, 100);
  for (const received of [rabbitOut.messages, kafkaOut.messages]) {
    const counts = countPayloads(received);
    assert.equal(counts.size, 2 * n, 'every distinct message arrived');
    for (const m of received) {
      const body = JSON.parse(m.payload) as { i: number };
      assert.equal(m.headers['x-user'], `u${body.i}`);
      assert.equal(m.headers.contentType, 'application/json');
      assert.equal(m.headers.eventtime, String(1_700_000_000_000 + body.i));
    }
  }
  // The Kafka key survives a Kafka -> Kafka hop.
  const keyed = kafkaOut.messages.find((m) => (JSON.parse(m.payload) as { from: string }).from === 'kafka');
  assert.ok(keyed?.key?.startsWith('k'));

  const tapText = await tapped;
  const tapLines = tapText.trim().split('\n').map((l) => JSON.parse(l) as { point: string; headers: Record<string, string> });
  assert.equal(tapLines.length, 3);
  assert.ok(tapLines.every((l) => typeof l.point === 'string' && typeof l.headers === 'object'));

  assert.equal(await cliExit, 0);
  const cliLines = cliOut.trim().split('\n').map((l) => JSON.parse(l) as { point: string; stream: string });
  assert.equal(cliLines.length, 2);
  assert.ok(cliLines.every((l) => l.point === 'out'));

  const metrics = await (await fetch(`${processor.debugUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`sr_processor_messages_in_total\\{[^}]*input="kafka-in"[^}]*\\} ${n}`));
  assert.match(metrics, new RegExp(`sr_processor_messages_out_total\\{[^}]*output="rabbit-out"[^}]*\\} ${2 * n}`));
  const state = (await (await fetch(`${processor.debugUrl}/debug/state`)).json()) as { inputs: Array<{ state: string; server: string }> };
  assert.deepEqual(state.inputs.map((i) => i.state), ['connected', 'connected']);
  assert.ok(!JSON.stringify(state).includes('guest:guest'), 'no credentials in /debug/state');
  assert.equal((await fetch(`${processor.debugUrl}/healthz`)).status, 200);

  assert.equal(await processor.stop(), 0, `graceful exit; stderr: ${processor.stderr()}`);
});
