// Write coalescing against a real etcd: concurrent single-key compare-and-swaps share etcd transactions, and each
// still gets exactly the outcome it would have had alone (created, already exists, conflict retried, refused,
// etcd away), and the watch sees every write once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompareResult, CompareTarget, Etcd3, type ITxnRequest } from 'etcd3';
import { startEtcd, type EtcdHandle } from '../../test/support/etcd';
import { EtcdStorage, etcdRefusal } from './etcd';
import { KeyExistsError, StorageUnavailableError, type StorageEvent } from './interface';
import { WriteCoalescer, type KeyTxn } from './write-coalescer';

let etcd: EtcdHandle;
let raw: Etcd3;
let prefixCounter = 0;

before(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
});

after(async () => {
  raw?.close();
  await etcd?.destroy();
});

function uniquePrefix(): string {
  return `/coalesce-${process.pid}-${++prefixCounter}/`;
}

/** Coalescing is opt-in (the default is one write per transaction): these tests turn it on (64) unless told. */
function storageRecordingBatches(batches: number[], maxBatchedWrites = 64): EtcdStorage {
  return new EtcdStorage({ endpoints: [etcd.endpoint], callTimeoutMs: 3000, maxBatchedWrites, observeBatch: (n) => batches.push(n) });
}

function putTxn(key: string, value: string): KeyTxn {
  const k = Buffer.from(key);
  return {
    key: k,
    compare: [{ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: '0' }],
    success: [{ request_put: { key: k, value: Buffer.from(value) } }],
    failure: [],
    bytes: k.length + value.length,
  };
}


test('concurrent creates share etcd transactions; each gets its own outcome and revision', async () => {
  const batches: number[] = [];
  const storage = storageRecordingBatches(batches);
  const prefix = uniquePrefix();
  try {
    await storage.create(`${prefix}taken`, { v: 'first' });
    // Submitted in one tick: two go at once, the other 38 queue behind them and leave together.
    const names = [...Array.from({ length: 39 }, (_, i) => `k${i}`), 'taken'];
    const outcomes = await Promise.allSettled(names.map((n) => storage.create(`${prefix}${n}`, { v: n })));
    const taken = outcomes[names.indexOf('taken')];
    assert.equal(taken.status, 'rejected');
    assert.ok((taken as PromiseRejectedResult).reason instanceof KeyExistsError);
    assert.ok(Math.max(...batches) > 1, `writes were coalesced (batch sizes ${batches.join(',')})`);
    assert.equal(batches.reduce((a, b) => a + b, 0), 41, 'every write was sent exactly once');

    const stored = await raw.getAll().prefix(prefix).exec();
    const byKey = new Map(stored.kvs.map((kv) => [kv.key.toString(), kv]));
    assert.equal(byKey.size, 40);
    assert.equal(JSON.parse(byKey.get(`${prefix}taken`)!.value.toString()).v, 'first', 'the existing object was not overwritten');
    const revisions = new Set<number>();
    names.forEach((n, i) => {
      const outcome = outcomes[i];
      if (n === 'taken') return;
      assert.equal(outcome.status, 'fulfilled');
      const created = (outcome as PromiseFulfilledResult<{ revision: number }>).value;
      const kv = byKey.get(`${prefix}${n}`)!;
      assert.equal(JSON.parse(kv.value.toString()).v, n);
      assert.equal(created.revision, Number(kv.mod_revision), `${n}: the returned revision is the key's mod_revision`);
      revisions.add(created.revision);
    });
    assert.ok(revisions.size < 39, 'writes committed together share a revision');
  } finally {
    await storage.close();
  }
});

test('writes of one key never share a transaction; concurrent updates of one key all land', async () => {
  const batches: number[] = [];
  const storage = storageRecordingBatches(batches);
  const prefix = uniquePrefix();
  try {
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => storage.create(`${prefix}same`, { n: 0 })));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof KeyExistsError, String(o.reason));

    // 20 read-modify-write increments of one counter plus 20 creates, all at once: the increments conflict, retry
    // and queue behind each other; none is lost.
    await Promise.all([
      ...Array.from({ length: 20 }, () => storage.guaranteedUpdate(`${prefix}same`, (cur) => ({ kind: 'put', object: { n: Number(cur.object.n) + 1 } }))),
      ...Array.from({ length: 20 }, (_, i) => storage.create(`${prefix}other-${i}`, { i })),
    ]);
    const final = await storage.get(`${prefix}same`);
    assert.equal(final?.object.n, 20);
    assert.ok(Math.max(...batches) > 1);
  } finally {
    await storage.close();
  }
});

