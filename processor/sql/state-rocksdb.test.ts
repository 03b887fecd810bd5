// ROCKSDB state for the SQL engine, against real RocksDB: join state outlives a restart (an engine closed and a new
// one opened on the same directory), rows not yet acknowledged are not in it (their redelivery joins once), a
// redelivered row whose record survived is recognised, a LEFT join neither retracts twice nor forgets to, the TTL
// applies to restored rows and deletes them from disk, interval joins restore too, GROUP BY groups go on from their
// acknowledged values, a changed statement drops the old records, and a second process is refused the directory. The memory backend is the control: it loses the match.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SqlTable } from '../../crds/sql/table';
import { SqlEngine, type SqlEngineOptions } from './engine';
import { memoryState, type StateBackend } from './state';
import { RocksDbSqlState } from './state-rocksdb';
import { Acks, Recorder, settle, table } from './test-support';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Waits for `condition` (durable writes, and the acks behind them, are asynchronous; the machine may be loaded). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sql-state-test-'));
  dirs.push(dir);
  return dir;
}

const INNER = 'INSERT INTO Out SELECT o.id, o.user_id, u.name FROM Orders o JOIN Users u ON o.user_id = u.user_id';
const LEFT = 'INSERT INTO Up SELECT o.id, u.name FROM Orders o LEFT JOIN Users u ON o.user_id = u.user_id';
const TABLES: SqlTable[] = [
  table('Orders', ['id BIGINT', 'user_id STRING']),
  table('Users', ['user_id STRING', 'name STRING']),
  table('Out', ['id BIGINT', 'user_id STRING', 'name STRING']),
  table('Up', ['id BIGINT', 'name STRING?'], { upsert: true, primaryKey: ['id'] }),
];

interface Run {
  engine: SqlEngine;
  recorder: Recorder;
  state: StateBackend;
  acks: Acks;
  order(id: number, user: string, offset: number): void;
  user(user: string, name: string, offset: number): void;
  /** Waits until every ack issued so far was called (durable writes are asynchronous). */
  acked(): Promise<void>;
  stop(): Promise<void>;
}

async function start(statement: string, dir: string | undefined, extra: Partial<SqlEngineOptions> = {}, confirm = true): Promise<Run> {
  const recorder = new Recorder();
  recorder.autoConfirm = confirm;
  const state = dir === undefined ? memoryState : new RocksDbSqlState({ dir });
  const { engine, diagnostics } = SqlEngine.create({ statements: [statement], tables: TABLES, emit: recorder.emit, state, ...extra });
  assert.deepEqual(diagnostics, []);
  await engine!.openState();
  const acks = new Acks();
  return {
    engine: engine!,
    recorder,
    state,
    acks,
    order: (id, user, offset) => engine!.push('orders', 0, { values: { id, user_id: user }, timestamp: 0, origin: `0:${offset}` }, acks.next()),
    user: (user, name, offset) => engine!.push('users', 0, { values: { user_id: user, name }, timestamp: 0, origin: `0:${offset}` }, acks.next()),
    acked: () => until(() => acks.acked === acks.issued),
    stop: () => engine!.closeState(),
  };
}

const described = (engine: SqlEngine): { state: Record<string, number>; join: Record<string, number> } => {
  const d = engine.describe() as { state: Record<string, number>; statements: { operators: Record<string, number>[] }[] };
  return { state: d.state, join: d.statements[0].operators[0] };
};

test('INNER JOIN: a row acknowledged before a restart still matches after it (memory, the control, does not)', async () => {
  for (const backend of ['MEMORY', 'ROCKSDB'] as const) {
    const dir = backend === 'ROCKSDB' ? stateDir() : undefined;
    const first = await start(INNER, dir);
    first.order(1, 'u1', 0);
    await first.acked();
    await first.stop();
    const second = await start(INNER, dir);
    second.user('u1', 'ann', 0);
    await second.acked();
    await settle();
    if (backend === 'MEMORY') {
      assert.deepEqual(second.recorder.values(), [], 'memory: the order is gone with the restart');
    } else {
      assert.deepEqual(second.recorder.values(), [{ id: 1, user_id: 'u1', name: 'ann' }]);
      assert.equal(described(second.engine).state.recordsRestored, 1);
      assert.equal(described(second.engine).join.leftRowsStored, 1);
    }
    await second.stop();
  }
});

