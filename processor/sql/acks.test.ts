// The at-least-once ack model: an input row's ack is called exactly once, only after every output row it
// contributed to was confirmed by the sink — or at once when it contributes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlTable } from '../../crds/sql/table';
import { SqlEngine, type SqlEngineOptions } from './engine';
import { Acks, Recorder, settle, table } from './test-support';

const T0 = 1_700_000_040_000;
const events = (): SqlTable => table('Events', ['k STRING', 'v BIGINT?', 'ts TIMESTAMP'], { watermark: ['ts', 0] });
const windowOut = (): SqlTable => table('Out', ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'c BIGINT']);

function engineFor(statements: string[], tables: SqlTable[], extra: Partial<SqlEngineOptions> = {}): { engine: SqlEngine; recorder: Recorder } {
  const recorder = new Recorder();
  recorder.autoConfirm = false;
  const { engine, diagnostics } = SqlEngine.create({ statements, tables, emit: recorder.emit, ...extra });
  assert.deepEqual(diagnostics, []);
  return { engine: engine!, recorder };
}

const push = (engine: SqlEngine, acks: Acks, k: string, v: number | null, ts: number, stream = 'events'): void =>
  engine.push(stream, 0, { values: { k, v, ts }, timestamp: 0 }, acks.next());

test('window aggregate: no ack before the window\'s rows are confirmed, every ack exactly once after; filtered rows at once', async () => {
  const { engine, recorder } = engineFor(
    [`INSERT INTO Out SELECT window_start, window_end, k, COUNT(*) FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
       WHERE v > 0 GROUP BY window_start, window_end, k`],
    [events(), windowOut()],
  );
  const acks = new Acks();
  push(engine, acks, 'a', 1, T0 + 1);
  push(engine, acks, 'b', 1, T0 + 2);
  push(engine, acks, 'a', -1, T0 + 3); // filtered out
  push(engine, acks, 'a', null, T0 + 4); // NULL > 0 is unknown: filtered out
  assert.equal(acks.acked, 2, 'filtered rows are acknowledged at once');
  assert.equal(engine.pending(), 2);
  push(engine, acks, 'a', 1, T0 + 10_000); // watermark T0+10_000: the first window fires
  await settle();
  assert.equal(recorder.batches.length, 1, 'the window\'s rows were emitted');
  assert.equal(recorder.batches[0].rows.length, 2);
  assert.equal(acks.acked, 2, 'but not confirmed: the window\'s input rows are still held');
  await recorder.confirmAll();
  assert.equal(acks.acked, 4);
  assert.deepEqual([...acks.byId.entries()].filter(([, n]) => n !== 1), [], 'each ack exactly once');
  assert.equal(engine.pending(), 1, 'the row of the open window');
});

test('a HOP row is acknowledged after the last of its windows fired and was confirmed', async () => {
  const { engine, recorder } = engineFor(
    [`INSERT INTO Out SELECT window_start, window_end, k, COUNT(*) FROM TABLE(HOP(TABLE Events, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND))
       GROUP BY window_start, window_end, k`],
    [events(), windowOut()],
  );
  const acks = new Acks();
  push(engine, acks, 'a', 1, T0 + 1); // windows ending T0+5s, T0+10s, T0+15s
  push(engine, acks, 'b', 1, T0 + 10_000); // fires the first two
  await settle();
  await recorder.confirmAll();
  assert.equal(acks.acked, 0, 'one of its windows is still open');
  push(engine, acks, 'b', 1, T0 + 15_000);
  await settle();
  assert.equal(acks.acked, 0, 'its last window fired but is not confirmed');
  await recorder.confirmAll();
  assert.equal(acks.acked, 1);
});

test('window Top-N: the aggregate\'s acks are released after the Top-N rows are confirmed; rows outside the top N do not hold them', async () => {
  const { engine, recorder } = engineFor(
    [`INSERT INTO Top SELECT window_start, window_end, k, c FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY c DESC) AS rn FROM (
          SELECT window_start, window_end, k, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE Events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
          GROUP BY window_start, window_end, k)) WHERE rn <= 1`],
    [events(), table('Top', ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'c BIGINT'])],
  );
  const acks = new Acks();
  push(engine, acks, 'a', 1, T0 + 1);
  push(engine, acks, 'b', 1, T0 + 2);
  push(engine, acks, 'b', 1, T0 + 3);
  push(engine, acks, 'z', 1, T0 + 20_000);
  await settle();
  assert.deepEqual(recorder.values(), [{ ws: T0, we: T0 + 10_000, k: 'b', c: 2 }]);
  assert.equal(acks.acked, 0);
  await recorder.confirmAll();
  assert.equal(acks.acked, 3, 'the whole window (including the row of the non-top group) after the confirmation');
});

