// The plain gRPC Txn call against a real etcd: the same answers as the etcd3 client's (outcomes, reads on failure,
// nested transactions), etcd's refusals as etcd3's typed errors, an endpoint that is down skipped for the next one,
// and unreachable etcd and deadlines reported as etcd3 reports them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import {
  CompareResult, CompareTarget, Etcd3, GRPCDeadlineExceededError, GRPCInvalidArgumentError, GRPCUnavailableError,
  type ITxnRequest, type ITxnResponse,
} from 'etcd3';
import { startEtcd, type EtcdHandle } from '../../test/support/etcd';
import { freePort } from '../../test/support/ports';
import { EtcdTxnClient } from './etcd-txn';
import { etcdRefusal } from './etcd';

let etcd: EtcdHandle;
let raw: Etcd3;
let counter = 0;

before(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
});

after(async () => {
  raw?.close();
  await etcd?.destroy();
});

function uniqueKey(): Buffer {
  return Buffer.from(`/etcd-txn-${process.pid}-${++counter}`);
}

function createIfAbsent(key: Buffer, value: string): ITxnRequest {
  return {
    compare: [{ key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: '0' }],
    success: [{ request_put: { key, value: Buffer.from(value) } }],
    failure: [{ request_range: { key } }],
  };
}

function client(endpoints: string[], callTimeoutMs = 3000): EtcdTxnClient {
  const made = EtcdTxnClient.forEndpoints(endpoints, callTimeoutMs);
  assert.ok(made, `a client for ${endpoints.join(',')}`);
  return made;
}

/** Everything but the header, whose revision differs between two transactions. */
function withoutHeaders(response: ITxnResponse): unknown {
  return JSON.parse(JSON.stringify(response, (k, v: unknown) => (k === 'header' ? undefined : v)));
}

test('answers exactly as the etcd3 client does: created, then refused with the stored value read', async () => {
  const txns = client([etcd.endpoint]);
  try {
    const first = uniqueKey();
    const second = uniqueKey();
    const ours = await txns.txn(createIfAbsent(first, 'one'));
    const theirs = await raw.kv.txn(createIfAbsent(second, 'one'));
    assert.equal(ours.succeeded, true);
    assert.deepEqual(withoutHeaders(ours), withoutHeaders(theirs));
    assert.equal(Number(ours.header.revision), Number(theirs.header.revision) - 1);
    assert.equal(await raw.get(first.toString()).string(), 'one');

    const oursAgain = await txns.txn(createIfAbsent(first, 'two'));
    const theirsAgain = await raw.kv.txn(createIfAbsent(second, 'two'));
    assert.equal(oursAgain.succeeded, false);
    const read = oursAgain.responses[0].response_range?.kvs[0];
    assert.equal(read?.value.toString(), 'one');
    assert.deepEqual(
      { ...withoutHeaders(oursAgain) as object, responses: undefined },
      { ...withoutHeaders(theirsAgain) as object, responses: undefined },
    );
  } finally {
    txns.close();
  }
});

test('nested transactions (write coalescing) carry their own outcomes', async () => {
  const txns = client([etcd.endpoint]);
  try {
    const taken = uniqueKey();
    await raw.put(taken.toString()).value('x');
    const free = uniqueKey();
    const response = await txns.txn({
      compare: [],
      success: [taken, free].map((key) => ({ request_txn: createIfAbsent(key, 'nested') })),
      failure: [],
    });
    assert.deepEqual(response.responses.map((r) => r.response_txn?.succeeded), [false, true]);
    assert.equal(await raw.get(free.toString()).string(), 'nested');
  } finally {
    txns.close();
  }
});

test("etcd's refusals are etcd3's typed errors, as the write coalescer reads them", async () => {
  const txns = client([etcd.endpoint]);
  try {
    const key = uniqueKey();
    const duplicate = txns.txn({ compare: [], success: [{ request_put: { key, value: Buffer.from('a') } }, { request_put: { key, value: Buffer.from('b') } }], failure: [] });
    await assert.rejects(duplicate, (err: unknown) => err instanceof GRPCInvalidArgumentError && /duplicate key/.test(err.message) && etcdRefusal(err) === 'invalid');
    const tooMany = txns.txn({ compare: [], success: Array.from({ length: 200 }, () => ({ request_put: { key: uniqueKey(), value: Buffer.from('v') } })), failure: [] });
    await assert.rejects(tooMany, (err: unknown) => etcdRefusal(err) === 'too-many-writes');
  } finally {
    txns.close();
  }
});

test('a dead endpoint is skipped for the next; unreachable etcd and deadlines are etcd3 errors', async () => {
  const deadPort = await freePort();
  const failingOver = client([`http://127.0.0.1:${deadPort}`, etcd.endpoint]);
  try {
    const key = uniqueKey();
    assert.equal((await failingOver.txn(createIfAbsent(key, 'v'))).succeeded, true);
    assert.equal((await failingOver.txn(createIfAbsent(uniqueKey(), 'v'))).succeeded, true);
  } finally {
    failingOver.close();
  }

  const unreachable = client([`127.0.0.1:${deadPort}`]);
  try {
    await assert.rejects(unreachable.txn(createIfAbsent(uniqueKey(), 'v')), (err: unknown) => err instanceof GRPCUnavailableError && /UNAVAILABLE/.test(err.message));
  } finally {
    unreachable.close();
  }

  // A peer that accepts the connection and never answers: the call ends at its deadline.
  const silent: Server = createServer(() => undefined);
  const silentPort = await freePort();
  await new Promise<void>((resolve) => silent.listen(silentPort, '127.0.0.1', resolve));
  const waiting = client([`http://127.0.0.1:${silentPort}`], 300);
  try {
    const started = Date.now();
    await assert.rejects(waiting.txn(createIfAbsent(uniqueKey(), 'v')), (err: unknown) => err instanceof GRPCDeadlineExceededError);
    assert.ok(Date.now() - started < 3000);
  } finally {
    waiting.close();
    silent.close();
  }
});

test('TLS endpoints are left to the etcd3 client', () => {
  assert.equal(EtcdTxnClient.forEndpoints(['https://127.0.0.1:2379'], 1000), undefined);
  assert.equal(EtcdTxnClient.forEndpoints([], 1000), undefined);
  assert.ok(EtcdTxnClient.forEndpoints(['127.0.0.1:2379', 'http://localhost:2379'], 1000));
});
