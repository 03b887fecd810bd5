// End to end through the real `sr processor` process:
//  1. a 5 s tumbling window over event time read from the payload (the input Stream's time attribute and watermark
//     expression, tutorial 6), aggregated by a raw gRPC aggregator UDF: one result per team per window with the
//     window headers; a late event goes to the side channel (its own destination);
//  2. a stateless mapper UDF that dies and comes back mid-stream: every message still arrives (retries bridge the
//     outage) and the processor reports the UDF unreachable meanwhile.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessorConfig } from '../../processor/config';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { countPayloads, kafkaProduce, RabbitCollector, rabbitPublish, waitReady, useProcessorTestResources } from '../support/processor-harness';
import { decodeCollection, encodeCollection, startUdfServer, type UdfServer } from '../support/processor-udf';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const servers: UdfServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});
const id = uniqueName('wu');


test('tumbling window + aggregator UDF: per-window results with headers; late events to the side channel', async () => {
  const input = `${id}-scores`;
  const output = `${id}-totals`;
  const late = `${id}-late`;
  exchanges.push(output, late);
  queues.push(`${output}.collector`, `${late}.collector`);
  await resources.kafka.createTopic(input, 1);
  // The aggregator: counts events per team in the window it receives (GrpcPayloadCollection of JSON events).
  const udf = await startUdfServer((request) => {
    assert.equal(request.headers.contentType, 'multipart/json');
    const counts = new Map<string, number>();
    for (const bytes of decodeCollection(request.payload)) {
      const event = JSON.parse(bytes.toString()) as { team: string };
      counts.set(event.team, (counts.get(event.team) ?? 0) + 1);
    }
    const results = [...counts].map(([team, count]) => Buffer.from(JSON.stringify({ team, count, from: Number(request.headers.windowStartTime) })));
    return { payload: encodeCollection(results), headers: { contentType: 'multipart/json' } };
  });
  servers.push(udf);
  const config: ProcessorConfig = {
    name: 'scores', namespace: 'test', group: `${id}-win`, instanceIndex: 0, instanceCount: 1,
    inputs: [{
      stream: 'scores', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap }, contentType: 'application/json',
      timeAttribute: { field: 'score_time', watermark: "`score_time` - INTERVAL '1' SECOND" },
    }],
    outputs: [{ stream: 'totals', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    lateOutput: { stream: 'late', protocol: 'rabbitmq', destination: late, server: { url: rabbitUrl() } },
    attributes: { 'srp.window': '5s', 'srp.window.idle.timeout': '60s', 'srp.lateEventMode': 'SIDE_CHANNEL', 'srp.output.headers': 'firstTeam=payload.team' },
    udf: { address: `127.0.0.1:${udf.port}` },
    http: { port: 0 },
  };
  const totals = await RabbitCollector.start(rabbitUrl(), output);
  const lateOut = await RabbitCollector.start(rabbitUrl(), late);
  closers.push(totals, lateOut);
  const proc = await resources.startReady(config);
  const t0 = 1_700_000_000_000; // a multiple of 5000
  const event = (team: string, offset: number): { payload: string } => ({ payload: JSON.stringify({ team, score: 1, score_time: t0 + offset }) });
  await kafkaProduce(resources.kafka.bootstrap, input, [
    event('red', 0), event('blue', 500), event('red', 1000), event('blue', 3000), event('red', 4900),
    event('green', 7000), // watermark 5999: window [t0, t0+5000) closes
    event('red', 1500), // late: its window was emitted -> side channel
    event('green', 8000),
    event('blue', 12_000), // watermark 10999: window [t0+5000, t0+10000) closes
  ]);
  await waitFor('two windows of results and one late event', () => totals.messages.length >= 3 && lateOut.messages.length >= 1, 30_000, 100);
  const first = totals.messages.filter((m) => m.headers.windowStartTime === String(t0));
  assert.deepEqual(first.map((m) => JSON.parse(m.payload) as unknown).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    { team: 'blue', count: 2, from: t0 },
    { team: 'red', count: 3, from: t0 },
  ]);
  for (const m of first) {
    assert.equal(m.headers.windowEndTime, String(t0 + 5000));
    assert.equal(m.headers.partial, 'false');
    assert.equal(m.headers.contentType, 'application/json');
    assert.equal(m.headers.eventtime, String(t0 + 5000));
    assert.equal(m.headers.watermark, String(t0 + 7000 - 1000 - 1));
    assert.equal(m.headers.firstTeam, (JSON.parse(m.payload) as { team: string }).team, 'srp.output.headers on window output');
  }
  const second = totals.messages.filter((m) => m.headers.windowStartTime === String(t0 + 5000));
  assert.deepEqual(second.map((m) => JSON.parse(m.payload) as unknown), [{ team: 'green', count: 2, from: t0 + 5000 }]);
  assert.equal(lateOut.messages.length, 1);
  assert.deepEqual(JSON.parse(lateOut.messages[0].payload), { team: 'red', score: 1, score_time: t0 + 1500 });
  assert.equal(lateOut.messages[0].headers.eventtime, String(t0 + 1500));

  const state = (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as { windows: { openWindows: number; windows: Array<{ waitingFor: string }> }; watermarks: { global: number } };
  assert.equal(state.windows.openWindows, 1, 'the window holding the last event is still open');
  assert.ok(state.windows.windows[0].waitingFor.length > 0, 'and /debug/state says why');
  assert.equal(state.watermarks.global, t0 + 12_000 - 1000 - 1);
  const metrics = await (await fetch(`${proc.debugUrl}/metrics`)).text();
  assert.match(metrics, /sr_processor_messages_late_total\{[^}]*action="side_channel"[^}]*\} 1/);
  assert.match(metrics, /sr_processor_open_windows\{[^}]*\} 1/);
  assert.match(metrics, /sr_processor_udf_latency_seconds_count\{[^}]*outcome="ok"[^}]*\} 2/);
  assert.equal(await proc.stop(), 0);
});

