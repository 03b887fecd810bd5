// Issue 15, "Delivery": nothing a processor acknowledges may be lost, through the real `sr processor` against the
// machine's RabbitMQ and the kafka-mock:
//  - a RabbitMQ publish no queue takes is returned (mandatory), retried, then dead-lettered; the dead letter is read
//    back from the dead-letter destination's own durable queue;
//  - two replicas over five RabbitMQ partitions: instance i consumes every partition p with p % 2 == i;
//  - a Kafka record the broker refuses for good (MESSAGE_TOO_LARGE) is dead-lettered after bounded attempts and the
//    input offset commits;
//  - a late message in a stateless processor passes through by default; an explicit DROP still drops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import type { ProcessorConfig } from '../../processor/config';
import { drainQueue, rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import {
  countPayloads,
  kafkaClientFor,
  KafkaCollector,
  kafkaProduce,
  RabbitCollector,
  rabbitPublish,
  startProcessor,
  useProcessorTestResources,
  waitReady,
} from '../support/processor-harness';

const resources = useProcessorTestResources();
const { processes, closers, exchanges, queues } = resources;
const id = uniqueName('dlv');
const rabbit = { url: rabbitUrl() };

async function metricsText(debugUrl: string): Promise<string> {
  return (await fetch(`${debugUrl}/metrics`)).text();
}

test('RabbitMQ: a message no queue takes is not confirmed; it is retried, then dead-lettered into a queue it can be read from', async () => {
  const input = `${id}-un-in`;
  const output = `${id}-un-out`; // nobody reads it: no queue is bound
  const group = `${id}-un`;
  const dlq = `${input}.${group}.dlq`;
  exchanges.push(input, output, dlq);
  queues.push(`${input}.${group}`, dlq);
  const proc = await resources.startReady({
    name: 'unroutable', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: rabbit }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: rabbit }],
    attributes: {},
    http: { port: 0 },
  });
  const started = Date.now();
  await rabbitPublish(rabbitUrl(), input, [{ payload: '{"n":1}', headers: { contentType: 'application/json', mark: 'kept' } }]);
  // While the broker returns it, /readyz says so.
  await waitFor('/readyz naming the unroutable output', async () => {
    const readyz = await fetch(`${proc.debugUrl}/readyz`);
    return readyz.status === 503 && /output out: 1 message\(s\) returned as unroutable/.test(await readyz.text());
  }, 10_000, 25);

  // The dead-letter destination has a durable queue of its own (named after it), so the letter can be read back.
  let letters: Array<{ payload: string; headers: Record<string, string> }> = [];
  await waitFor('the dead letter in its queue', async () => {
    letters = [...letters, ...(await drainQueue(dlq))];
    return letters.length > 0;
  }, 30_000, 200);
  assert.equal(letters.length, 1);
  assert.equal(letters[0].payload, '{"n":1}');
  assert.equal(letters[0].headers['x-exception-stage'], 'produce');
  assert.match(letters[0].headers['x-exception-message'], /unroutable.*no queue is bound to exchange/);
  assert.equal(letters[0].headers['x-original-destination'], input);
  assert.equal(letters[0].headers.mark, 'kept', 'the original headers are kept');
  assert.ok(Date.now() - started >= 1000, 'retried with backoff before giving up');

  // Counted as undeliverable and dead-lettered, never as delivered; /debug/state says why (and /readyz only while
  // the returns are retried: a given-up message must not keep the processor unready).
  const metrics = await metricsText(proc.debugUrl);
  assert.match(metrics, /sr_processor_messages_undeliverable_total\{[^}]*output="out"[^}]*reason="unroutable"[^}]*\} 1/);
  assert.match(metrics, /sr_processor_messages_dead_lettered_total\{[^}]*stage="produce"[^}]*\} 1/);
  assert.doesNotMatch(metrics, /sr_processor_messages_out_total\{[^}]*output="out"[^}]*\} [1-9]/);
  const state = (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as { outputs: Array<{ detail: { undeliverable: number; lastUndeliverable?: { error: string } } }> };
  assert.equal(state.outputs[0].detail.undeliverable, 1);
  assert.match(state.outputs[0].detail.lastUndeliverable?.error ?? '', /unroutable: no queue is bound to exchange/);
  assert.equal((await fetch(`${proc.debugUrl}/readyz`)).status, 200, 'ready again once the message is dead-lettered');

  // The input was acknowledged once the dead letter was confirmed.
  const connection = await amqp.connect(rabbitUrl());
  try {
    const channel = await connection.createChannel();
    await waitFor('input acknowledged', async () => {
      const q = await channel.checkQueue(`${input}.${group}`);
      return q.messageCount === 0;
    }, 10_000, 100);
  } finally {
    await connection.close();
  }
  assert.equal(await proc.stop(), 0);
});

