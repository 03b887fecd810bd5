// Window state end to end, through the real `sr processor` process and the Kafka-protocol cluster:
//  1. a window holding more events than an input's default in-flight bound (500) still closes, with every event
//     exactly once — with the state in memory and in RocksDB (`srp.window.state: ROCKSDB`);
//  2. ROCKSDB keeps the payloads of open windows out of the processor's memory (MEMORY holds them: the control);
//  3. ROCKSDB with an aggregator UDF: the UDF receives the events read back from disk; a window the UDF fails on is
//     dead-lettered with its events' payloads and headers intact;
//  4. ROCKSDB across a restart: the processor stops while a window is open (its events unacknowledged), starts
//     again on the same state directory, and the window comes out with each event once — the store starts empty and
//     the redelivered events rebuild it, instead of the old contents being counted a second time.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessorConfig } from '../../processor/config';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { tempDir } from '../support/tmp';
import { kafkaProduce, RabbitCollector, startProcessor, waitReady, useProcessorTestResources, type ProcessorProcess } from '../support/processor-harness';
import { decodeCollection, encodeCollection, startUdfServer, type UdfServer } from '../support/processor-udf';

const resources = useProcessorTestResources();
const { processes, closers, exchanges, queues } = resources;
const id = uniqueName('wst');
const stateDirs: Array<{ remove(): void }> = [];
const servers: UdfServer[] = [];
after(async () => {
  for (const server of servers) await server.stop();
  for (const dir of stateDirs) dir.remove();
});

const t0 = 1_700_000_000_000; // a multiple of 5 s

interface DebugState {
  windows: { openWindows: number; bufferedEvents: number; state: { type: string; storedEvents: number; bytesWritten: number } };
}

