// LEFT join (a retract stream into an upsert sink), interval join, and the state TTL — against SQLite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SqlTable } from '../../crds/sql/table';
import { SqlEngine, type SqlEngineOptions } from './engine';
import { canonical, oracle } from './oracle';
import { Acks, random, Recorder, settle, table } from './test-support';

const T0 = 1_700_000_040_000;

function engineFor(statement: string, tables: SqlTable[], extra: Partial<SqlEngineOptions> = {}): { engine: SqlEngine; recorder: Recorder } {
  const recorder = new Recorder();
  const { engine, diagnostics } = SqlEngine.create({ statements: [statement], tables, emit: recorder.emit, ...extra });
  assert.deepEqual(diagnostics, []);
  return { engine: engine!, recorder };
}

test('LEFT JOIN: NULL-padded rows, then a retraction and the joined row; the materialised result equals SQLite', async () => {
  const orders = table('Orders', ['order_id BIGINT', 'user_id STRING?', 'amount INT']);
  const users = table('Users', ['user_id STRING', 'name STRING']);
  const out = table('Enriched', ['order_id BIGINT', 'name STRING?', 'amount INT'], { upsert: true, primaryKey: ['order_id'] });
  const { engine, recorder } = engineFor('INSERT INTO Enriched SELECT o.order_id, u.name, o.amount FROM Orders AS o LEFT JOIN Users u ON o.user_id = u.user_id AND o.amount > 10', [orders, users, out]);
  const rnd = random(21);
  const acks = new Acks();
  const orderRows: unknown[][] = [];
  const userRows: unknown[][] = [];
  const pushUser = (i: number): void => {
    userRows.push([`u${i}`, `name-${i}`]);
    engine.push('users', 0, { values: { user_id: `u${i}`, name: `name-${i}` }, timestamp: 0 }, acks.next());
  };
  for (let i = 0; i < 10; i++) pushUser(i);
  for (let i = 0; i < 400; i++) {
    const row = [i, rnd() < 0.05 ? null : `u${Math.floor(rnd() * 25)}`, Math.floor(rnd() * 30)];
    orderRows.push(row);
    engine.push('orders', 0, { values: { order_id: row[0], user_id: row[1], amount: row[2] }, timestamp: 0 }, acks.next());
    if (i % 40 === 39) pushUser(10 + (i + 1) / 40); // users u11..u20 arrive later
  }
  await settle();
  // Materialise the retract stream: an insert adds the row, a delete removes one equal row.
  const view: string[] = [];
  let deletes = 0;
  for (const { row } of recorder.rows) {
    const key = JSON.stringify(row.values);
    if (row.kind === 'delete') {
      deletes++;
      const at = view.indexOf(key);
      assert.ok(at >= 0, `delete of a row that is not there: ${key}`);
      view.splice(at, 1);
    } else {
      assert.equal(row.kind, 'insert');
      view.push(key);
    }
    assert.deepEqual(row.key, { order_id: row.values.order_id });
  }
  assert.ok(deletes > 10, 'late users retracted NULL-padded rows');
  const expected = await oracle(
    [{ name: 'o', columns: ['order_id', 'user_id', 'amount'], rows: orderRows }, { name: 'u', columns: ['user_id', 'name'], rows: userRows }],
    'SELECT o.order_id, u.name, o.amount FROM o LEFT JOIN u ON o.user_id = u.user_id AND o.amount > 10',
  );
  assert.deepEqual(view.map((v) => JSON.stringify(Object.values(JSON.parse(v) as object))).sort(), canonical(expected));
  assert.equal(acks.acked, acks.issued);
});

test('RIGHT JOIN is the LEFT JOIN with the sides swapped; columns stay in the written order', async () => {
  const out = table('Enriched', ['name STRING?', 'order_id BIGINT?', 'user_id STRING'], { upsert: true, primaryKey: ['user_id'] });
  const { engine, recorder } = engineFor('INSERT INTO Enriched SELECT u.name, o.order_id, u.user_id FROM Orders o RIGHT JOIN Users u ON o.user_id = u.user_id',
    [table('Orders', ['order_id BIGINT', 'user_id STRING']), table('Users', ['user_id STRING', 'name STRING']), out]);
  const acks = new Acks();
  engine.push('users', 0, { values: { user_id: 'u1', name: 'ann' }, timestamp: 0 }, acks.next());
  engine.push('orders', 0, { values: { order_id: 7, user_id: 'u1' }, timestamp: 0 }, acks.next());
  await settle();
  assert.deepEqual(recorder.rows.map((r) => [r.row.kind, r.row.values]), [
    ['insert', { name: 'ann', order_id: null, user_id: 'u1' }],
    ['delete', { name: 'ann', order_id: null, user_id: 'u1' }],
    ['insert', { name: 'ann', order_id: 7, user_id: 'u1' }],
  ]);
  assert.equal(acks.acked, 2);
});

test('a LEFT JOIN into an insert-only sink is refused by the planner, naming the reason', () => {
  const { diagnostics } = SqlEngine.create({
    statements: ['INSERT INTO Out SELECT o.order_id, u.name FROM Orders o LEFT JOIN Users u ON o.user_id = u.user_id'],
    tables: [table('Orders', ['order_id BIGINT', 'user_id STRING']), table('Users', ['user_id STRING', 'name STRING']), table('Out', ['order_id BIGINT', 'name STRING?'])],
    emit: async () => {},
  });
  assert.equal(diagnostics.length, 1);
  assert.match(diagnostics[0].message, /accepts inserts only.*LEFT JOIN retracts/);
});

