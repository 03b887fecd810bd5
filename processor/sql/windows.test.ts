// Window aggregations (HOP, CUMULATE, the aggregate functions), stateless NULL rules — against SQLite — and event
// time: late rows, the minimum watermark over partitions, the idle-partition timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlTable } from '../../crds/sql/table';
import { SqlEngine, type SqlEngineOptions } from './engine';
import { canonical, oracle } from './oracle';
import { Acks, random, Recorder, settle, table } from './test-support';

const T0 = 1_700_000_040_000;

const events = (): SqlTable => table('Events', ['k STRING', 'v BIGINT?', 'd DOUBLE?', 's STRING?', 'ts TIMESTAMP'], { watermark: ['ts', 2000] });
const AGG_OUT = ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'c BIGINT', 'cv BIGINT', 'cd BIGINT', 'sv BIGINT?', 'av BIGINT?', 'mn BIGINT?', 'mx BIGINT?', 'ad DOUBLE?', 'mns STRING?', 'mxs STRING?'];
const AGG_SELECT = 'COUNT(*), COUNT(v), COUNT(DISTINCT v), SUM(v), AVG(v), MIN(v), MAX(v), AVG(d), MIN(s), MAX(s)';
/** SQLite: AVG of an integer column truncated toward zero, as Flink's AVG(BIGINT) is a BIGINT. */
const AGG_ORACLE = 'COUNT(*) AS c, COUNT(v) AS cv, COUNT(DISTINCT v) AS cd, SUM(v) AS sv, CAST(AVG(v) AS INTEGER) AS av, MIN(v) AS mn, MAX(v) AS mx, AVG(d) AS ad, MIN(s) AS mns, MAX(s) AS mxs';

function engineFor(statement: string, tables: SqlTable[], extra: Partial<SqlEngineOptions> = {}): { engine: SqlEngine; recorder: Recorder } {
  const recorder = new Recorder();
  const { engine, diagnostics } = SqlEngine.create({ statements: [statement], tables, emit: recorder.emit, ...extra });
  assert.deepEqual(diagnostics, []);
  return { engine: engine!, recorder };
}

/** Rows with NULLs, negative values and duplicates, in event time with disorder inside the 2 s delay. */
function generate(count: number, seed: number): unknown[][] {
  const rnd = random(seed);
  const rows: unknown[][] = [];
  for (let i = 0; i < count; i++) {
    const v = rnd() < 0.15 ? null : Math.floor(rnd() * 21) - 7;
    const d = rnd() < 0.15 ? null : Math.round(rnd() * 1000) / 10;
    const s = rnd() < 0.2 ? null : ['apple', 'banana', 'cherry', 'date', ' kiwi '][Math.floor(rnd() * 5)];
    rows.push([`k${Math.floor(rnd() * 4)}`, v, d, s, T0 + i * 97 - Math.floor(rnd() * 1900)]);
  }
  return rows;
}

function pushAll(engine: SqlEngine, rows: unknown[][], acks: Acks, stream = 'events'): void {
  for (const r of rows) engine.push(stream, 0, { values: { k: r[0], v: r[1], d: r[2], s: r[3], ts: r[4] }, timestamp: 0 }, acks.next());
}

const flush = (engine: SqlEngine, acks: Acks, at = T0 + 36_000_000): void =>
  engine.push('events', 0, { values: { k: 'flush', v: null, d: null, s: null, ts: at }, timestamp: 0 }, acks.next());

const ORACLE_COLUMNS = ['k', 'v', 'd', 's', 'ts'];

test('HOP (5 s slide, 15 s size) with COUNT, COUNT(x), COUNT(DISTINCT), SUM, AVG, MIN, MAX equals SQLite', async () => {
  const { engine, recorder } = engineFor(
    `INSERT INTO HopOut SELECT window_start, window_end, k, ${AGG_SELECT}
       FROM TABLE(HOP(TABLE Events, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)) GROUP BY window_start, window_end, k`,
    [events(), table('HopOut', AGG_OUT)],
  );
  const rows = generate(3000, 11);
  const acks = new Acks();
  pushAll(engine, rows, acks);
  flush(engine, acks);
  await settle();
  const expected = await oracle(
    [{ name: 'e', columns: ORACLE_COLUMNS, rows }, { name: 'o', columns: ['n'], rows: [[0], [1], [2]] }],
    `SELECT ws, ws + 15000 AS we, k, ${AGG_ORACLE}
       FROM (SELECT e.*, ts - ts % 5000 - o.n * 5000 AS ws FROM e, o) WHERE ws + 15000 > ts GROUP BY ws, k`,
  );
  assert.deepEqual(canonical(recorder.values()), canonical(expected));
  assert.equal(acks.acked, acks.issued - 1);
});

