// Sliding and session windows end to end, through the real `sr processor` process (no UDF: each window becomes one
// JSON array of its events). Event time comes from the payload and the watermark only moves with arriving events, so
// which window holds which event, and when it closes, is fully determined by the events sent: the tests assert the
// exact windows that come out — bounds, contents in order, headers — and what is still open.
//   - SLIDING over RabbitMQ: an event belongs to size/slide overlapping windows;
//   - SESSION over Kafka, with the state in memory and in RocksDB: an out-of-order event bridging two sessions merges
//     them, a session grows while events keep coming within the gap, and an event too late for its session is dropped.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessorConfig } from '../../processor/config';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { tempDir } from '../support/tmp';
import { kafkaProduce, RabbitCollector, rabbitPublish, useProcessorTestResources, type ReceivedMessage } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const id = uniqueName('wss');
const stateDirs: Array<{ remove(): void }> = [];
after(() => {
  for (const dir of stateDirs) dir.remove();
});

/** t0 is a multiple of 10 s, so window bounds are t0 + whole seconds. */
const t0 = 1_700_000_000_000;

interface WindowOut {
  start: number;
  end: number;
  partial: string;
  watermark: number;
  eventtime: number;
  events: string[];
}

function window(message: ReceivedMessage): WindowOut {
  return {
    start: Number(message.headers.windowStartTime) - t0,
    end: Number(message.headers.windowEndTime) - t0,
    partial: message.headers.partial,
    watermark: Number(message.headers.watermark) - t0,
    eventtime: Number(message.headers.eventtime) - t0,
    events: (JSON.parse(message.payload) as Array<{ id: string }>).map((e) => e.id),
  };
}

interface DebugWindows {
  windows: { type: string; openWindows: number; bufferedEvents: number; state: { type: string; storedEvents: number; location?: string }; windows: Array<{ start: number; end: number; events: number }> };
}

test('SLIDING windows (10 s every 5 s) over RabbitMQ: each event in both of its windows, released in end order', async () => {
  const input = `${id}-slide-in`;
  const output = `${id}-slide-out`;
  const group = `${id}-slide`;
  exchanges.push(input, output);
  queues.push(`${input}.${group}`, `${output}.collector`);
  const config: ProcessorConfig = {
    name: 'sliding', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url: rabbitUrl() }, contentType: 'application/json' }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: { 'srp.window': '10s', 'srp.window.type': 'SLIDING', 'srp.window.slide': '5s', 'srp.input.timestampExpression': 'payload.at' },
    http: { port: 0 },
  };
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const proc = await resources.startReady(config);
  // The watermark is the largest event time so far - 1 ms (no out-of-orderness allowed).
  const send = (events: Array<[string, number]>): Promise<void> =>
    rabbitPublish(rabbitUrl(), input, events.map(([name, at]) => ({ payload: JSON.stringify({ id: name, at: t0 + at }), headers: { contentType: 'application/json' } })));
  await send([['a', 1000], ['b', 4000], ['c', 6000], ['d', 9000], ['e', 12_000], ['f', 21_000]]);
  await waitFor('four sliding windows', () => collector.messages.length >= 4, 30_000, 100);
  assert.deepEqual(collector.messages.map(window), [
    // c (6 s) moves the watermark to 5.999 s: [-5, 5) closes.
    { start: -5000, end: 5000, partial: 'false', watermark: 5999, eventtime: 5000, events: ['a', 'b'] },
    // e (12 s): [0, 10) closes — a and b are in it too (overlapping windows share events).
    { start: 0, end: 10_000, partial: 'false', watermark: 11_999, eventtime: 10_000, events: ['a', 'b', 'c', 'd'] },
    // f (21 s): [5, 15) and [10, 20) close, in end order.
    { start: 5000, end: 15_000, partial: 'false', watermark: 20_999, eventtime: 15_000, events: ['c', 'd', 'e'] },
    { start: 10_000, end: 20_000, partial: 'false', watermark: 20_999, eventtime: 20_000, events: ['e'] },
  ]);
  const state = (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as DebugWindows;
  assert.equal(state.windows.type, 'SLIDING');
  assert.deepEqual(state.windows.windows.map((w) => [w.start - t0, w.end - t0, w.events]), [[15_000, 25_000, 1], [20_000, 30_000, 1]], 'f waits in its two windows');
  assert.equal(state.windows.bufferedEvents, 2, 'one event, referenced by two windows');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(collector.messages.length, 4, 'nothing else was emitted');
  assert.equal(await proc.stop(), 0);
});

