// The engine's surface: creation diagnostics, several statements, an updating GROUP BY into an upsert sink,
// processing-time windows driven by tick(), explain() and describe().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlEngine } from './engine';
import { Acks, Recorder, settle, table } from './test-support';

const T0 = 1_700_000_040_000;
const events = table('Events', ['k STRING', 'v BIGINT?', 'ts TIMESTAMP'], { watermark: ['ts', 1000] });

test('create: parse and plan diagnostics with statement index, line and column; no engine', () => {
  const { engine, diagnostics } = SqlEngine.create({
    statements: ['INSERT INTO Out SELECT k FROM Events', 'INSERT INTO Out\nSELECT kk FROM Events', 'SELECT k FROM Events', 'INSERT INTO Out SELEC k'],
    tables: [events, table('Out', ['k STRING'])],
    emit: async () => {},
  });
  assert.equal(engine, undefined);
  assert.deepEqual(diagnostics.map((d) => [d.statement, d.line, d.column]), [[1, 2, 8], [2, 1, 1], [3, 1, 17]]);
  assert.match(diagnostics[0].message, /unknown column 'kk'; available columns: events\.k, events\.v, events\.ts/);
  assert.match(diagnostics[1].message, /a bare query has no sink/);
});

test('GROUP BY without a window into an upsert sink: inserts then updates by key; HAVING turning false deletes the key', async () => {
  const out = table('Totals', ['k STRING', 'total BIGINT?', 'n BIGINT'], { upsert: true, primaryKey: ['k'] });
  const recorder = new Recorder();
  const { engine, diagnostics } = SqlEngine.create({
    statements: ['INSERT INTO Totals SELECT k, SUM(v), COUNT(*) FROM Events GROUP BY k HAVING SUM(v) < 10'],
    tables: [events, out],
    emit: recorder.emit,
  });
  assert.deepEqual(diagnostics, []);
  const acks = new Acks();
  for (const [k, v] of [['a', 3], ['b', 1], ['a', 4], ['a', 5], ['b', null]] as const) {
    engine!.push('events', 0, { values: { k, v, ts: T0 }, timestamp: 0 }, acks.next());
  }
  await settle();
  assert.deepEqual(recorder.rows.map((r) => [r.row.kind, r.row.values]), [
    ['insert', { k: 'a', total: 3, n: 1 }],
    ['insert', { k: 'b', total: 1, n: 1 }],
    ['update', { k: 'a', total: 7, n: 2 }],
    ['delete', { k: 'a', total: 12, n: 3 }],
    ['update', { k: 'b', total: 1, n: 2 }],
  ]);
  assert.deepEqual(recorder.rows[3].row.key, { k: 'a' });
  assert.equal(acks.acked, 5);
});

test('processing-time windows fire from tick() on the wall clock', async () => {
  let now = 120_500;
  const clicks = table('Clicks', ['user STRING', 'pt TIMESTAMP_LTZ @ proctime']);
  const recorder = new Recorder();
  const { engine, diagnostics } = SqlEngine.create({
    statements: ["INSERT INTO Out SELECT window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE Clicks, DESCRIPTOR(pt), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end"],
    tables: [clicks, table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'c BIGINT'])],
    emit: recorder.emit,
    now: () => now,
  });
  assert.deepEqual(diagnostics, []);
  assert.match(engine!.explain(), /Window TUMBLE\(pt, size=60000ms\) processing time/);
  const acks = new Acks();
  engine!.push('clicks', 0, { values: { user: 'a' }, timestamp: 0 }, acks.next());
  now = 150_000;
  engine!.push('clicks', 0, { values: { user: 'b' }, timestamp: 0 }, acks.next());
  engine!.tick();
  await settle();
  assert.deepEqual(recorder.values(), []);
  now = 180_000; // the window [120 s, 180 s) ends
  engine!.tick();
  await settle();
  assert.deepEqual(recorder.values(), [{ ws: 120_000, we: 180_000, c: 2 }]);
  assert.equal(acks.acked, 2);
});

