// Issue 11, "a replica killed in the middle of a window loses nothing and counts nothing twice", for RabbitMQ sources,
// through the real `sr processor` and the machine's RabbitMQ. A RabbitMQ source has no offsets: when a forwarder dies
// after its copy of a source message was confirmed but before the source message's ack reached the broker, RabbitMQ
// redelivers the message (same AMQP messageId) to another replica, which forwards it again. The second copy may reach
// stage two long after the first copy's window fired — here after stage two itself restarted, so the window is open
// again — and must not count twice: stage two knows the source messageIds whose rows are done (kept in ROCKSDB).
//
// The iot-monitoring statement (1-minute TUMBLE count per error code, watermark `ts` - 3 s) over one replica whose
// input is re-keyed through a 2-partition exchange (what the controllers configure with replicas > 1; one replica
// plays both forwarders here):
//   run 1: m-1 C-1 at 0:10, m-2 C-1 at 0:20, m-3 INFO at 1:10 → window A fires: (A, C-1, 2); SIGKILL
//   run 2: m-1 again (the redelivery), m-4 C-2 at 1:30, m-5 INFO at 2:10 → window B fires: (B, C-2, 1)
// Before stage two kept done ids, m-1's second copy re-opened A alone and B's watermark wrote (A, C-1, 1) too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import type { ProcessorConfig } from '../../processor/config';
import { loadSample } from '../../processor/sql/test-support';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { tempDir } from '../support/tmp';
import { RabbitCollector, useProcessorTestResources, type ProcessorProcess } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const id = uniqueName('sqlxd');
const rabbit = { url: rabbitUrl() };
const sample = loadSample('iot-monitoring__streaming-pipeline.yaml');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const PARTITIONS = 2;
const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;
const stateDirs: Array<{ remove(): void }> = [];
after(() => { for (const dir of stateDirs) dir.remove(); });

const time = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

interface ExchangeInputState { duplicatesDropped: number; doneSources: { ids: number } }
interface DebugState { sql: { pendingRows: number; exchange: { inputs: ExchangeInputState[] } } }

async function exchangeState(proc: ProcessorProcess): Promise<ExchangeInputState> {
  return ((await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as DebugState).sql.exchange.inputs[0];
}

/** Publishes iot events with an AMQP messageId each, as our binder and Spring's publishers do. */
async function publish(exchange: string, events: Array<{ messageId: string; error_code: string; type: string; at: number }>): Promise<void> {
  const connection = await amqp.connect(rabbitUrl());
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    for (const e of events) {
      const value = { error_code: e.error_code, type: e.type, application: 'a', version: '1', description: e.messageId, ts: t0 + e.at };
      channel.publish(exchange, exchange, Buffer.from(JSON.stringify(value)), { persistent: true, contentType: 'application/json', messageId: e.messageId });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

test('RabbitMQ source: a second copy of a source message (same messageId) after its window fired and stage two restarted is dropped, the row counted once', async () => {
  const group = `${id}-p`;
  const input = `${id}-in`;
  const output = `${id}-out`;
  const exchangeDestination = `${input}.${group}.exchange`;
  exchanges.push(input, output, exchangeDestination, `${input}.${group}.dlq`);
  queues.push(`${input}.${group}`, `${output}.collector`, `${input}.${group}.dlq`, ...Array.from({ length: PARTITIONS }, (_, p) => `${exchangeDestination}.${group}.exchange-${p}`));
  const stateDir = tempDir('sql-exchange-dedupe-');
  stateDirs.push(stateDir);
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  // A second reader of the output, for the AMQP properties our binder sets.
  const idQueue = `${output}.ids`;
  queues.push(idQueue);
  const connection = await amqp.connect(rabbitUrl());
  closers.push({ close: () => connection.close() });
  const channel = await connection.createChannel();
  await channel.assertQueue(idQueue, { durable: false });
  await channel.bindQueue(idQueue, output, '#');
  const config: ProcessorConfig = {
    name: group, namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'iot-monitoring-stream', protocol: 'rabbitmq', destination: input, server: rabbit }],
    outputs: [{ stream: 'error-count-stream', protocol: 'rabbitmq', destination: output, server: rabbit }],
    attributes: { 'srp.window.state': 'ROCKSDB' },
    stateDir: stateDir.path,
    http: { port: 0 },
    sql: {
      statements: sample.processors[0].statements,
      tables: sample.tables,
      exchange: {
        partitions: PARTITIONS,
        inputs: [{
          stream: 'iot-monitoring-stream',
          keyColumns: ['error_code'],
          binding: { stream: 'iot-monitoring-stream.exchange', protocol: 'rabbitmq', destination: exchangeDestination, server: rabbit, requiredGroups: [`${group}.exchange`] },
        }],
      },
    },
  };
  const row = (windowStart: number, error_code: string, error_count: number): string =>
    JSON.stringify({ window_start: time(t0 + windowStart), window_end: time(t0 + windowStart + MINUTE), error_code, error_count });
  const rows = (): string[] => collector.messages.map((m) => m.payload).sort();

  const first = await resources.startReady(config);
  await publish(input, [
    { messageId: `${id}-m-1`, error_code: 'C-1', type: 'ERROR', at: 10 * SECOND },
    { messageId: `${id}-m-2`, error_code: 'C-1', type: 'ERROR', at: 20 * SECOND },
    { messageId: `${id}-m-3`, error_code: 'C-1', type: 'INFO', at: MINUTE + 10 * SECOND },
  ]);
  await waitFor('window A\'s row', () => collector.messages.length >= 1, 30_000, 100);
  assert.deepEqual(rows(), [row(0, 'C-1', 2)]);
  // The copies of m-1 and m-2 are done (their ids on disk before their acknowledgement); m-3 waits in window B.
  await waitFor('m-1 and m-2 known as done', async () => (await exchangeState(first)).doneSources?.ids >= 2, 10_000, 100);
  await first.kill();

  const second = await resources.startReady(config);
  // RabbitMQ redelivering m-1 to another replica's forwarder after the first one died: the same message, same id.
  await publish(input, [
    { messageId: `${id}-m-1`, error_code: 'C-1', type: 'ERROR', at: 10 * SECOND },
    { messageId: `${id}-m-4`, error_code: 'C-2', type: 'ERROR', at: MINUTE + 30 * SECOND },
    { messageId: `${id}-m-5`, error_code: 'C-2', type: 'INFO', at: 2 * MINUTE + 10 * SECOND },
  ]);
  await waitFor('window B\'s row', () => collector.messages.length >= 2, 30_000, 100);
  // A partial row for A would have left before or with B's (A ends first); a moment for stragglers anyway.
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(rows(), [row(0, 'C-1', 2), row(MINUTE, 'C-2', 1)].sort(), 'window A once, with both rows');
  const state = await exchangeState(second);
  assert.equal(state.duplicatesDropped, 1, 'm-1\'s second copy recognised by its messageId');
  assert.ok(state.doneSources.ids >= 3, `done ids restored and m-4 added: ${JSON.stringify(state.doneSources)}`);

  // Every row our binder published carries a messageId of its own: `sr-<process>-<counter>`, the two runs different.
  const ids: unknown[] = [];
  for (let msg = await channel.get(idQueue, { noAck: true }); msg; msg = await channel.get(idQueue, { noAck: true })) ids.push(msg.properties.messageId);
  assert.equal(ids.length, 2);
  for (const messageId of ids) assert.match(String(messageId), /^sr-[0-9a-f]{16}-[0-9a-z]+$/);
  assert.notEqual(ids[0], ids[1]);
});
