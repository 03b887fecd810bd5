// Issue 11, "a restarted replica can re-emit partial rows for already-fired windows", through the real `sr processor`
// (the iot-monitoring statement: a 1-minute TUMBLE count per error code, watermark `ts` - 3 s) on one Kafka partition:
//   offset 0  C-1 at 0:10  window A          offset 2  C-1 at 0:59  window A (not late: the watermark is at 0:58)
//   offset 1  C-1 at 1:01  window B          offset 3  C-2 at 1:04  window B: the watermark passes 1:00, A fires
// A's row (C-1, 2) is written and offsets 0 and 2 acknowledged; B still holds 1 and 3, so the committed offset stays
// at 1 — with offset 2 named acknowledged in the commit's metadata. The processor is killed (SIGKILL) and started
// again: offsets 1 and 3 come again and rebuild B; offset 2 must not, or it would re-open A alone and, when the
// watermark passes 1:00 again, write a second, partial row for A (C-1, 1). Then a later row closes B: every row once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessorConfig } from '../../processor/config';
import { kafkaGroupOf } from '../../processor/binders/factory';
import { decodeAcknowledged } from '../../processor/delivery/acknowledged-offsets';
import { loadSample } from '../../processor/sql/test-support';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { kafkaClientFor, kafkaProduce, RabbitCollector, useProcessorTestResources, type ProcessorProcess } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const id = uniqueName('sqlwr');
const sample = loadSample('iot-monitoring__streaming-pipeline.yaml');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE;

const time = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const event = (error_code: string, type: string, at: number): { payload: string } =>
  ({ payload: JSON.stringify({ error_code, type, application: 'a', version: '1', description: `${error_code}@${at}`, ts: t0 + at }) });

async function pendingRows(proc: ProcessorProcess): Promise<number> {
  return ((await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as { sql: { pendingRows: number } }).sql.pendingRows;
}

test('SIGKILL after a window fired ahead of an open one: the restart writes no partial row for the fired window', async () => {
  const input = `${id}-in`;
  const output = `${id}-out`;
  exchanges.push(output);
  queues.push(`${output}.collector`);
  await resources.kafka.createTopic(input, 1);
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const config: ProcessorConfig = {
    name: 'window-restart', namespace: 'test', group: `${id}-group`, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'iot-monitoring-stream', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap }, contentType: 'application/json' }],
    outputs: [{ stream: 'error-count-stream', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: {},
    http: { port: 0 },
    sql: { statements: sample.processors[0].statements, tables: sample.tables },
  };
  const admin = kafkaClientFor(resources.kafka.bootstrap).admin();
  await admin.connect();
  closers.push({ close: () => admin.disconnect() });
  const group = kafkaGroupOf(config.inputs[0], config);
  const committed = async (): Promise<{ offset: number; metadata: string | null }> => {
    const [topic] = await admin.fetchOffsets({ groupId: group, topics: [input] });
    const entry = topic?.partitions.find((p) => p.partition === 0);
    return { offset: Number(entry?.offset ?? -1), metadata: entry?.metadata ?? null };
  };
  const row = (windowStart: number, error_code: string, error_count: number): string =>
    JSON.stringify({ window_start: time(t0 + windowStart), window_end: time(t0 + windowStart + MINUTE), error_code, error_count });
  const rows = (): string[] => collector.messages.map((m) => m.payload).sort();

  const first = await resources.startReady(config);
  await kafkaProduce(resources.kafka.bootstrap, input, [
    event('C-1', 'ERROR', 10 * SECOND),
    event('C-1', 'ERROR', MINUTE + SECOND),
    event('C-1', 'ERROR', 59 * SECOND),
    event('C-2', 'ERROR', MINUTE + 4 * SECOND),
  ].map((r) => ({ ...r, partition: 0 })));
  await waitFor('window A\'s row', () => collector.messages.length >= 1, 30_000, 100);
  assert.deepEqual(rows(), [row(0, 'C-1', 2)]);
  await waitFor('offset 1 committed, naming offset 2 acknowledged', async () => {
    const commit = await committed();
    return commit.offset === 1 && JSON.stringify(decodeAcknowledged(1, commit.metadata)) === JSON.stringify([{ from: 2, to: 3 }]);
  }, 10_000, 100);
  assert.equal(await pendingRows(first), 2, 'window B holds offsets 1 and 3');
  await first.kill();

  const second = await resources.startReady(config);
  await waitFor('window B rebuilt from offsets 1 and 3', async () => (await pendingRows(second)) === 2, 30_000, 100);
  // Long enough for a re-opened window A to fire (the watermark already passed its end once B's rows were read).
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(rows(), [row(0, 'C-1', 2)], 'no second, partial row for window A');
  // A row the WHERE drops moves the watermark on and closes B.
  await kafkaProduce(resources.kafka.bootstrap, input, [{ ...event('C-9', 'INFO', 3 * MINUTE), partition: 0 }]);
  await waitFor('window B\'s rows', () => collector.messages.length >= 3, 30_000, 100);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(rows(), [row(0, 'C-1', 2), row(MINUTE, 'C-1', 1), row(MINUTE, 'C-2', 1)].sort(), 'every row once');
  await waitFor('everything committed', async () => (await committed()).offset === 5, 10_000, 100);
  assert.equal(await second.stop(), 0);
});