test('RabbitMQ partitioned input: two replicas over five partitions consume every partition, nothing lost', async () => {
  const input = `${id}-pin`;
  const output = `${id}-pout`;
  const group = `${id}-pg`;
  exchanges.push(input, output, `${input}.${group}.dlq`);
  queues.push(...Array.from({ length: 5 }, (_, p) => `${input}.${group}-${p}`), `${output}.collector`, `${input}.${group}.dlq`);
  const config = (index: number): ProcessorConfig => ({
    name: 'parts', namespace: 'test', group, instanceIndex: index, instanceCount: 2,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: rabbit, partitioned: true, partitionCount: 5 }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: rabbit }],
    attributes: {},
    http: { port: 0 },
  });
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const [zero, one] = await Promise.all([startProcessor(config(0)), startProcessor(config(1))]);
  processes.push(zero, one);
  await Promise.all([waitReady(zero.debugUrl), waitReady(one.debugUrl)]);
  const partitionsOf = async (debugUrl: string): Promise<number[]> => {
    const state = (await (await fetch(`${debugUrl}/debug/state`)).json()) as { inputs: Array<{ detail: { partitions?: number[] } }> };
    return state.inputs[0].detail.partitions ?? [];
  };
  assert.deepEqual(await partitionsOf(zero.debugUrl), [0, 2, 4]);
  assert.deepEqual(await partitionsOf(one.debugUrl), [1, 3]);

  // As a partitioned producer (Spring's or ours) routes: `<destination>-<p>`, with the scst_partition header.
  const count = 100;
  await rabbitPublish(rabbitUrl(), input, Array.from({ length: count }, (_, i) => ({
    payload: `m${i}`, routingKey: `${input}-${i % 5}`, headers: { scst_partition: String(i % 5) },
  })));
  await waitFor('every message of every partition', () => collector.messages.length >= count, 30_000, 50);
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would show up now
  const counts = countPayloads(collector.messages);
  assert.equal(counts.size, count, 'nothing lost');
  assert.ok([...counts.values()].every((n) => n === 1), 'nothing twice');
  // Each partition went to its instance only.
  const byInstance = async (debugUrl: string): Promise<number> => {
    const metrics = await metricsText(debugUrl);
    return Number(/sr_processor_messages_in_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
  };
  assert.equal(await byInstance(zero.debugUrl), 60);
  assert.equal(await byInstance(one.debugUrl), 40);
  assert.equal(await zero.stop(), 0);
  assert.equal(await one.stop(), 0);
});

test('Kafka: a record the broker refuses for good (MESSAGE_TOO_LARGE) is dead-lettered after bounded attempts and the input offset commits', async () => {
  const { kafka } = resources;
  if (!kafka.control) return; // the refusal is injected through the kafka-mock's control port
  const input = `${id}-kin`;
  const output = `${id}-kout`;
  const group = `${id}-kg`;
  const dlq = `${id}-kdlq`;
  exchanges.push(dlq);
  queues.push(dlq);
  await kafka.createTopic(input, 1);
  await kafka.createTopic(output, 1);
  await kafkaProduce(kafka.bootstrap, input, [{ payload: 'too-large', headers: { mark: 'kept' } }]);
  // librdkafka's mock enforces no size limit of its own (a 20 MB record is accepted), so the test makes it answer
  // every Produce request as a real broker answers a record above message.max.bytes. The dead-letter destination is
  // on RabbitMQ, out of the injection's way.
  await kafka.produceErrors(1000, 10);
  const proc = await resources.startReady({
    name: 'toolarge', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'kafka', destination: input, server: { url: kafka.bootstrap } }],
    outputs: [{ stream: 'out', protocol: 'kafka', destination: output, server: { url: kafka.bootstrap } }],
    deadLetter: { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: rabbit },
    attributes: {},
    http: { port: 0 },
  });
  let letters: Array<{ payload: string; headers: Record<string, string> }> = [];
  await waitFor('the dead letter', async () => {
    letters = [...letters, ...(await drainQueue(dlq))];
    return letters.length > 0;
  }, 30_000, 200);
  assert.equal(letters.length, 1);
  assert.equal(letters[0].payload, 'too-large');
  assert.equal(letters[0].headers['x-exception-stage'], 'produce');
  assert.match(letters[0].headers['x-exception-message'], /MESSAGE_TOO_LARGE/);
  assert.equal(letters[0].headers.mark, 'kept');
  assert.match(await metricsText(proc.debugUrl), /sr_processor_messages_undeliverable_total\{[^}]*output="out"[^}]*reason="MESSAGE_TOO_LARGE"[^}]*\} 1/);

  // The input offset commits past it: the consumer group is not stuck behind a record that can never be written.
  const admin = kafkaClientFor(kafka.bootstrap).admin();
  await admin.connect();
  try {
    await waitFor('offset 1 committed', async () => {
      const offsets = await admin.fetchOffsets({ groupId: group, topics: [input] });
      return offsets[0]?.partitions[0]?.offset === '1';
    }, 15_000, 200);
  } finally {
    await admin.disconnect();
  }

  // Once the broker accepts records again, the processor carries on.
  await kafka.clearProduceErrors();
  const collector = await KafkaCollector.start(kafka.bootstrap, output, `${id}-kcollector`);
  closers.push(collector);
  await kafkaProduce(kafka.bootstrap, input, [{ payload: 'fits' }]);
  await waitFor('the next record', () => collector.messages.some((m) => m.payload === 'fits'), 30_000, 100);
  assert.ok(!collector.messages.some((m) => m.payload === 'too-large'));
  assert.equal(await proc.stop(), 0);
});

