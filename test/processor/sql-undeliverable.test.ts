// Streaming SQL result rows an output can never take, through the real `sr processor` against the machine's RabbitMQ
// and the kafka-mock: the iot-monitoring statement (a 1-minute TUMBLE count, whose window holds its input rows
// unacknowledged until its rows are confirmed) writes to
//  - a RabbitMQ exchange no queue is bound to (returned as unroutable, retried, given up on), and
//  - a Kafka topic whose broker answers MESSAGE_TOO_LARGE (given up on after bounded attempts).
// Each result row goes to the dead-letter destination with the broker's answer, where it is read back; the inputs
// behind it are then acknowledged (nothing left pending, the input queue empty after a stop), and rows of later
// windows are written once the output takes them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import type { BindingConfig, ProcessorConfig } from '../../processor/config';
import { loadSample } from '../../processor/sql/test-support';
import { drainQueue, rabbitUrl, uniqueName, type QueuedMessage } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { KafkaCollector, RabbitCollector, rabbitPublish, useProcessorTestResources, type ProcessorProcess } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const id = uniqueName('sqlund');
const rabbit = { url: rabbitUrl() };
const sample = loadSample('iot-monitoring__streaming-pipeline.yaml');
const MINUTE = 60_000;

type Letter = QueuedMessage;

async function queueDepth(queue: string): Promise<number> {
  const connection = await amqp.connect(rabbitUrl());
  try {
    return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
}

/** One window's events (error codes C-1 ×3, C-2 ×2, NULL ×1, and an INFO row the WHERE drops) and the rows its
 *  window gives; then a row of another type that moves the watermark two minutes on (filtered out, so it holds
 *  nothing). */
function windowOf(start: number): { events: object[]; rows: string[] } {
  const codes = ['C-1', 'C-2', 'C-1', null, 'C-2', 'C-1'];
  const events: object[] = codes.map((error_code, i) => ({ error_code, type: 'ERROR', application: 'a', version: '1', description: `e${i}`, ts: start + i * 5000 }));
  events.push({ error_code: 'C-3', type: 'INFO', application: 'a', version: '1', description: 'info', ts: start + 40_000 });
  events.push({ error_code: 'C-1', type: 'INFO', application: 'a', version: '1', description: 'tick', ts: start + 2 * MINUTE });
  const time = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  const row = (error_code: string | null, error_count: number): string => JSON.stringify({ window_start: time(start), window_end: time(start + MINUTE), error_code, error_count });
  return { events, rows: [row('C-1', 3), row('C-2', 2), row(null, 1)].sort() };
}

function sqlConfig(group: string, input: BindingConfig, output: BindingConfig, deadLetter: BindingConfig): ProcessorConfig {
  return {
    name: group, namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [input], outputs: [output], deadLetter,
    attributes: {},
    http: { port: 0 },
    sql: { statements: sample.processors[0].statements, tables: sample.tables },
  };
}

async function debugState(proc: ProcessorProcess): Promise<{ sql: { pendingRows: number; deadLettered: number } }> {
  return (await fetch(`${proc.debugUrl}/debug/state`)).json() as Promise<{ sql: { pendingRows: number; deadLettered: number } }>;
}

/** The dead letters until `count` came (and a moment longer, so one too many would show). */
async function letters(queue: string, count: number): Promise<Letter[]> {
  let got: Letter[] = [];
  await waitFor(`${count} dead letters in ${queue}`, async () => {
    got = [...got, ...(await drainQueue(queue))];
    return got.length >= count;
  }, 30_000, 200);
  await new Promise((r) => setTimeout(r, 500));
  return [...got, ...(await drainQueue(queue))];
}

const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;

test('RabbitMQ: result rows no queue takes are dead-lettered with the reason, their window\'s inputs acknowledged, later rows written', async () => {
  const input = `${id}-r-in`;
  const output = `${id}-r-out`;
  const dlq = `${id}-r-dlq`;
  const group = `${id}-r`;
  exchanges.push(input, output, dlq);
  queues.push(`${input}.${group}`, dlq, `${output}.collector`);
  const proc = await resources.startReady(sqlConfig(group,
    { stream: 'iot-monitoring-stream', protocol: 'rabbitmq', destination: input, server: rabbit },
    { stream: 'error-count-stream', protocol: 'rabbitmq', destination: output, server: rabbit },
    { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: rabbit }));

  const first = windowOf(t0);
  await rabbitPublish(rabbitUrl(), input, first.events.map((e) => ({ payload: JSON.stringify(e), headers: { contentType: 'application/json' } })));
  const dead = await letters(dlq, first.rows.length);
  assert.deepEqual(dead.map((l) => l.payload).sort(), first.rows, 'every row of the window, as it would have been written');
  for (const letter of dead) {
    assert.equal(letter.headers['x-exception-stage'], 'produce');
    assert.match(letter.headers['x-exception-message'], /unroutable: no queue is bound to exchange/);
    assert.equal(letter.headers['x-original-destination'], output);
    assert.equal(letter.headers.contentType, 'application/json');
  }
  const metrics = await (await fetch(`${proc.debugUrl}/metrics`)).text();
  assert.match(metrics, /sr_processor_messages_undeliverable_total\{[^}]*output="error-count-stream"[^}]*reason="unroutable"[^}]*\} 3/);
  assert.doesNotMatch(metrics, /sr_processor_messages_out_total\{[^}]*output="error-count-stream"[^}]*\} [1-9]/);
  // The window's rows were handled: the engine acknowledged every input behind them.
  await waitFor('no input pending', async () => (await debugState(proc)).sql.pendingRows === 0, 10_000, 100);
  assert.equal((await fetch(`${proc.debugUrl}/readyz`)).status, 200, 'ready: a given-up row must not keep the processor unready');

  // Once a queue is bound, the next window's rows are written; none is dead-lettered.
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const second = windowOf(t0 + 5 * MINUTE);
  await rabbitPublish(rabbitUrl(), input, second.events.map((e) => ({ payload: JSON.stringify(e), headers: { contentType: 'application/json' } })));
  await waitFor('the next window\'s rows', () => collector.messages.length >= second.rows.length, 30_000, 100);
  assert.deepEqual(collector.messages.map((m) => m.payload).sort(), second.rows);
  assert.equal((await drainQueue(dlq)).length, 0);
  assert.equal(await proc.stop(), 0);
  // Unacknowledged messages would be back in the queue once the processor's channel closed.
  assert.equal(await queueDepth(`${input}.${group}`), 0, 'every input acknowledged');
});

