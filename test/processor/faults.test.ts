// Faults, with the real `sr processor` process: a PRIVATE RabbitMQ node restarted mid-stream (stop_app/start_app)
// and a kafka-mock broker set down and up mid-stream. Every message must still arrive; duplicates are counted and
// allowed (at-least-once), loss is not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import type { ProcessorConfig } from '../../processor/config';
import { startKafka, type KafkaHandle } from '../support/kafka';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { startPrivateRabbit, type PrivateRabbit } from '../support/processor-rabbit-node';
import { countPayloads, KafkaCollector, kafkaProduce, rabbitCleanup, rabbitPublish, startProcessor, waitReady, type ProcessorProcess, type ReceivedMessage } from '../support/processor-harness';

let rabbit: PrivateRabbit | undefined;
// The private node takes a while to boot on a busy machine: it starts while the Kafka test runs.
let rabbitStarting: Promise<PrivateRabbit> | undefined;
let kafka: KafkaHandle | undefined;
let outputKafka: KafkaHandle | undefined;
const processes: ProcessorProcess[] = [];
const closers: Array<{ close(): Promise<void> }> = [];

before(() => {
  rabbitStarting = startPrivateRabbit();
  rabbitStarting.catch(() => undefined);
});

after(async () => {
  if (!rabbit) rabbit = await rabbitStarting?.catch(() => undefined);
  for (const p of processes) await p.kill();
  for (const c of closers) await c.close();
  await kafka?.stop();
  await outputKafka?.stop();
  await rabbit?.destroy();
});