test('Kafka: records for partitions the topic does not have (partitionCount above the topic) are dead-lettered, not resent forever', async () => {
  const { kafka } = resources;
  const input = `${id}-np-in`;
  const output = `${id}-np-out`;
  const group = `${id}-np`;
  const dlq = `${id}-np-dlq`;
  exchanges.push(input, dlq);
  queues.push(`${input}.${group}`, dlq);
  await kafka.createTopic(output, 2); // e.g. left over on the dev Kafka, which cannot grow topics
  const collector = await KafkaCollector.start(kafka.bootstrap, output, `${id}-np-collector`);
  closers.push(collector);
  const proc = await resources.startReady({
    name: 'nopartition', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: rabbit }],
    outputs: [{ stream: 'out', protocol: 'kafka', destination: output, server: { url: kafka.bootstrap }, partitioning: { keys: ['k'], partitionCount: 4 } }],
    deadLetter: { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: rabbit },
    attributes: {},
    http: { port: 0 },
  });
  const count = 20;
  await rabbitPublish(rabbitUrl(), input, Array.from({ length: count }, (_, i) => ({ payload: `m${i}`, headers: { k: `key-${i}` } })));
  let letters: Array<{ payload: string; headers: Record<string, string> }> = [];
  await waitFor('every message written or dead-lettered', async () => {
    letters = [...letters, ...(await drainQueue(dlq))];
    return letters.length + collector.messages.length >= count;
  }, 60_000, 200);
  assert.ok(letters.length > 0 && collector.messages.length > 0, `both outcomes occur (${letters.length} dead letters, ${collector.messages.length} written)`);
  assert.ok(collector.messages.every((m) => (m.partition ?? 0) < 2));
  for (const letter of letters) {
    assert.equal(letter.headers['x-exception-stage'], 'produce');
    assert.match(letter.headers['x-exception-message'], /partition does not exist: topic ".*" has 2 partition/);
  }
  assert.deepEqual([...new Set([...letters.map((l) => l.payload), ...collector.messages.map((m) => m.payload)])].sort(), Array.from({ length: count }, (_, i) => `m${i}`).sort());
  assert.equal(await proc.stop(), 0);
});

test('late messages pass through a stateless processor by default; an explicit DROP still drops them', async () => {
  const input = `${id}-late-in`;
  exchanges.push(input);
  const run = async (label: string, attributes: Record<string, string>): Promise<string[]> => {
    const output = `${id}-late-out-${label}`;
    const group = `${id}-late-${label}`;
    exchanges.push(output, `${input}.${group}.dlq`);
    queues.push(`${input}.${group}`, `${output}.collector`, `${input}.${group}.dlq`);
    const collector = await RabbitCollector.start(rabbitUrl(), output);
    closers.push(collector);
    const proc = await resources.startReady({
      name: `late-${label}`, namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
      inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: rabbit }],
      outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: rabbit }],
      attributes,
      http: { port: 0 },
    });
    // What a chain behind two producer replicas sees: the inherited eventtime of one runs ahead of the other's.
    await rabbitPublish(rabbitUrl(), input, [
      { payload: 'ahead', headers: { eventtime: '100000' } },
      { payload: 'behind', headers: { eventtime: '50000' } },
      { payload: 'last', headers: { eventtime: '100001' } },
    ]);
    await waitFor(`${label}: the last message`, () => collector.messages.some((m) => m.payload === 'last'), 30_000, 50);
    const metrics = await metricsText(proc.debugUrl);
    assert.equal(await proc.stop(), 0);
    return [collector.messages.map((m) => m.payload).join(','), metrics];
  };
  const [passed, passedMetrics] = await run('default', {});
  assert.equal(passed, 'ahead,behind,last', 'without a window and without srp.lateEventMode, the late message comes out');
  assert.match(passedMetrics, /sr_processor_messages_late_total\{[^}]*action="passed"[^}]*\} 1/);
  const [dropped, droppedMetrics] = await run('drop', { 'srp.lateEventMode': 'DROP' });
  assert.equal(dropped, 'ahead,last', 'an explicit DROP still drops it');
  assert.match(droppedMetrics, /sr_processor_messages_dropped_total\{[^}]*reason="late"[^}]*\} 1/);
});