test('join: a row is acknowledged once the rows it produced now are confirmed (none: at once)', async () => {
  const { engine, recorder } = engineFor(
    ['INSERT INTO Out SELECT a.id, b.name FROM A a JOIN B b ON a.id = b.id'],
    [table('A', ['id BIGINT']), table('B', ['id BIGINT', 'name STRING']), table('Out', ['id BIGINT', 'name STRING'])],
  );
  const acks = new Acks();
  engine.push('a', 0, { values: { id: 1 }, timestamp: 0 }, acks.next(0));
  assert.equal(acks.acked, 1, 'no match: acknowledged at once (its copy stays in state)');
  engine.push('a', 0, { values: { id: 1 }, timestamp: 0 }, acks.next(1));
  engine.push('b', 0, { values: { id: 1, name: 'x' }, timestamp: 0 }, acks.next(2)); // matches both A rows
  await settle();
  assert.equal(recorder.rows.length, 2);
  assert.equal(acks.acked, 2);
  await recorder.confirmAll();
  assert.equal(acks.acked, 3);
  assert.equal(acks.byId.get(2), 1);
});

test('a row read by two statements is acknowledged after both sinks confirmed; a failed emit acknowledges nothing', async () => {
  const errors: unknown[] = [];
  const log = { info: () => {}, warn: () => {}, error: (obj: unknown) => errors.push(obj) } as unknown as SqlEngineOptions['log'];
  const { engine, recorder } = engineFor(
    ['INSERT INTO One SELECT k FROM Events WHERE v > 0', 'INSERT INTO Two SELECT k, v FROM Events'],
    [events(), table('One', ['k STRING']), table('Two', ['k STRING', 'v BIGINT?'])],
    { log },
  );
  const acks = new Acks();
  push(engine, acks, 'a', 1, T0);
  push(engine, acks, 'b', -1, T0);
  await settle();
  assert.equal(recorder.batches.length, 2);
  recorder.batches.find((b) => b.stream === 'two')!.resolve();
  await settle();
  assert.equal(acks.acked, 1, 'row b (filtered by statement 1) needed only sink Two');
  recorder.batches.find((b) => b.stream === 'one')!.reject(new Error('broker down'));
  await settle();
  assert.equal(acks.acked, 1, 'row a stays unacknowledged: redelivered after a restart');
  assert.equal(engine.pending(), 1);
  assert.equal(errors.length, 1);
});

test('rows that cannot be coerced go to reject (the runtime dead-letters and acks them); timestamps coerce from strings', async () => {
  const rejected: string[] = [];
  const { engine, recorder } = engineFor(['INSERT INTO Two SELECT k, v FROM Events'], [events(), table('Two', ['k STRING', 'v BIGINT?'])], {
    reject: (_row, reason) => rejected.push(reason),
  });
  const acks = new Acks();
  engine.push('events', 0, { values: { k: 'a', v: 'seven', ts: T0 }, timestamp: 0 }, acks.next());
  engine.push('events', 0, { values: { k: 'a', v: 1, ts: null }, timestamp: 0 }, acks.next());
  engine.push('events', 0, { values: { k: 'a', v: '2', ts: '2023-11-14 22:14:00.5' }, timestamp: 0 }, acks.next());
  engine.push('events', 0, { values: { k: 'a', v: 3, ts: '2023-11-14T22:14:00Z' }, timestamp: 0 }, acks.next());
  assert.equal(rejected.length, 2);
  assert.match(rejected[0], /not a number/);
  assert.match(rejected[1], /rowtime column 'ts' is NULL/);
  assert.equal(acks.acked, 0, 'rejected rows are acknowledged by the runtime, not the engine');
  await settle();
  await recorder.confirmAll();
  assert.deepEqual(recorder.values(), [{ k: 'a', v: 2 }, { k: 'a', v: 3 }]);
  const state = engine.describe() as { inputs: { partitions: { maxRowtime: number }[] }[] };
  assert.equal(state.inputs[0].partitions[0].maxRowtime, Date.UTC(2023, 10, 14, 22, 14, 0, 500));
});