test('a mapper UDF dies and comes back mid-stream: nothing is lost', async () => {
  const input = `${id}-words`;
  const output = `${id}-upper`;
  const group = `${id}-map`;
  exchanges.push(input, output, `${input}.${group}.dlq`);
  queues.push(`${input}.${group}`, `${output}.collector`, `${input}.${group}.dlq.collector`);
  const udf = await startUdfServer((request) => ({ payload: Buffer.from(request.payload.toString().toUpperCase()), headers: { contentType: 'text/plain', mapped: 'yes' } }));
  servers.push(udf);
  const config: ProcessorConfig = {
    name: 'mapper', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'words', protocol: 'rabbitmq', destination: input, server: { url: rabbitUrl() }, prefetch: 50 }],
    outputs: [{ stream: 'upper', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: { 'srp.udf.maxAttempts': '30' },
    udf: { address: `127.0.0.1:${udf.port}`, timeoutMs: 1000 },
    http: { port: 0 },
  };
  const upper = await RabbitCollector.start(rabbitUrl(), output);
  const dead = await RabbitCollector.start(rabbitUrl(), `${input}.${group}.dlq`);
  closers.push(upper, dead);
  const proc = await resources.startReady(config);
  const n = 600;
  await rabbitPublish(rabbitUrl(), input, Array.from({ length: n }, (_, i) => ({ payload: `word${i}`, headers: { contentType: 'text/plain' } })));
  await waitFor('the stream under way', () => upper.messages.length >= 50, 30_000, 10);
  udf.kill();
  await waitFor('readiness to report the UDF unreachable', async () => (await fetch(`${proc.debugUrl}/readyz`)).status === 503, 20_000, 100);
  await udf.restart();
  await waitFor('every message mapped', () => countPayloads(upper.messages).size >= n, 60_000, 100);
  assert.equal(dead.messages.length, 0, 'nothing dead-lettered');
  const counts = countPayloads(upper.messages);
  for (let i = 0; i < n; i++) assert.ok(counts.has(`WORD${i}`), `WORD${i}`);
  assert.ok(upper.messages.every((m) => m.headers.mapped === 'yes'));
  process.stdout.write(`# udf outage: ${n} sent, ${counts.size} distinct, ${upper.messages.length - counts.size} duplicates\n`);
  await waitReady(proc.debugUrl);
  assert.equal(await proc.stop(), 0);
});

