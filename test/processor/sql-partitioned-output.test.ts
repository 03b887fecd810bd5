// Streaming SQL writing a partitioned RabbitMQ Stream, through the real `sr processor` and the machine's RabbitMQ:
// the iot-monitoring statement's rows go to an output Stream with `keys: [error_code]` and 3 partitions, read by a
// consumer group's three partition queues (`<destination>.<group>-<p>` bound with `<destination>-<p>`, as a
// partitioned SRP input declares them). Every row must reach the queue of its key's partition (Spring Cloud Stream's
// selector, as an SRP's output would route it) with `scst_partition` set; a row with no key (error_code NULL) goes
// to the dead letters (stage `partition`) instead of being lost as unroutable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import type { ProcessorConfig } from '../../processor/config';
import { selectPartition } from '../../processor/partition';
import { loadSample } from '../../processor/sql/test-support';
import { drainQueue, rabbitUrl, uniqueName, type QueuedMessage } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { rabbitPublish, useProcessorTestResources } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { exchanges, queues } = resources;
const id = uniqueName('sqlpart');
const rabbit = { url: rabbitUrl() };
const sample = loadSample('iot-monitoring__streaming-pipeline.yaml');
const MINUTE = 60_000;
const PARTITIONS = 3;

test('SQL rows reach the partition queue of their key; a row without a key is dead-lettered', async () => {
  const input = `${id}-in`;
  const output = `${id}-out`;
  const dlq = `${id}-dlq`;
  const group = `${id}-p`;
  const reader = `${id}-reader`;
  const partitionQueues = Array.from({ length: PARTITIONS }, (_, p) => `${output}.${reader}-${p}`);
  exchanges.push(input, output, dlq);
  queues.push(`${input}.${group}`, dlq, ...partitionQueues);

  // The downstream group's queues exist before the rows come, as a provisioned Stream's required groups do.
  const connection = await amqp.connect(rabbitUrl());
  try {
    const channel = await connection.createChannel();
    await channel.assertExchange(output, 'topic', { durable: true });
    for (let p = 0; p < PARTITIONS; p++) {
      await channel.assertQueue(partitionQueues[p], { durable: true });
      await channel.bindQueue(partitionQueues[p], output, `${output}-${p}`);
    }
  } finally {
    await connection.close();
  }

  const config: ProcessorConfig = {
    name: group, namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'iot-monitoring-stream', protocol: 'rabbitmq', destination: input, server: rabbit }],
    outputs: [{ stream: 'error-count-stream', protocol: 'rabbitmq', destination: output, server: rabbit, partitioning: { keys: ['error_code'], partitionCount: PARTITIONS } }],
    deadLetter: { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: rabbit },
    attributes: {},
    http: { port: 0 },
    sql: { statements: sample.processors[0].statements, tables: sample.tables },
  };
  await resources.startReady(config);

  // One window: 8 error codes (so at least two partitions get rows) and one NULL code; then a row moving the
  // watermark past the window's end (an INFO row, filtered out by the statement's WHERE).
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
  const codes = ['C-1', 'C-2', 'C-3', 'C-4', 'C-5', 'C-6', 'C-7', 'C-8'];
  const events: object[] = [...codes, null].map((error_code, i) => ({ error_code, type: 'ERROR', application: 'a', version: '1', description: `e${i}`, ts: start + i * 1000 }));
  events.push({ error_code: 'C-1', type: 'INFO', application: 'a', version: '1', description: 'tick', ts: start + 2 * MINUTE });
  await rabbitPublish(rabbitUrl(), input, events.map((e) => ({ payload: JSON.stringify(e), headers: { contentType: 'application/json' } })));

  const received = new Map<number, QueuedMessage[]>(partitionQueues.map((_, p) => [p, []]));
  const total = (): number => [...received.values()].reduce((n, list) => n + list.length, 0);
  await waitFor(`${codes.length} rows in the partition queues`, async () => {
    for (let p = 0; p < PARTITIONS; p++) received.get(p)!.push(...(await drainQueue(partitionQueues[p])));
    return total() >= codes.length;
  }, 30_000, 200);
  await new Promise((r) => setTimeout(r, 500));
  for (let p = 0; p < PARTITIONS; p++) received.get(p)!.push(...(await drainQueue(partitionQueues[p])));
  assert.equal(total(), codes.length, 'each keyed row once');

  const seen: string[] = [];
  for (const [p, messages] of received) {
    for (const m of messages) {
      const row = JSON.parse(m.payload) as { error_code: string; error_count: number };
      seen.push(row.error_code);
      assert.equal(p, selectPartition(row.error_code, PARTITIONS), `${row.error_code} in its key's partition queue`);
      assert.equal(m.headers.scst_partition, String(p));
      assert.equal(row.error_count, 1);
    }
  }
  assert.deepEqual(seen.sort(), codes);
  assert.ok([...received.values()].filter((list) => list.length > 0).length >= 2, 'rows spread over partitions');

  let letters: QueuedMessage[] = [];
  await waitFor('the NULL-keyed row dead-lettered', async () => {
    letters = [...letters, ...(await drainQueue(dlq))];
    return letters.length >= 1;
  }, 30_000, 200);
  assert.equal(letters.length, 1);
  assert.equal((JSON.parse(letters[0].payload) as { error_code: unknown }).error_code, null);
  assert.equal(letters[0].headers['x-exception-stage'], 'partition');
  assert.match(letters[0].headers['x-exception-message'], /no partition for the row: partition key is null/);
});