test('several statements share an input; explain() and describe() show plans, watermarks, open windows and why', async () => {
  const recorder = new Recorder();
  const { engine } = SqlEngine.create({
    statements: [
      "INSERT INTO Counts SELECT window_start, window_end, k, COUNT(*) FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k",
      'INSERT INTO Copy SELECT k, v FROM Events WHERE v IS NOT NULL',
    ],
    tables: [events, table('Counts', ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'c BIGINT']), table('Copy', ['k STRING', 'v BIGINT'])],
    emit: recorder.emit,
  });
  const acks = new Acks();
  engine!.push('events', 3, { values: { k: 'a', v: 1, ts: T0 + 500 }, timestamp: 0 }, acks.next());
  engine!.push('events', 3, { values: { k: 'b', v: null, ts: T0 + 4000 }, timestamp: 0 }, acks.next());
  await settle();
  assert.deepEqual(recorder.values('copy'), [{ k: 'a', v: 1 }]);
  assert.equal(acks.acked, 0, 'row a: copied and confirmed, but held by the open window; row b: filtered by the copy, held by the window');
  assert.deepEqual(engine!.inputs.map((t) => t.name), ['Events']);
  assert.deepEqual(engine!.outputs.map((t) => t.name), ['Counts', 'Copy']);
  assert.deepEqual(engine!.partitionsOf('events'), [3]);
  assert.match(engine!.explain(), /-- statement 0\nSink Counts[\s\S]*-- statement 1\nSink Copy/);
  const state = engine!.describe() as {
    pendingRows: number;
    inputs: { partitions: { partition: number; watermark: number; holdingBack: boolean }[] }[];
    statements: { watermark: number; heldBackBy: unknown; operators: { operator: string; windows?: { windowEnd: number; rowsHeld: number; whyNotFired: string }[] }[] }[];
  };
  assert.equal(state.pendingRows, 2);
  assert.deepEqual(state.inputs[0].partitions.map((p) => [p.partition, p.watermark, p.holdingBack]), [[3, T0 + 3000, true]]);
  assert.equal(state.statements[0].watermark, T0 + 3000);
  assert.deepEqual(state.statements[0].heldBackBy, { table: 'Events', partition: 3 });
  const window = state.statements[0].operators.find((o) => o.operator === 'WindowAggregate')!.windows![0];
  assert.equal(window.windowEnd, T0 + 10_000);
  assert.equal(window.rowsHeld, 2);
  assert.match(window.whyNotFired, new RegExp(`watermark ${T0 + 3000} < ${T0 + 9999} .*; held back by Events partition 3`));
});

test('state TTL on a GROUP BY: an idle group is forgotten (counted), its next row starts it again as an insert', async () => {
  let now = 0;
  const expired: number[] = [];
  const out = table('Totals', ['k STRING', 'n BIGINT'], { upsert: true, primaryKey: ['k'] });
  const recorder = new Recorder();
  const { engine } = SqlEngine.create({
    statements: ['INSERT INTO Totals SELECT k, COUNT(*) FROM Events GROUP BY k'],
    tables: [events, out],
    emit: recorder.emit,
    stateTtlMs: 10_000,
    now: () => now,
    metrics: { rowsExpired: (_s, n) => expired.push(n) },
  });
  const acks = new Acks();
  const push = (k: string): void => engine!.push('events', 0, { values: { k, v: 1, ts: T0 }, timestamp: 0 }, acks.next());
  push('a');
  push('b');
  now = 8_000;
  push('b'); // touched: b stays
  now = 12_000;
  engine!.tick();
  assert.deepEqual(expired, [1]);
  push('a');
  push('b');
  await settle();
  assert.deepEqual(recorder.rows.slice(3).map((r) => [r.row.kind, r.row.values]), [
    ['insert', { k: 'a', n: 1 }],
    ['update', { k: 'b', n: 3 }],
  ]);
});