test('CUMULATE (2 s step, 10 s max) equals SQLite', async () => {
  const { engine, recorder } = engineFor(
    `INSERT INTO CumOut SELECT window_start, window_end, k, ${AGG_SELECT}
       FROM TABLE(CUMULATE(TABLE Events, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k`,
    [events(), table('CumOut', AGG_OUT)],
  );
  const rows = generate(2000, 12);
  const acks = new Acks();
  pushAll(engine, rows, acks);
  flush(engine, acks);
  await settle();
  const expected = await oracle(
    [{ name: 'e', columns: ORACLE_COLUMNS, rows }, { name: 'o', columns: ['n'], rows: [[1], [2], [3], [4], [5]] }],
    `SELECT ws, ws + n * 2000 AS we, k, ${AGG_ORACLE}
       FROM (SELECT e.*, ts - ts % 10000 AS ws, o.n AS n FROM e, o) WHERE ws + n * 2000 > ts GROUP BY ws, we, k`,
  );
  assert.deepEqual(canonical(recorder.values()), canonical(expected));
});

test('TUMBLE with an offset and a WHERE over window columns', async () => {
  const { engine, recorder } = engineFor(
    `INSERT INTO Out SELECT window_start, window_end, COUNT(*) AS c
       FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '3' SECOND))
       WHERE v IS NOT NULL AND window_end > ts GROUP BY window_start, window_end`,
    [events(), table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'c BIGINT'])],
  );
  const rows = generate(1000, 13);
  const acks = new Acks();
  pushAll(engine, rows, acks);
  flush(engine, acks);
  await settle();
  const expected = await oracle([{ name: 'e', columns: ORACLE_COLUMNS, rows }],
    'SELECT ts - (ts - 3000) % 10000 AS ws, ts - (ts - 3000) % 10000 + 10000 AS we, COUNT(*) AS c FROM e WHERE v IS NOT NULL GROUP BY 1');
  assert.deepEqual(canonical(recorder.values()), canonical(expected));
});

test('NULL rules, integer division, CASE, COALESCE, NULLIF, LIKE, string functions: projection + WHERE equals SQLite', async () => {
  const out = table('Out', ['k STRING', 'a BIGINT?', 'b BIGINT?', 'c BIGINT?', 'e STRING?', 'f STRING?', 'g BIGINT?', 'h BOOLEAN?', 'i BOOLEAN?', 'j STRING?', 'l STRING?', 'm INT?', 'n STRING?', 'o BIGINT?', 'p BOOLEAN?']);
  const { engine, recorder } = engineFor(
    `INSERT INTO Out SELECT k, v + 1, v / 3, v % 3,
        CASE WHEN v > 0 THEN 'pos' WHEN v < 0 THEN 'neg' END, COALESCE(s, 'none'), NULLIF(v, 0),
        v > 2 AND s IS NULL, NOT (v > 2) OR d > 50, UPPER(s) || '-' || k, SUBSTR(s, 2, 3), CHAR_LENGTH(s), REPLACE(TRIM(s), 'a', 'A'),
        ABS(v) * -1, s LIKE '%an%'
      FROM Events WHERE v > -3 OR s IS NULL OR NOT (d < 10)`,
    [events(), out],
  );
  const rows = generate(1500, 14);
  const acks = new Acks();
  pushAll(engine, rows, acks);
  await settle();
  const expected = await oracle([{ name: 'e', columns: ORACLE_COLUMNS, rows }],
    `SELECT k, v + 1 AS a, v / 3 AS b, v % 3 AS c, CASE WHEN v > 0 THEN 'pos' WHEN v < 0 THEN 'neg' END AS e, COALESCE(s, 'none') AS f,
        NULLIF(v, 0) AS g, v > 2 AND s IS NULL AS h, NOT (v > 2) OR d > 50 AS i, UPPER(s) || '-' || k AS j, SUBSTR(s, 2, 3) AS l,
        LENGTH(s) AS m, REPLACE(TRIM(s), 'a', 'A') AS n, ABS(v) * -1 AS o, s GLOB '*an*' AS p
      FROM e WHERE v > -3 OR s IS NULL OR NOT (d < 10)`);
  assert.ok(expected.length > 500 && expected.length < rows.length, 'the WHERE keeps some rows and drops others');
  assert.deepEqual(canonical(recorder.values(), out.columns.map((c) => c.name)), canonical(expected, out.columns.map((c) => c.name)));
  assert.equal(acks.acked, rows.length, 'kept rows acked after the emit, dropped ones at once');
});