for (const stateType of ['MEMORY', 'ROCKSDB'] as const) {
  test(`SESSION windows (gap 4 s) over Kafka, ${stateType} state: merge of two sessions, a growing session, a too-late event`, async () => {
    const input = `${id}-session-${stateType.toLowerCase()}`;
    const output = `${id}-session-${stateType.toLowerCase()}-out`;
    exchanges.push(output);
    queues.push(`${output}.collector`);
    await resources.kafka.createTopic(input, 1);
    const stateDir = tempDir('sr-session-state-');
    stateDirs.push(stateDir);
    const config: ProcessorConfig = {
      name: 'sessions', namespace: 'test', group: `${input}-group`, instanceIndex: 0, instanceCount: 1,
      inputs: [{
        stream: 'clicks', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap }, contentType: 'application/json',
        // The input Stream's time attribute: watermark = largest event time - 5 s - 1 ms.
        timeAttribute: { field: 'at', watermark: "`at` - INTERVAL '5' SECOND" },
      }],
      outputs: [{ stream: 'sessions', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
      attributes: {
        'srp.window.type': 'SESSION', 'srp.window.gap': '4s',
        // The original's way to choose the state type (the Spring property of its processor container).
        ...(stateType === 'ROCKSDB' ? { 'srp.envs': 'SRP_PROCESSOR_STATETYPE=ROCKSDB' } : {}),
      },
      stateDir: stateDir.path,
      http: { port: 0 },
    };
    const collector = await RabbitCollector.start(rabbitUrl(), output);
    closers.push(collector);
    const proc = await resources.startReady(config);
    const send = (events: Array<[string, number]>): Promise<void> =>
      kafkaProduce(resources.kafka.bootstrap, input, events.map(([name, at]) => ({ payload: JSON.stringify({ id: name, at: t0 + at }) })));
    const debugState = async (): Promise<DebugWindows> => (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as DebugWindows;

    // a opens [0, 4); b opens [6, 10); c (3 s, late by the clock but not by the watermark) spans [3, 7): it touches
    // both, so they merge into one session [0, 10) holding a, b, c.
    await send([['a', 0], ['b', 6000], ['c', 3000]]);
    await waitFor('the merged session', async () => (await debugState()).windows.openWindows === 1 && (await debugState()).windows.bufferedEvents === 3, 30_000, 100);
    const merged = await debugState();
    assert.deepEqual(merged.windows.windows.map((w) => [w.start - t0, w.end - t0, w.events]), [[0, 10_000, 3]]);
    assert.equal(merged.windows.state.type, stateType);
    if (stateType === 'ROCKSDB') {
      assert.equal(merged.windows.state.storedEvents, 3, 'the three events are on disk');
      assert.equal(merged.windows.state.location, join(stateDir.path, 'windows.rocksdb'));
      assert.ok(existsSync(join(stateDir.path, 'windows.rocksdb', 'CURRENT')), 'a RocksDB database in the configured state directory');
    } else {
      assert.equal(merged.windows.state.storedEvents, 0);
      assert.ok(!existsSync(join(stateDir.path, 'windows.rocksdb')), 'MEMORY state writes nothing to disk');
    }

    // d (20 s) moves the watermark to 14.999 s: the merged session [0, 10) closes. e (22 s) extends d's session to
    // [20, 26). g (1 s) is too late: its session [1, 5) ended before the watermark (DROP, the default).
    await send([['d', 20_000], ['e', 22_000], ['g', 1000]]);
    await waitFor('the merged session emitted', () => collector.messages.length >= 1, 30_000, 100);
    // f (40 s): watermark 34.999 s, the session [20, 26) closes; f's own session stays open.
    await send([['f', 40_000]]);
    await waitFor('two sessions', () => collector.messages.length >= 2, 30_000, 100);
    assert.deepEqual(collector.messages.map(window), [
      { start: 0, end: 10_000, partial: 'false', watermark: 14_999, eventtime: 10_000, events: ['a', 'b', 'c'] },
      { start: 20_000, end: 26_000, partial: 'false', watermark: 34_999, eventtime: 26_000, events: ['d', 'e'] },
    ]);
    const open = await debugState();
    assert.deepEqual(open.windows.windows.map((w) => [w.start - t0, w.end - t0, w.events]), [[40_000, 44_000, 1]]);
    if (stateType === 'ROCKSDB') assert.equal(open.windows.state.storedEvents, 1, 'released sessions are deleted from disk');
    const metrics = await (await fetch(`${proc.debugUrl}/metrics`)).text();
    assert.match(metrics, /sr_processor_messages_dropped_total\{[^}]*reason="late"[^}]*\} 1/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(collector.messages.length, 2, 'nothing else was emitted');
    assert.equal(await proc.stop(), 0);
  });
}