async function debugState(proc: ProcessorProcess): Promise<DebugState> {
  return (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as DebugState;
}

function windowConfig(name: string, input: string, output: string, attributes: Record<string, string>, stateDir: string): ProcessorConfig {
  return {
    name, namespace: 'test', group: `${input}-group`, instanceIndex: 0, instanceCount: 1,
    inputs: [{
      stream: 'events', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap }, contentType: 'application/json',
      timeAttribute: { field: 'at' }, // watermark = largest event time - 1 ms
    }],
    outputs: [{ stream: 'windows', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: { 'srp.window': '5s', ...attributes },
    stateDir,
    http: { port: 0 },
  };
}

for (const stateType of ['MEMORY', 'ROCKSDB'] as const) {
  test(`${stateType}: a window of 1500 events (more than the default in-flight bound of 500) closes complete`, async () => {
    const input = `${id}-big-${stateType.toLowerCase()}`;
    const output = `${input}-out`;
    exchanges.push(output);
    queues.push(`${output}.collector`);
    await resources.kafka.createTopic(input, 1);
    const stateDir = tempDir('sr-window-state-');
    stateDirs.push(stateDir);
    const collector = await RabbitCollector.start(rabbitUrl(), output);
    closers.push(collector);
    const proc = await resources.startReady(windowConfig('big', input, output, { 'srp.window.state': stateType }, stateDir.path));
    const n = 1500;
    const events = Array.from({ length: n }, (_, i) => ({ payload: JSON.stringify({ i, at: t0 + i, pad: 'x'.repeat(200) }) }));
    await kafkaProduce(resources.kafka.bootstrap, input, [...events, { payload: JSON.stringify({ i: -1, at: t0 + 6000 }) }]);
    await waitFor('the 1500-event window', () => collector.messages.length >= 1, 60_000, 100);
    const [window] = collector.messages;
    assert.equal(window.headers.windowStartTime, String(t0));
    assert.equal(window.headers.windowEndTime, String(t0 + 5000));
    assert.deepEqual((JSON.parse(window.payload) as Array<{ i: number }>).map((e) => e.i), Array.from({ length: n }, (_, i) => i), 'every event once, in order');
    const state = await debugState(proc);
    assert.equal(state.windows.state.type, stateType);
    assert.equal(state.windows.bufferedEvents, 1, 'the closing event waits in the next window');
    if (stateType === 'ROCKSDB') {
      assert.equal(state.windows.state.storedEvents, 1, 'the released window was deleted from disk');
      assert.ok(state.windows.state.bytesWritten > n * 200, `the events went to disk (${state.windows.state.bytesWritten} bytes)`);
    }
    assert.equal(await proc.stop(), 0);
  });
}

test('ROCKSDB keeps the payloads of open windows off the heap: 19 MB held by a window, MEMORY vs ROCKSDB', async () => {
  const metric = (text: string, name: string): number => Number(new RegExp(`^sr_processor_${name}\\{[^}]*\\} (\\S+)`, 'm').exec(text)?.[1]);
  const n = 600;
  const payloadBytes = 32_000;
  const external: Record<string, number> = {};
  for (const stateType of ['MEMORY', 'ROCKSDB'] as const) {
    const input = `${id}-heap-${stateType.toLowerCase()}`;
    const output = `${input}-out`;
    exchanges.push(output);
    await resources.kafka.createTopic(input, 1);
    const stateDir = tempDir('sr-window-heap-');
    stateDirs.push(stateDir);
    const proc = await resources.startReady(windowConfig('heap', input, output, { 'srp.window': '1h', 'srp.window.state': stateType }, stateDir.path));
    const pad = 'x'.repeat(payloadBytes);
    // Produced in slices of 25 (< 1 MB: the kafka-mock serves one record batch per fetch and keeps 5 MB per
    // partition), each consumed before the next, so the window ends up holding all 600.
    for (let k = 0; k < n; k += 25) {
      await kafkaProduce(resources.kafka.bootstrap, input, Array.from({ length: 25 }, (_, j) => ({ payload: JSON.stringify({ i: k + j, at: t0 + k + j, pad }) })));
      await waitFor(`${k + 25} events in the window`, async () => (await debugState(proc)).windows.bufferedEvents >= k + 25, 30_000, 20);
    }
    await new Promise((r) => setTimeout(r, 1000));
    external[stateType] = metric(await (await fetch(`${proc.debugUrl}/metrics`)).text(), 'nodejs_external_memory_bytes');
    assert.equal((await debugState(proc)).windows.state.type, stateType);
    await proc.kill();
  }
  const total = n * payloadBytes;
  process.stdout.write(`# ${total} bytes of payloads in an open window: external memory MEMORY ${external.MEMORY}, ROCKSDB ${external.ROCKSDB}\n`);
  assert.ok(external.MEMORY > total * 0.8, `MEMORY holds the payloads (${external.MEMORY} bytes)`);
  assert.ok(external.ROCKSDB < total * 0.35, `ROCKSDB does not (${external.ROCKSDB} bytes)`);
});

test('ROCKSDB with an aggregator UDF: events read back from disk; a failed window is dead-lettered intact', async () => {
  const input = `${id}-udf`;
  const output = `${input}-out`;
  const dlq = `${input}-dlq`;
  exchanges.push(output, dlq);
  queues.push(`${output}.collector`, `${dlq}.collector`);
  await resources.kafka.createTopic(input, 1);
  const stateDir = tempDir('sr-window-udf-');
  stateDirs.push(stateDir);
  // Sums the scores of a window; refuses a window holding a poison event.
  const udf = await startUdfServer((request) => {
    const events = decodeCollection(request.payload).map((b) => JSON.parse(b.toString()) as { id: string; score: number });
    if (events.some((e) => e.id === 'poison')) throw new Error('poison in the window');
    const total = { ids: events.map((e) => e.id), sum: events.reduce((n, e) => n + e.score, 0) };
    return { payload: encodeCollection([Buffer.from(JSON.stringify(total))]), headers: { contentType: 'multipart/json' } };
  });
  servers.push(udf);
  const config: ProcessorConfig = {
    ...windowConfig('udf', input, output, { 'srp.window.state': 'ROCKSDB', 'srp.udf.maxAttempts': '1' }, stateDir.path),
    udf: { address: `127.0.0.1:${udf.port}` },
    deadLetter: { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: { url: rabbitUrl() } },
  };
  const results = await RabbitCollector.start(rabbitUrl(), output);
  const dead = await RabbitCollector.start(rabbitUrl(), dlq);
  closers.push(results, dead);
  const proc = await resources.startReady(config);
  const event = (name: string, at: number, score: number): { payload: string; headers: Record<string, string> } =>
    ({ payload: JSON.stringify({ id: name, at: t0 + at, score }), headers: { trace: `t-${name}`, contentType: 'application/json' } });
  await kafkaProduce(resources.kafka.bootstrap, input, [
    event('a', 1000, 5), event('b', 2000, 7), event('c', 3000, 11), // [0, 5): 23
    event('poison', 6000, 1), event('d', 7000, 2), // [5, 10): the UDF fails
    event('e', 11_000, 3), // closes [5, 10)
  ]);
  await waitFor('one result and two dead letters', () => results.messages.length >= 1 && dead.messages.length >= 2, 30_000, 100);
  assert.deepEqual(results.messages.map((m) => JSON.parse(m.payload) as unknown), [{ ids: ['a', 'b', 'c'], sum: 23 }]);
  assert.equal(results.messages[0].headers.windowStartTime, String(t0));
  assert.deepEqual(dead.messages.map((m) => [JSON.parse(m.payload) as unknown, m.headers.trace, m.headers['x-exception-stage']]), [
    [{ id: 'poison', at: t0 + 6000, score: 1 }, 't-poison', 'udf'],
    [{ id: 'd', at: t0 + 7000, score: 2 }, 't-d', 'udf'],
  ]);
  assert.match(dead.messages[0].headers['x-exception-message'], /poison in the window/);
  await waitFor('the failed window acknowledged and deleted', async () => (await debugState(proc)).windows.state.storedEvents === 1, 10_000, 100);
  assert.equal(await proc.stop(), 0);
});

test('ROCKSDB: a restart with a window open neither loses nor double-counts its events', async () => {
  const input = `${id}-restart`;
  const output = `${input}-out`;
  exchanges.push(output);
  queues.push(`${output}.collector`);
  await resources.kafka.createTopic(input, 1);
  const stateDir = tempDir('sr-window-restart-');
  stateDirs.push(stateDir);
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const config = windowConfig('restart', input, output, { 'srp.envs': 'LOG_FORMAT=json;STATE_TYPE=ROCKSDB' }, stateDir.path);
  const send = (events: Array<[string, number]>): Promise<void> =>
    kafkaProduce(resources.kafka.bootstrap, input, events.map(([name, at]) => ({ payload: JSON.stringify({ id: name, at: t0 + at }) })));
  const ids = (index: number): string[] => (JSON.parse(collector.messages[index].payload) as Array<{ id: string }>).map((e) => e.id);

  const first = await startProcessor(config);
  processes.push(first);
  await waitReady(first.debugUrl);
  // [0, 5) closes when d (6.5 s) arrives; d and e stay in the open window [5, 10).
  await send([['a', 1000], ['b', 2000], ['c', 3000], ['d', 6500], ['e', 7000]]);
  await waitFor('the first window', () => collector.messages.length >= 1, 30_000, 100);
  await waitFor('d and e on disk', async () => (await debugState(first)).windows.state.storedEvents === 2, 30_000, 100);
  assert.deepEqual(ids(0), ['a', 'b', 'c']);
  assert.equal(await first.stop(), 0, 'graceful stop: the open window is not emitted, d and e stay unacknowledged');
  assert.equal(collector.messages.length, 1);
  assert.ok(existsSync(join(stateDir.path, 'windows.rocksdb')), 'the previous run\'s database is still there');

  const second = await startProcessor(config);
  processes.push(second);
  await waitReady(second.debugUrl);
  // Kafka redelivers d and e (never committed); the store started empty, so the window holds them once.
  await waitFor('d and e redelivered', async () => (await debugState(second)).windows.bufferedEvents === 2, 30_000, 100);
  assert.equal((await debugState(second)).windows.state.storedEvents, 2);
  await send([['f', 8000], ['g', 12_000]]);
  await waitFor('the second window', () => collector.messages.length >= 2, 30_000, 100);
  assert.deepEqual(ids(1), ['d', 'e', 'f']);
  assert.equal(collector.messages[1].headers.windowStartTime, String(t0 + 5000));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(collector.messages.length, 2, 'the first window was acknowledged: not emitted again');
  assert.equal(await second.stop(), 0);
});