test('late rows: dropped, counted, acknowledged at once; windows still open take them', async () => {
  const late: number[] = [];
  const { engine, recorder } = engineFor(
    `INSERT INTO Out SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`,
    [events(), table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'c BIGINT'])],
    { metrics: { lateRowsDropped: (_s, n) => late.push(n) } },
  );
  const acks = new Acks();
  const push = (ts: number): void => engine.push('events', 0, { values: { k: 'a', v: 1, d: null, s: null, ts }, timestamp: 0 }, acks.next());
  push(T0 + 1000); // window [T0, T0+10s)
  push(T0 + 12_001); // watermark T0+10_001 ≥ end − 1: the first window fires
  await settle();
  assert.deepEqual(recorder.values(), [{ ws: T0, we: T0 + 10_000, c: 1 }]);
  const ackedBefore = acks.acked;
  push(T0 + 5000); // its window fired: late
  assert.equal(acks.acked, ackedBefore + 1, 'a late row is acknowledged at once');
  assert.deepEqual(late, [1]);
  push(T0 + 10_500); // watermark is T0+10_001: window [T0+10s, T0+20s) is still open, not late
  push(T0 + 40_000);
  await settle();
  assert.deepEqual(recorder.values().slice(1), [{ ws: T0 + 10_000, we: T0 + 20_000, c: 2 }]);
  const state = engine.describe() as { statements: { lateRowsDropped: number }[] };
  assert.equal(state.statements[0].lateRowsDropped, 1);
  assert.equal(acks.acked, acks.issued - 1, 'everything but the open window of the last row');
});

test('windows across partitions fire on the minimum watermark; an idle partition stops holding them back', async () => {
  let now = 1_000_000;
  const { engine, recorder } = engineFor(
    `INSERT INTO Out SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`,
    [events(), table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'c BIGINT'])],
    { now: () => now, idleTimeoutMs: 30_000 },
  );
  const acks = new Acks();
  const push = (partition: number, ts: number): void => engine.push('events', partition, { values: { k: 'a', v: 1, d: null, s: null, ts }, timestamp: 0 }, acks.next());
  engine.markPartition('events', 2); // assigned, never receives a row
  push(0, T0 + 1000);
  push(1, T0 + 2000);
  push(0, T0 + 60_000); // partition 0 far ahead
  await settle();
  assert.deepEqual(recorder.values(), [], 'partitions 1 and 2 hold the watermark back');
  const held = engine.describe() as { statements: { heldBackBy: { table: string; partition: number } }[]; inputs: { partitions: { partition: number; holdingBack: boolean }[] }[] };
  assert.equal(held.statements[0].heldBackBy.table, 'Events');
  assert.ok([1, 2].includes(held.statements[0].heldBackBy.partition));
  push(1, T0 + 30_000); // partition 1 catches up; partition 2 (empty) still holds back
  await settle();
  assert.deepEqual(recorder.values(), []);
  now += 29_000;
  engine.tick();
  await settle();
  assert.deepEqual(recorder.values(), [], 'not idle yet');
  now += 1_000;
  push(0, T0 + 61_000);
  push(1, T0 + 31_000);
  engine.tick(); // partition 2 silent for 30 s: idle; min(58_000, 28_000 + ...) over partitions 0 and 1
  await settle();
  assert.deepEqual(recorder.values(), [{ ws: T0, we: T0 + 10_000, c: 2 }], 'fires at min(p0, p1) = T0+29s: only the first window has all its rows');
  const rows = recorder.values().length;
  // Partition 1 goes idle too: partition 0 alone drives the watermark.
  now += 30_000;
  push(0, T0 + 62_000);
  engine.tick();
  await settle();
  assert.ok(recorder.values().length > rows);
  assert.deepEqual(recorder.values()[recorder.values().length - 1], { ws: T0 + 30_000, we: T0 + 40_000, c: 2 });
});