test('a write etcd refuses fails alone; its batch neighbours are written', async () => {
  const prefix = uniquePrefix();
  const batches: number[] = [];
  let unsupported = 0;
  const coalescer = new WriteCoalescer((request) => raw.kv.txn(request), {
    maxInFlight: 1, maxBatch: 64, maxBatchBytes: 1 << 20, refusal: etcdRefusal,
    onBatch: (n) => batches.push(n), onNestedUnsupported: () => { unsupported++; },
  });
  // An empty key is refused by etcd itself ("key is not provided"), refusing the whole batch that carries it.
  const txns = [putTxn(`${prefix}a`, '1'), putTxn(`${prefix}b`, '2'), putTxn('', 'bad'), putTxn(`${prefix}c`, '3')];
  const first = coalescer.submit(putTxn(`${prefix}first`, '0'));
  const outcomes = await Promise.allSettled(txns.map((t) => coalescer.submit(t)));
  await first;
  assert.deepEqual(batches.slice(0, 2), [1, 4], 'the four queued behind the first left as one batch');
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /key is not provided/);
  for (const o of outcomes) if (o.status === 'fulfilled') assert.equal(o.value.succeeded, true);
  const stored = await raw.getAll().prefix(prefix).strings();
  assert.deepEqual(stored, { [`${prefix}first`]: '0', [`${prefix}a`]: '1', [`${prefix}b`]: '2', [`${prefix}c`]: '3' });
  assert.equal(unsupported, 0, 'one bad write does not turn coalescing off');
});

test('a batch bigger than etcd takes is re-sent write by write, and batches halve until etcd takes them', async () => {
  // etcd's --max-txn-ops (128) counts the batch's writes plus each nested transaction's operations: 127 writes fit,
  // 128 do not.
  const prefix = uniquePrefix();
  const batches: number[] = [];
  const lowered: number[] = [];
  let unsupported = 0;
  const coalescer = new WriteCoalescer((request) => raw.kv.txn(request), {
    maxInFlight: 1, maxBatch: 128, maxBatchBytes: 1 << 20, refusal: etcdRefusal,
    onBatch: (n) => batches.push(n), onLimitsLowered: (l) => lowered.push(l.maxBatch), onNestedUnsupported: () => { unsupported++; },
  });
  const outcomes = await Promise.allSettled(Array.from({ length: 400 }, (_, i) => coalescer.submit(putTxn(`${prefix}${i}`, 'v'))));
  assert.ok(outcomes.every((o) => o.status === 'fulfilled' && o.value.succeeded));
  assert.equal(Object.keys(await raw.getAll().prefix(prefix).strings()).length, 400);
  assert.deepEqual(lowered, [64], 'one refusal of 128 writes, then batches of at most 64');
  assert.equal(batches[1], 128);
  assert.ok(batches.slice(2).some((n) => n > 1), 'coalescing stays on');
  assert.ok(batches.slice(2).every((n) => n === 1 || n <= 64));
  assert.equal(unsupported, 0);
});

test('a store that refuses nested transactions gets one write per transaction (kine)', async () => {
  // kine (etcd's API over SQL) only takes single-key transactions and answers others "unsupported transaction: ...";
  // it cannot run here, so this sender refuses nested transactions that way and passes the rest to the real etcd.
  const prefix = uniquePrefix();
  const sent: ITxnRequest[] = [];
  const kineLike = (request: ITxnRequest): ReturnType<typeof raw.kv.txn> => {
    sent.push(request);
    if (request.success?.some((op) => op.request_txn)) return Promise.reject(new Error(`unsupported transaction: ${JSON.stringify(request).slice(0, 80)}`));
    return raw.kv.txn(request);
  };
  const unsupportedErrors: unknown[] = [];
  const coalescer = new WriteCoalescer(kineLike, {
    maxInFlight: 1, maxBatch: 64, maxBatchBytes: 1 << 20, refusal: etcdRefusal,
    onNestedUnsupported: (err) => unsupportedErrors.push(err),
  });
  const round = (tag: string): Promise<unknown[]> => Promise.all(Array.from({ length: 6 }, (_, i) => coalescer.submit(putTxn(`${prefix}${tag}${i}`, tag))));
  await round('x');
  await new Promise((r) => setImmediate(r)); // the verdict follows the last single write's answer
  assert.equal(unsupportedErrors.length, 1);
  assert.match(String(unsupportedErrors[0]), /unsupported transaction/);
  const nestedBefore = sent.filter((r) => r.success?.some((op) => op.request_txn)).length;
  const sentBefore = sent.length;
  const second = round('y');
  assert.equal(sent.length - sentBefore, 6, 'all six left at once, one per transaction');
  await second;
  assert.equal(sent.filter((r) => r.success?.some((op) => op.request_txn)).length, nestedBefore, 'no nested transaction is tried again');
  assert.equal(Object.keys(await raw.getAll().prefix(prefix).strings()).length, 12);
});

