// Partitioned input, end to end through real `sr processor` processes:
//  - RabbitMQ: instance 1 of 2 consumes the queue `<destination>.<group>-1` bound with `<destination>-1`, so it gets
//    only what a partitioned producer routed to partition 1;
//  - Kafka: two instances in one group; instance i is assigned exactly the partitions p with p % 2 == i.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import type { ProcessorConfig } from '../../processor/config';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { KafkaCollector, kafkaProduce, RabbitCollector, rabbitPublish, startProcessor, waitReady, useProcessorTestResources, type ProcessorProcess } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { processes, closers, exchanges, queues } = resources;
const id = uniqueName('pi');


test('RabbitMQ partitioned input: instance 1 of 2 consumes <dest>.<group>-1 bound with <dest>-1', async () => {
  const input = `${id}-rin`;
  const output = `${id}-rout`;
  const group = `${id}-g`;
  exchanges.push(input, output);
  queues.push(`${input}.${group}-1`, `${output}.collector`);
  const config: ProcessorConfig = {
    name: 'prabbit', namespace: 'test', group, instanceIndex: 1, instanceCount: 2,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url: rabbitUrl() }, partitioned: true }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: {},
    http: { port: 0 },
  };
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const proc = await resources.startReady(config);
  await rabbitPublish(rabbitUrl(), input, Array.from({ length: 40 }, (_, i) => ({
    payload: `p${i % 2}-${i}`,
    routingKey: `${input}-${i % 2}`,
    headers: { scst_partition: String(i % 2) },
  })));
  await waitFor('partition 1 messages', () => collector.messages.length >= 20, 30_000, 50);
  // Give a stray partition-0 message time to show up, then check none did.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(collector.messages.length, 20);
  assert.ok(collector.messages.every((m) => m.payload.startsWith('p1-')));
  const connection = await amqp.connect(rabbitUrl());
  try {
    const channel = await connection.createChannel();
    const queue = await channel.checkQueue(`${input}.${group}-1`);
    assert.equal(queue.messageCount, 0);
  } finally {
    await connection.close();
  }
  assert.equal(await proc.stop(), 0);
});

test('Kafka partitioned input: instance i of 2 gets partitions p % 2 == i', async () => {
  const input = `${id}-kin`;
  const output = `${id}-kout`;
  await resources.kafka.createTopic(input, 4);
  await resources.kafka.createTopic(output, 4);
  const base = (index: number): ProcessorConfig => ({
    name: 'pkafka', namespace: 'test', group: `${id}-kg`, instanceIndex: index, instanceCount: 2,
    inputs: [{ stream: 'in', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap }, partitioned: true }],
    outputs: [{ stream: 'out', protocol: 'kafka', destination: output, server: { url: resources.kafka.bootstrap } }],
    attributes: {},
    http: { port: 0 },
  });
  const collector = await KafkaCollector.start(resources.kafka.bootstrap, output, `${id}-collector`);
  closers.push(collector);
  const [zero, one] = await Promise.all([startProcessor(base(0)), startProcessor(base(1))]);
  processes.push(zero, one);
  await Promise.all([waitReady(zero.debugUrl), waitReady(one.debugUrl)]);
  const assigned = async (p: ProcessorProcess): Promise<number[]> => {
    const state = (await (await fetch(`${p.debugUrl}/debug/state`)).json()) as { inputs: Array<{ detail: { assignedPartitions: number[] } }> };
    return [...state.inputs[0].detail.assignedPartitions].sort();
  };
  await waitFor('both instances assigned', async () => (await assigned(zero)).length + (await assigned(one)).length === 4, 30_000, 100);
  assert.deepEqual(await assigned(zero), [0, 2]);
  assert.deepEqual(await assigned(one), [1, 3]);
  await kafkaProduce(resources.kafka.bootstrap, input, Array.from({ length: 80 }, (_, i) => ({ payload: `m${i}`, partition: i % 4 })));
  await waitFor('every message', () => collector.messages.length >= 80, 30_000, 100);
  const inCount = async (p: ProcessorProcess): Promise<number> => {
    const text = await (await fetch(`${p.debugUrl}/metrics`)).text();
    return Number(/sr_processor_messages_in_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  assert.equal(await inCount(zero), 40);
  assert.equal(await inCount(one), 40);
  assert.equal(await zero.stop(), 0);
  assert.equal(await one.stop(), 0);
});