test('external watermarks (a repartitioning exchange): rows do not move the watermark, markers do; idle markers release', async () => {
  const { engine, recorder } = engineFor(
    `INSERT INTO Out SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`,
    [events(), table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'c BIGINT'])],
  );
  engine.useExternalWatermarks('events');
  const acks = new Acks();
  const push = (partition: number, ts: number): void => engine.push('events', partition, { values: { k: 'a', v: 1, d: null, s: null, ts }, timestamp: 0 }, acks.next());
  push(0, T0 + 1000);
  push(1, T0 + 2000);
  push(0, T0 + 60_000);
  await settle();
  assert.deepEqual(recorder.values(), [], 'rows alone never fire a window');
  engine.externalWatermark('events', 0, T0 + 50_000);
  engine.externalWatermark('events', 1, T0 + 5_000);
  await settle();
  assert.deepEqual(recorder.values(), [], 'partition 1 holds it back');
  engine.externalWatermark('events', 1, 'idle');
  await settle();
  assert.deepEqual(recorder.values(), [{ ws: T0, we: T0 + 10_000, c: 2 }]);
  engine.externalWatermark('events', 0, T0 + 40_000); // never moves back
  engine.tick();
  push(0, T0 + 3000); // its window fired: late
  assert.equal((engine.describe() as { statements: { lateRowsDropped: number }[] }).statements[0].lateRowsDropped, 1);
});

test('a HOP row partly late goes to its windows that have not fired (not counted late); a window over a subquery with computed columns', async () => {
  const { engine, recorder } = engineFor(
    `INSERT INTO Out SELECT window_start, window_end, kk, COUNT(*) AS c, SUM(w) AS total
       FROM TABLE(HOP(TABLE (SELECT UPPER(k) AS kk, v * 10 AS w, ts FROM Events WHERE v IS NOT NULL), DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
       GROUP BY window_start, window_end, kk`,
    [events(), table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'c BIGINT', 'total BIGINT?'])],
  );
  const acks = new Acks();
  const push = (ts: number, v: number | null): void => engine.push('events', 0, { values: { k: 'a', v, d: null, s: null, ts }, timestamp: 0 }, acks.next());
  push(T0 + 1000, 1); // windows [T0−5s, T0+5s) and [T0, T0+10s)
  push(T0 + 7500, 2); // watermark T0+5500: [T0−5s, T0+5s) fires
  push(T0 + 4000, 3); // [T0−5s, T0+5s) fired, [T0, T0+10s) still open: not late
  push(T0 + 4000, null); // filtered in the subquery
  push(T0 + 30_000, 1);
  await settle();
  assert.deepEqual(recorder.values().slice(0, 3), [
    { ws: T0 - 5000, we: T0 + 5000, k: 'A', c: 1, total: 10 },
    { ws: T0, we: T0 + 10_000, k: 'A', c: 3, total: 60 },
    { ws: T0 + 5000, we: T0 + 15_000, k: 'A', c: 1, total: 20 },
  ]);
  assert.equal((engine.describe() as { statements: { lateRowsDropped: number }[] }).statements[0].lateRowsDropped, 0);
});

test('window Top-N directly over a window TVF (no aggregation): the 2 largest values per window and key equal SQLite', async () => {
  const { engine, recorder } = engineFor(
    `INSERT INTO Top SELECT window_start, window_end, k, v, rn FROM (
       SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY v DESC) AS rn
       FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '5' SECOND))) WHERE rn <= 2`,
    [events(), table('Top', ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'v BIGINT?', 'rn BIGINT'])],
  );
  assert.match(engine.explain(), /WindowTopN partition=\(window_start, window_end, k\) order=\(v DESC\) limit=2/);
  const rows = generate(1500, 15);
  const acks = new Acks();
  pushAll(engine, rows, acks);
  flush(engine, acks);
  await settle();
  // Ties on v: broken by the remaining columns in field order (k, v, d, s, ts, window columns), NULL first.
  const expected = await oracle([{ name: 'e', columns: ORACLE_COLUMNS, rows }],
    `SELECT ws, ws + 5000 AS we, k, v, rn FROM (
       SELECT *, ROW_NUMBER() OVER (PARTITION BY ws, k ORDER BY v DESC, k, v, d, s, ts) AS rn
       FROM (SELECT e.*, ts - ts % 5000 AS ws FROM e)) WHERE rn <= 2`);
  assert.ok(expected.length > 150);
  assert.deepEqual(canonical(recorder.values()), canonical(expected));
  assert.equal(acks.acked, acks.issued - 1);
});