test('Kafka: result rows the broker refuses for good (MESSAGE_TOO_LARGE) are dead-lettered, their inputs acknowledged, later rows written', async () => {
  const { kafka } = resources;
  if (!kafka.control) return; // the refusal is injected through the kafka-mock's control port
  const input = `${id}-k-in`;
  const output = `${id}-k-out`;
  const dlq = `${id}-k-dlq`;
  const group = `${id}-k`;
  exchanges.push(input, dlq);
  queues.push(`${input}.${group}`, dlq);
  await kafka.createTopic(output, 1);
  // As a real broker answers records above message.max.bytes (the mock has no size limit of its own). The input and
  // the dead letters are on RabbitMQ, out of the injection's way.
  await kafka.produceErrors(1000, 10);
  const proc = await resources.startReady(sqlConfig(group,
    { stream: 'iot-monitoring-stream', protocol: 'rabbitmq', destination: input, server: rabbit },
    { stream: 'error-count-stream', protocol: 'kafka', destination: output, server: { url: kafka.bootstrap } },
    { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: rabbit }));

  const first = windowOf(t0);
  await rabbitPublish(rabbitUrl(), input, first.events.map((e) => ({ payload: JSON.stringify(e) })));
  const dead = await letters(dlq, first.rows.length);
  assert.deepEqual(dead.map((l) => l.payload).sort(), first.rows);
  for (const letter of dead) {
    assert.equal(letter.headers['x-exception-stage'], 'produce');
    assert.match(letter.headers['x-exception-message'], /MESSAGE_TOO_LARGE/);
    assert.equal(letter.headers['x-original-destination'], output);
  }
  assert.match(await (await fetch(`${proc.debugUrl}/metrics`)).text(), /sr_processor_messages_undeliverable_total\{[^}]*output="error-count-stream"[^}]*reason="MESSAGE_TOO_LARGE"[^}]*\} 3/);
  await waitFor('no input pending', async () => (await debugState(proc)).sql.pendingRows === 0, 10_000, 100);

  await kafka.clearProduceErrors();
  const collector = await KafkaCollector.start(kafka.bootstrap, output, `${id}-k-collector`);
  closers.push(collector);
  const second = windowOf(t0 + 5 * MINUTE);
  await rabbitPublish(rabbitUrl(), input, second.events.map((e) => ({ payload: JSON.stringify(e) })));
  await waitFor('the next window\'s rows', () => collector.messages.length >= second.rows.length, 30_000, 100);
  assert.deepEqual(collector.messages.map((m) => m.payload).sort(), second.rows);
  assert.equal(await proc.stop(), 0);
  assert.equal(await queueDepth(`${input}.${group}`), 0, 'every input acknowledged');
});