test('interval join (BETWEEN on two rowtime columns): equals SQLite, state bounded by the watermark', async () => {
  const orders = table('Orders', ['order_id BIGINT', 'order_ts TIMESTAMP'], { watermark: ['order_ts', 1000] });
  const shipments = table('Shipments', ['order_id BIGINT', 'ship_ts TIMESTAMP'], { watermark: ['ship_ts', 1000] });
  const out = table('Shipped', ['order_id BIGINT', 'order_ts TIMESTAMP', 'ship_ts TIMESTAMP']);
  const { engine, recorder } = engineFor(
    `INSERT INTO Shipped SELECT o.order_id, o.order_ts, s.ship_ts FROM Orders o, Shipments s
       WHERE o.order_id = s.order_id AND s.ship_ts BETWEEN o.order_ts AND o.order_ts + INTERVAL '4' HOUR`.replace(
      'FROM Orders o, Shipments s\n       WHERE o.order_id = s.order_id AND', 'FROM Orders o JOIN Shipments s ON o.order_id = s.order_id AND'),
    [orders, shipments, out],
  );
  assert.match(engine.explain(), /IntervalJoin on o.order_id = s.order_id, order_ts - ship_ts in \[-14400000, 0\] ms/);
  const rnd = random(22);
  const events: { stream: string; id: number; ts: number; arrival: number }[] = [];
  for (let i = 0; i < 600; i++) {
    const ts = T0 + i * 60_000;
    events.push({ stream: 'orders', id: i, ts, arrival: ts });
    const shipments = Math.floor(rnd() * 3); // 0..2 shipments, some beyond 4 h, some before the order
    for (let k = 0; k < shipments; k++) {
      const sts = ts + Math.floor((rnd() * 6 - 0.5) * 3_600_000);
      events.push({ stream: 'shipments', id: i, ts: sts, arrival: sts + rnd() * 900 });
    }
  }
  events.sort((a, b) => a.arrival - b.arrival);
  const acks = new Acks();
  for (const e of events) {
    const values = e.stream === 'orders' ? { order_id: e.id, order_ts: e.ts } : { order_id: e.id, ship_ts: e.ts };
    engine.push(e.stream, 0, { values, timestamp: 0 }, acks.next());
  }
  await settle();
  const expected = await oracle(
    [{ name: 'o', columns: ['order_id', 'order_ts'], rows: events.filter((e) => e.stream === 'orders').map((e) => [e.id, e.ts]) },
      { name: 's', columns: ['order_id', 'ship_ts'], rows: events.filter((e) => e.stream === 'shipments').map((e) => [e.id, e.ts]) }],
    'SELECT o.order_id, o.order_ts, s.ship_ts FROM o JOIN s ON o.order_id = s.order_id AND s.ship_ts BETWEEN o.order_ts AND o.order_ts + 14400000',
  );
  assert.ok(expected.length > 300);
  assert.deepEqual(canonical(recorder.values()), canonical(expected));
  const stateSize = (): number => {
    const state = engine.describe() as { statements: { operators: { operator: string; stateSize: number }[] }[] };
    return state.statements[0].operators.find((o) => o.operator === 'IntervalJoin')!.stateSize;
  };
  // Only rows that a future row can still match are kept: orders of the last 4 hours and recent shipments.
  assert.ok(stateSize() < 450, `state is bounded by the watermark (${stateSize()} rows kept of ${events.length})`);
  engine.push('orders', 0, { values: { order_id: -1, order_ts: T0 + 100 * 3_600_000 }, timestamp: 0 }, acks.next());
  engine.push('shipments', 0, { values: { order_id: -2, ship_ts: T0 + 100 * 3_600_000 }, timestamp: 0 }, acks.next());
  assert.equal(stateSize(), 2, 'a watermark far ahead leaves only the two newest rows');
  await settle();
  assert.equal(acks.acked, acks.issued);
});

test('state TTL: stored rows expire (counted, logged with how many) and no longer match', async () => {
  let now = 0;
  const logged: { obj: unknown; msg: string }[] = [];
  const expired: number[] = [];
  const log = {
    info: (obj: unknown, msg: string) => logged.push({ obj, msg }),
    warn: () => {},
    error: () => {},
  } as unknown as SqlEngineOptions['log'];
  const { engine, recorder } = engineFor(
    'INSERT INTO Out SELECT a.id, b.name FROM A a JOIN B b ON a.id = b.id',
    [table('A', ['id BIGINT']), table('B', ['id BIGINT', 'name STRING']), table('Out', ['id BIGINT', 'name STRING'])],
    { stateTtlMs: 1000, now: () => now, log, metrics: { rowsExpired: (_s, n) => expired.push(n) } },
  );
  const acks = new Acks();
  engine.push('a', 0, { values: { id: 1 }, timestamp: 0 }, acks.next());
  engine.push('a', 0, { values: { id: 2 }, timestamp: 0 }, acks.next());
  now = 500;
  engine.push('b', 0, { values: { id: 1, name: 'x' }, timestamp: 0 }, acks.next());
  await settle();
  assert.deepEqual(recorder.values(), [{ id: 1, name: 'x' }]);
  now = 1400; // A's rows (stored at 0) are past the TTL; B's (stored at 500) are not
  engine.tick();
  assert.deepEqual(expired, [2]);
  assert.equal((logged[0].obj as { expired: number }).expired, 2);
  assert.match(logged[0].msg, /2 row\(s\) expired/);
  engine.push('b', 0, { values: { id: 2, name: 'y' }, timestamp: 0 }, acks.next());
  engine.push('a', 0, { values: { id: 1 }, timestamp: 0 }, acks.next());
  await settle();
  assert.deepEqual(recorder.values(), [{ id: 1, name: 'x' }, { id: 1, name: 'x' }], 'id 2 no longer matches; the new A row matches B\'s live row');
  assert.equal(acks.acked, acks.issued);
});