async function messagesOut(debugUrl: string): Promise<number> {
  const text = await (await fetch(`${debugUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^sr_processor_messages_out_total\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

/** Reads a queue until `expected` distinct payloads were seen (or the timeout), acknowledging as it goes. */
async function drainQueue(url: string, queue: string, expected: number, timeoutMs: number): Promise<ReceivedMessage[]> {
  const connection = await amqp.connect(url);
  const received: ReceivedMessage[] = [];
  const distinct = new Set<string>();
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(1000);
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      const payload = msg.content.toString();
      received.push({ payload, headers: {} });
      distinct.add(payload);
      channel.ack(msg);
    });
    await waitFor(`${expected} distinct messages in ${queue}`, () => distinct.size >= expected, timeoutMs, 100).catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
  return received;
}

// The outage hits the input cluster: the consumer loses a partition leader mid-stream and must resume without
// loss. The output goes to a second cluster, because on the kafka-mock a broker taken down while it acknowledges
// produce requests sometimes drops records it had acknowledged (seen as ~17 of 12000 missing from its log while
// the processor held broker acks for all); that output-side case is tracked in the issue, not asserted here.
test('a Kafka broker goes down and up mid-stream: every message arrives', async () => {
  kafka = await startKafka({ brokers: 3 });
  outputKafka = await startKafka({ brokers: 1 });
  const id = uniqueName('fk');
  const input = `${id}-in`;
  const output = `${id}-out`;
  await kafka.createTopic(input, 3);
  await outputKafka.createTopic(output, 3);
  const config: ProcessorConfig = {
    name: 'kfault', namespace: 'test', group: `${id}-proc`, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'kafka', destination: input, server: { url: kafka.bootstrap }, prefetch: 50 }],
    outputs: [{ stream: 'out', protocol: 'kafka', destination: output, server: { url: outputKafka.bootstrap } }],
    attributes: {},
    http: { port: 0 },
  };
  const proc = await startProcessor(config, { logLevel: 'error' });
  processes.push(proc);
  await waitReady(proc.debugUrl);
  const n = 12_000;
  await kafkaProduce(kafka.bootstrap, input, Array.from({ length: n }, (_, i) => ({ payload: `k${i}`, partition: i % 3 })));
  await waitFor('the stream to be under way', async () => (await messagesOut(proc.debugUrl)) >= 200, 30_000, 20);
  await kafka.brokerDown(2);
  assert.ok((await messagesOut(proc.debugUrl)) < n, 'the broker went down mid-stream');
  await new Promise((r) => setTimeout(r, 1500)); // the broker stays down for a while: requests to it fail
  await kafka.brokerUp(2);
  // The verdict is what the output topic holds, read from the beginning by a fresh consumer once the processor has
  // confirmed everything (a consumer that lived through the outage could itself skip records).
  await waitFor('the processor to confirm every message', async () => (await messagesOut(proc.debugUrl)) >= n, 90_000, 200);
  const collector = await KafkaCollector.start(outputKafka.bootstrap, output, `${id}-collector`);
  closers.push(collector);
  await waitFor('every message on the output', () => countPayloads(collector.messages).size >= n, 60_000, 200).catch((err: unknown) => {
    throw new Error(`${String(err)}; received ${countPayloads(collector.messages).size}/${n}`);
  });
  const counts = countPayloads(collector.messages);
  process.stdout.write(`# kafka broker down/up: ${n} sent, ${counts.size} distinct received, ${collector.messages.length - counts.size} duplicates\n`);
  assert.equal(counts.size, n);
  await waitReady(proc.debugUrl, 30_000);
  assert.equal(await proc.stop(), 0);
});

test('RabbitMQ restarts mid-stream: every message arrives', async () => {
  rabbit = await (rabbitStarting as Promise<PrivateRabbit>);
  const id = uniqueName('fr');
  const input = `${id}-in`;
  const output = `${id}-out`;
  const collectorGroup = 'collector';
  const config: ProcessorConfig = {
    name: 'restart', namespace: 'test', group: `${id}-proc`, instanceIndex: 0, instanceCount: 1,
    // A small prefetch keeps the stream going long enough to be cut in the middle.
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url: rabbit.url }, prefetch: 5 }],
    // requiredGroups: the collector's durable queue exists before the first publish, and survives the restart.
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url: rabbit.url }, requiredGroups: [collectorGroup] }],
    attributes: {},
    http: { port: 0 },
  };
  const proc = await startProcessor(config, { logLevel: 'error' });
  processes.push(proc);
  await waitReady(proc.debugUrl);
  const n = 4000;
  await rabbitPublish(rabbit.url, input, Array.from({ length: n }, (_, i) => ({ payload: `m${i}`, headers: { seq: String(i) } })));
  await waitFor('the stream to be under way', async () => (await messagesOut(proc.debugUrl)) >= 200, 30_000, 20);
  await rabbit.stopApp();
  assert.ok((await messagesOut(proc.debugUrl)) < n, 'the restart happened mid-stream');
  await rabbit.startApp();
  const received = await drainQueue(rabbit.url, `${output}.${collectorGroup}`, n, 90_000);
  const counts = countPayloads(received);
  const missing = Array.from({ length: n }, (_, i) => `m${i}`).filter((p) => !counts.has(p));
  const duplicates = received.length - counts.size;
  process.stdout.write(`# rabbitmq restart: ${n} sent, ${counts.size} distinct received, ${duplicates} duplicates\n`);
  assert.deepEqual(missing, [], `lost messages: ${missing.length}`);
  await waitReady(proc.debugUrl);
  assert.equal(await proc.stop(), 0);
});

test('SIGTERM mid-stream drains in-flight messages; a new instance finishes the rest: none lost', async () => {
  const url = rabbitUrl();
  const id = uniqueName('fs');
  const input = `${id}-in`;
  const output = `${id}-out`;
  const group = `${id}-proc`;
  const config: ProcessorConfig = {
    name: 'drain', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url }, prefetch: 20 }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url }, requiredGroups: ['collector'] }],
    attributes: {},
    http: { port: 0 },
  };
  try {
    const first = await startProcessor(config);
    processes.push(first);
    await waitReady(first.debugUrl);
    const n = 3000;
    await rabbitPublish(url, input, Array.from({ length: n }, (_, i) => ({ payload: `s${i}` })));
    await waitFor('the stream under way', async () => (await messagesOut(first.debugUrl)) >= 100, 30_000, 10);
    assert.equal(await first.stop(), 0, 'graceful exit');
    const second = await startProcessor(config);
    processes.push(second);
    const received = await drainQueue(url, `${output}.collector`, n, 60_000);
    const counts = countPayloads(received);
    process.stdout.write(`# sigterm mid-stream: ${n} sent, ${counts.size} distinct, ${received.length - counts.size} duplicates\n`);
    assert.equal(counts.size, n);
    assert.equal(await second.stop(), 0);
  } finally {
    await rabbitCleanup(url, [input, output], [`${input}.${group}`, `${output}.collector`]);
  }
});