test('a row not yet acknowledged is not on disk: its redelivery joins it once', async () => {
  const dir = stateDir();
  const first = await start(INNER, dir, {}, false);
  first.user('u1', 'ann', 0);
  first.order(1, 'u1', 0); // joined, but the sink never confirms: not acknowledged
  await until(() => first.acks.acked === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(first.acks.acked, 1, 'only the user (no output) was acknowledged');
  await first.stop();
  const second = await start(INNER, dir);
  assert.equal(described(second.engine).state.recordsRestored, 1, 'the user only');
  second.order(1, 'u1', 0); // redelivered by the broker
  await second.acked();
  assert.deepEqual(second.recorder.values(), [{ id: 1, user_id: 'u1', name: 'ann' }]);
  second.user('u1', 'ann2', 1);
  await second.acked();
  assert.equal(second.recorder.values().length, 2, 'the order is in state once');
  await second.stop();
});

test('a redelivered row whose record survived (its ack did not reach the broker) is recognised, not joined twice', async () => {
  const dir = stateDir();
  const first = await start(INNER, dir);
  first.user('u1', 'ann', 7);
  first.order(1, 'u1', 3);
  await first.acked();
  await first.stop();
  const second = await start(INNER, dir);
  second.user('u1', 'ann', 7); // the broker had not taken the acknowledgements: both come again
  second.order(1, 'u1', 3);
  await second.acked();
  assert.deepEqual(second.recorder.values(), [], 'handled by the previous run: acknowledged, nothing emitted');
  assert.equal(described(second.engine).join.redeliveredRowsRecognised, 2);
  second.order(2, 'u1', 4);
  await second.acked();
  assert.deepEqual(second.recorder.values(), [{ id: 2, user_id: 'u1', name: 'ann' }], 'one user row in state, not two');
  await second.stop();
});

test('LEFT JOIN: the NULL-padded row is retracted once across restarts, and still retracted after one', async () => {
  const dir = stateDir();
  const kinds = (run: Run): string[] => run.recorder.rows.map((r) => `${r.row.kind} ${JSON.stringify(r.row.values)}`);
  const first = await start(LEFT, dir);
  first.order(1, 'u1', 0);
  first.order(2, 'u2', 1);
  first.user('u1', 'ann', 0);
  await first.acked();
  assert.deepEqual(kinds(first), [
    'insert {"id":1,"name":null}', 'insert {"id":2,"name":null}',
    'delete {"id":1,"name":null}', 'insert {"id":1,"name":"ann"}',
  ]);
  await first.stop();
  const second = await start(LEFT, dir);
  second.user('u1', 'bob', 1);
  second.user('u2', 'cid', 2);
  await second.acked();
  assert.deepEqual(kinds(second), [
    'insert {"id":1,"name":"bob"}', // order 1's NULL row was retracted before the restart: not again
    'delete {"id":2,"name":null}', 'insert {"id":2,"name":"cid"}', // order 2's was not: retracted now
  ]);
  await second.stop();
  const third = await start(LEFT, dir);
  third.user('u2', 'dan', 3);
  await third.acked();
  assert.deepEqual(kinds(third), ['insert {"id":2,"name":"dan"}'], 'the retraction after the first restart was recorded');
  await third.stop();
});

test('state TTL applies to restored rows: expired after the restart, deleted from disk', async () => {
  const dir = stateDir();
  let now = 1_000_000;
  const options = { stateTtlMs: 10_000, now: () => now };
  const first = await start(INNER, dir, options);
  first.order(1, 'u1', 0);
  first.order(2, 'u2', 1);
  await first.acked();
  await first.stop();
  now += 5_000;
  const second = await start(INNER, dir, options);
  second.order(3, 'u2', 2); // stored 5 s later than the others
  now += 7_000; // orders 1 and 2 are 12 s old, order 3 is 7 s old
  second.user('u1', 'ann', 0);
  second.user('u2', 'bob', 1);
  await second.acked();
  assert.deepEqual(second.recorder.values(), [{ id: 3, user_id: 'u2', name: 'bob' }], 'expired rows no longer match');
  second.engine.tick();
  assert.equal(described(second.engine).join.rowsExpired, 2);
  await second.stop();
  const third = await start(INNER, dir, options);
  assert.equal(described(third.engine).state.recordsRestored, 3, 'order 3 and the two users: the expired orders were deleted');
  await third.stop();
});

test('interval join: state restored across a restart, pruned by the watermarks after it', async () => {
  const dir = stateDir();
  const tables = [
    table('Orders', ['id BIGINT', 'ts TIMESTAMP'], { watermark: ['ts', 0] }),
    table('Ships', ['id BIGINT', 'ts TIMESTAMP'], { watermark: ['ts', 0] }),
    table('Shipped', ['id BIGINT', 'ots TIMESTAMP', 'sts TIMESTAMP']),
  ];
  const statement = "INSERT INTO Shipped SELECT o.id, o.ts, s.ts FROM Orders o JOIN Ships s ON o.id = s.id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '1' HOUR";
  const run = async (): Promise<{ engine: SqlEngine; recorder: Recorder; acks: Acks }> => {
    const recorder = new Recorder();
    const { engine } = SqlEngine.create({ statements: [statement], tables, emit: recorder.emit, state: new RocksDbSqlState({ dir }) });
    await engine!.openState();
    return { engine: engine!, recorder, acks: new Acks() };
  };
  const t = 1_700_000_000_000;
  const first = await run();
  first.engine.push('orders', 0, { values: { id: 1, ts: t }, timestamp: 0, origin: '0:0' }, first.acks.next());
  await until(() => first.acks.acked === 1);
  await first.engine.closeState();
  const second = await run();
  second.engine.push('ships', 0, { values: { id: 1, ts: t + 60_000 }, timestamp: 0, origin: '0:0' }, second.acks.next());
  await until(() => second.acks.acked === 1);
  assert.deepEqual(second.recorder.values(), [{ id: 1, ots: t, sts: t + 60_000 }]);
  second.engine.push('orders', 0, { values: { id: 2, ts: t + 3 * 3_600_000 }, timestamp: 0, origin: '0:1' }, second.acks.next());
  second.engine.push('ships', 0, { values: { id: 2, ts: t + 3 * 3_600_000 }, timestamp: 0, origin: '0:1' }, second.acks.next());
  await until(() => second.acks.acked === 3);
  await second.engine.closeState();
  const third = await run();
  const described = third.engine.describe() as { state: { recordsRestored: number } };
  assert.ok(described.state.recordsRestored <= 2, `the watermark pruned the first hour's rows from disk (${described.state.recordsRestored} restored)`);
  await third.engine.closeState();
});

test('GROUP BY (upsert): after a restart each group goes on from its acknowledged value, redeliveries applied once', async () => {
  const dir = stateDir();
  const tables = [table('Plays', ['user_id STRING', 'song STRING']), table('Counts', ['user_id STRING', 'plays BIGINT', 'songs BIGINT'], { upsert: true, primaryKey: ['user_id'] })];
  const statement = 'INSERT INTO Counts SELECT user_id, COUNT(*), COUNT(DISTINCT song) FROM Plays GROUP BY user_id';
  const run = async (confirm: boolean): Promise<{ engine: SqlEngine; recorder: Recorder; acks: Acks; play(user: string, song: string, offset: number): void }> => {
    const recorder = new Recorder();
    recorder.autoConfirm = confirm;
    const { engine } = SqlEngine.create({ statements: [statement], tables, emit: recorder.emit, state: new RocksDbSqlState({ dir }) });
    await engine!.openState();
    const acks = new Acks();
    return { engine: engine!, recorder, acks, play: (user, song, offset) => engine!.push('plays', 0, { values: { user_id: user, song }, timestamp: 0, origin: `0:${offset}` }, acks.next()) };
  };
  const first = await run(true);
  first.play('u1', 'a', 0);
  first.play('u1', 'b', 1);
  first.play('u1', 'a', 2);
  await until(() => first.acks.acked === 3);
  await first.engine.closeState();
  const second = await run(false);
  second.play('u1', 'a', 2); // redelivered although on disk (its ack did not reach the broker): not counted again
  second.play('u1', 'c', 3); // emitted, never confirmed: not on disk
  await settle();
  assert.deepEqual(second.recorder.rows.map((r) => [r.row.kind, r.row.values]), [['update', { user_id: 'u1', plays: 4, songs: 3 }]]);
  await second.engine.closeState();
  const third = await run(true);
  third.play('u1', 'c', 3); // redelivered: applied now, once
  third.play('u2', 'a', 4);
  await until(() => third.acks.acked === 2);
  assert.deepEqual(third.recorder.rows.map((r) => [r.row.kind, r.row.values]), [
    ['update', { user_id: 'u1', plays: 4, songs: 3 }],
    ['insert', { user_id: 'u2', plays: 1, songs: 1 }],
  ]);
  await third.engine.closeState();
});

test('a changed statement does not read the previous statement\'s records: they are dropped', async () => {
  const dir = stateDir();
  const first = await start(INNER, dir);
  first.order(1, 'u1', 0);
  await first.acked();
  await first.stop();
  const second = await start(INNER.replace('o.id, o.user_id, u.name', 'o.id + 1, o.user_id, u.name'), dir);
  assert.equal(described(second.engine).state.recordsRestored, 0);
  assert.equal(described(second.engine).state.staleRecordsDropped, 1);
  second.user('u1', 'ann', 0);
  await second.acked();
  assert.deepEqual(second.recorder.values(), []);
  await second.stop();
});

test('a second process on the same state directory is refused, naming the reason; nothing is deleted', async () => {
  const dir = stateDir();
  const first = await start(INNER, dir);
  first.order(1, 'u1', 0);
  await first.acked();
  await assert.rejects(start(INNER, dir), /cannot open the SQL state store .*sql\.rocksdb.*another processor uses this directory/);
  await first.stop();
  const again = await start(INNER, dir);
  assert.equal(described(again.engine).state.recordsRestored, 1);
  await again.stop();
});