test('idle release: a window without new events for srp.window.idle.timeout is emitted partial (no UDF: a JSON array)', async () => {
  const input = `${id}-idle-in`;
  const output = `${id}-idle-out`;
  const group = `${id}-idle`;
  exchanges.push(input, output);
  queues.push(`${input}.${group}`, `${output}.collector`);
  const config: ProcessorConfig = {
    name: 'idle', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url: rabbitUrl() }, contentType: 'application/json' }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: { 'srp.window': '1m', 'srp.window.idle.timeout': '1s', 'srp.input.timestampExpression': 'payload.at' },
    http: { port: 0 },
  };
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const proc = await resources.startReady(config);
  const t0 = 1_700_000_040_000; // a multiple of 60000
  await rabbitPublish(rabbitUrl(), input, [1, 2, 3].map((i) => ({ payload: JSON.stringify({ i, at: t0 + i * 1000 }), headers: { contentType: 'application/json' } })));
  await waitFor('the idle window', () => collector.messages.length >= 1, 20_000, 100);
  const [window] = collector.messages;
  assert.deepEqual(JSON.parse(window.payload), [1, 2, 3].map((i) => ({ i, at: t0 + i * 1000 })));
  assert.equal(window.headers.partial, 'true');
  assert.equal(window.headers.windowStartTime, String(t0));
  assert.equal(window.headers.windowEndTime, String(t0 + 60_000));
  assert.equal(await proc.stop(), 0);
});

test('dead letters: a missing timestamp and a UDF error after retries; the rest goes through', async () => {
  const input = `${id}-dl-in`;
  const output = `${id}-dl-out`;
  const group = `${id}-dl`;
  const dlq = `${input}.${group}.dlq`;
  exchanges.push(input, output, dlq);
  queues.push(`${input}.${group}`, `${output}.collector`, `${dlq}.collector`);
  const udf = await startUdfServer((request) => {
    const body = JSON.parse(request.payload.toString()) as { w: string };
    if (body.w === 'poison') throw new Error('cannot map poison');
    return { payload: Buffer.from(JSON.stringify({ W: body.w.toUpperCase() })), headers: { contentType: 'application/json' } };
  });
  servers.push(udf);
  const config: ProcessorConfig = {
    name: 'dl', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url: rabbitUrl() } }],
    outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: { 'srp.input.timestampExpression': 'payload.at', 'srp.udf.maxAttempts': '2', 'srp.lateEventMode': 'UPSERT' },
    udf: { address: `127.0.0.1:${udf.port}` },
    http: { port: 0 },
  };
  const out = await RabbitCollector.start(rabbitUrl(), output);
  const dead = await RabbitCollector.start(rabbitUrl(), dlq);
  closers.push(out, dead);
  const proc = await resources.startReady(config);
  const now = Date.now();
  await rabbitPublish(rabbitUrl(), input, [
    { w: 'one', at: now }, { w: 'no time' }, { w: 'poison', at: now + 1 }, { w: 'two', at: now + 2 },
  ].map((body) => ({ payload: JSON.stringify(body), headers: { contentType: 'application/json' } })));
  await waitFor('2 results and 2 dead letters', () => out.messages.length >= 2 && dead.messages.length >= 2, 30_000, 100);
  assert.deepEqual(out.messages.map((m) => JSON.parse(m.payload) as unknown), [{ W: 'ONE' }, { W: 'TWO' }]);
  assert.equal(out.messages[0].headers.eventtime, String(now));
  const byStage = new Map(dead.messages.map((m) => [m.headers['x-exception-stage'], m]));
  assert.match(byStage.get('timestamp')?.headers['x-exception-message'] ?? '', /no field 'at'/);
  assert.equal(JSON.parse(byStage.get('timestamp')?.payload ?? '{}').w, 'no time');
  assert.match(byStage.get('udf')?.headers['x-exception-message'] ?? '', /cannot map poison/);
  assert.equal(udf.calls.filter((c) => c.payload.toString().includes('poison')).length, 2, 'two attempts');
  assert.equal(await proc.stop(), 0);
});