test('with coalescing off every write goes at once, none waits behind another', async () => {
  const prefix = uniquePrefix();
  let open = 0;
  let mostOpen = 0;
  const counting = async (request: ITxnRequest): ReturnType<typeof raw.kv.txn> => {
    open++;
    mostOpen = Math.max(mostOpen, open);
    try { return await raw.kv.txn(request); } finally { open--; }
  };
  const coalescer = new WriteCoalescer(counting, { maxInFlight: 2, maxBatch: 1, maxBatchBytes: 1 << 20, refusal: etcdRefusal });
  await Promise.all(Array.from({ length: 10 }, (_, i) => coalescer.submit(putTxn(`${prefix}${i}`, 'v'))));
  assert.equal(mostOpen, 10);
});

test('an error that may come after the batch was applied is every write\'s answer, and nothing is re-sent', async () => {
  const prefix = uniquePrefix();
  let sends = 0;
  // etcd applied the batch, then the answer was lost: etcd's own "request timed out" after a leader change.
  const appliedThenTimedOut = async (request: ITxnRequest): ReturnType<typeof raw.kv.txn> => {
    sends++;
    const res = await raw.kv.txn(request);
    if (request.success?.some((op) => op.request_txn)) throw new Error('etcdserver: request timed out');
    return res;
  };
  const coalescer = new WriteCoalescer(appliedThenTimedOut, { maxInFlight: 1, maxBatch: 64, maxBatchBytes: 1 << 20, refusal: etcdRefusal });
  const first = coalescer.submit(putTxn(`${prefix}first`, '0'));
  const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => coalescer.submit(putTxn(`${prefix}${i}`, 'v'))));
  await first;
  assert.equal(sends, 2, 'the batch was not re-sent write by write');
  for (const o of outcomes) assert.match(String((o as PromiseRejectedResult).reason), /request timed out/);
  // Re-sending would have answered "already exists" to writes that had in fact succeeded.
  assert.equal(Object.keys(await raw.getAll().prefix(prefix).strings()).length, 6);
});

test('batches stay within the byte limit and the batch size limit', async () => {
  const prefix = uniquePrefix();
  const batches: number[] = [];
  const coalescer = new WriteCoalescer((request) => raw.kv.txn(request), {
    maxInFlight: 1, maxBatch: 5, maxBatchBytes: 10_000, refusal: etcdRefusal, onBatch: (n) => batches.push(n),
  });
  const value = 'v'.repeat(3000);
  await Promise.all([
    coalescer.submit(putTxn(`${prefix}head`, 'h')),
    ...Array.from({ length: 6 }, (_, i) => coalescer.submit(putTxn(`${prefix}big${i}`, value))),
    ...Array.from({ length: 12 }, (_, i) => coalescer.submit(putTxn(`${prefix}small${i}`, 's'))),
  ]);
  assert.equal(batches.reduce((a, b) => a + b, 0), 19);
  assert.ok(Math.max(...batches) <= 5);
  assert.equal(Object.keys(await raw.getAll().prefix(prefix).strings()).length, 19);
});

test('a watch sees every coalesced write once, in revision order', async () => {
  const storage = storageRecordingBatches([]);
  const prefix = uniquePrefix();
  const events: StorageEvent[] = [];
  try {
    const start = Number((await raw.get('nothing').exec()).header.revision);
    const watch = storage.watch(prefix, start, { onEvents: (e) => events.push(...e), onCompacted: () => undefined });
    await Promise.all(Array.from({ length: 30 }, (_, i) => storage.create(`${prefix}w${i}`, { i })));
    const deadline = Date.now() + 10_000;
    while (events.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    watch.stop();
    assert.equal(events.length, 30);
    assert.equal(new Set(events.map((e) => e.key)).size, 30);
    assert.ok(events.every((e) => e.type === 'ADDED'));
    for (let i = 1; i < events.length; i++) assert.ok(events[i].revision >= events[i - 1].revision);
    assert.ok(new Set(events.map((e) => e.revision)).size < 30, 'some events share a revision');
  } finally {
    await storage.close();
  }
});

test('etcd away: every write of a batch fails as unavailable and none is written later', async () => {
  const storage = new EtcdStorage({ endpoints: [etcd.endpoint], callTimeoutMs: 2000 });
  const prefix = uniquePrefix();
  try {
    await storage.create(`${prefix}before`, {});
    await etcd.stop();
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => storage.create(`${prefix}down${i}`, {})));
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      assert.ok((o as PromiseRejectedResult).reason instanceof StorageUnavailableError, String((o as PromiseRejectedResult).reason));
    }
  } finally {
    await etcd.restart();
    await storage.close();
  }
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(Object.keys(await raw.getAll().prefix(prefix).strings()), [`${prefix}before`]);
});
