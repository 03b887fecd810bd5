// The Stream reconciler's branches against a fake ControllerContext (test-support.ts: an in-memory API server, fake
// brokers and runtime standing in for a whole `sr up`, so refusals and races can be reached on demand; the real
// components are exercised by test/e2e, e.g. claims.test.ts and namespaces.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterStream, Stream } from '../../crds/types';
import { CLAIM_NAMESPACE_LABEL, streamDestination } from '../claims';
import { STREAM_FINALIZER } from '../context';
import { ApiError } from '../kube/client';
import { reconcileClusterStream } from './clusterstream';
import { reconcileStream } from './stream';
import { attempt, clusterStream, fakeControllers, readyOf, stream } from './test-support';

test('bound to a ready ClusterStream: claims it for its namespace, copies the address, StreamDeployed', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('orders-cs', { name: 'orders' }));
  await reconcileClusterStream(f.ctx, 'orders-cs');
  f.api.put(stream('shop', 'orders', { clusterStream: 'orders-cs' }));

  assert.deepEqual(await reconcileStream(f.ctx, 'shop/orders'), {});
  const s = f.api.get<Stream>('Stream', 'shop/orders')!;
  assert.deepEqual(s.metadata.finalizers, [STREAM_FINALIZER]);
  assert.equal(s.status?.clusterStreamName, 'orders-cs');
  assert.equal(s.status?.storageAddress?.server?.production?.url, 'kafka-0.test:9092,kafka-1.test:9092');
  assert.deepEqual(readyOf(f.api, 'Stream', 'shop/orders'), { status: 'True', reason: 'StreamDeployed', message: 'bound to ClusterStream "orders-cs" (topic "orders")' });
  assert.equal(f.api.get<ClusterStream>('ClusterStream', 'orders-cs')?.metadata.labels?.[CLAIM_NAMESPACE_LABEL], 'shop');
});

test('a ClusterStream that is missing (auto-provisioning off) or not ready: the Stream is not Ready and says why', async () => {
  const f = fakeControllers({ autoProvisionClusterStreams: false });
  f.api.put(stream('shop', 'orders', { clusterStream: 'nowhere' }));
  await reconcileStream(f.ctx, 'shop/orders');
  assert.deepEqual(readyOf(f.api, 'Stream', 'shop/orders'), { status: 'False', reason: 'NoClusterStreamFound', message: 'ClusterStream "nowhere" does not exist and auto-provisioning is off' });
  assert.equal(f.api.writesOf('create').length, 0);

  f.api.put(clusterStream('broken', { name: 'orders', protocol: 'kafka' }));
  f.kafka.failEnsure = new Error('LEADER_NOT_AVAILABLE');
  await attempt(reconcileClusterStream, f.ctx, 'broken');
  f.api.put(stream('shop', 'late', { name: 'orders', clusterStream: 'broken' }));
  await reconcileStream(f.ctx, 'shop/late');
  assert.deepEqual(readyOf(f.api, 'Stream', 'shop/late'), {
    status: 'False', reason: 'ClusterStreamNotReady',
    message: 'ClusterStream "broken" is not ready: could not create topic "orders" on kafka-0.test:9092,kafka-1.test:9092: LEADER_NOT_AVAILABLE',
  });
});

test('refusals: spec.name other than the ClusterStream\'s destination, another protocol, a ClusterStream claimed by another namespace', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('cs', { name: 'orders', claim: 'shop' }));
  await reconcileClusterStream(f.ctx, 'cs');

  f.api.put(stream('shop', 'renamed', { name: 'orders-v2', clusterStream: 'cs' }));
  await reconcileStream(f.ctx, 'shop/renamed');
  assert.deepEqual(readyOf(f.api, 'Stream', 'shop/renamed'), { status: 'False', reason: 'DestinationMismatch', message: 'Stream spec.name "orders-v2" differs from ClusterStream "cs" spec.name "orders" (the topic/exchange it provides)' });
  assert.equal(streamDestination(f.ctx, f.api.get<Stream>('Stream', 'shop/renamed')!), 'orders-v2', 'a Stream refused by its ClusterStream does not take that ClusterStream\'s destination');

  f.api.put(stream('shop', 'amqp', { name: 'orders', protocol: 'rabbitmq', clusterStream: 'cs' }));
  await reconcileStream(f.ctx, 'shop/amqp');
  assert.deepEqual(readyOf(f.api, 'Stream', 'shop/amqp'), { status: 'False', reason: 'ProtocolMismatch', message: 'Stream protocol "rabbitmq" does not match ClusterStream "cs" protocol "kafka"' });

  f.api.put(stream('other', 'orders', { clusterStream: 'cs' }));
  await reconcileStream(f.ctx, 'other/orders');
  const claimed = readyOf(f.api, 'Stream', 'other/orders');
  assert.equal(claimed?.status, 'False');
  assert.equal(claimed?.reason, 'ClusterStreamClaimed');
  assert.match(claimed?.message ?? '', /^ClusterStream "cs" is claimed by namespace "shop"/);
  assert.equal(f.api.get<ClusterStream>('ClusterStream', 'cs')?.metadata.labels?.[CLAIM_NAMESPACE_LABEL], 'shop', 'the claim is unchanged');
});

test('two namespaces racing for one free ClusterStream: the loser\'s claim write gets 409 and is looked at again', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('cs', { name: 'orders' }));
  await reconcileClusterStream(f.ctx, 'cs');
  f.api.put(stream('a', 'orders', { clusterStream: 'cs' }));
  f.api.put(stream('b', 'orders', { clusterStream: 'cs' }));
  // `a` wins between `b`'s read of the cache and its write (the cache still shows the ClusterStream free).
  const stale = f.api.get<ClusterStream>('ClusterStream', 'cs')!;
  const cache = f.ctx.clusterStreams;
  f.ctx.clusterStreams = { ...cache, get: (key) => (key === 'cs' ? stale : cache.get(key)) };
  await reconcileStream(f.ctx, 'a/orders');
  assert.deepEqual(await reconcileStream(f.ctx, 'b/orders'), { requeueAfterMs: 200 });
  f.ctx.clusterStreams = cache;
  await reconcileStream(f.ctx, 'b/orders');
  assert.equal(readyOf(f.api, 'Stream', 'a/orders')?.reason, 'StreamDeployed');
  assert.equal(readyOf(f.api, 'Stream', 'b/orders')?.reason, 'ClusterStreamClaimed');
});

test('auto-provisioning: the first namespace gets <name>-cluster-stream with its spec.name, the second a per-namespace one', async () => {
  const f = fakeControllers();
  f.api.put(stream('team-a', 'data-in'));
  await reconcileStream(f.ctx, 'team-a/data-in');
  assert.deepEqual(readyOf(f.api, 'Stream', 'team-a/data-in'), { status: 'False', reason: 'AutoProvisionClusterStream', message: 'created ClusterStream "data-in-cluster-stream" (data-in); waiting for it to be ready' });
  const made = f.api.get<ClusterStream>('ClusterStream', 'data-in-cluster-stream')!;
  assert.equal(made.spec.name, 'data-in');
  assert.equal(made.spec.storage?.reclaimPolicy, 'Retain');
  assert.equal(made.spec.storage?.server?.url, undefined, 'the default server, resolved at each reconcile');
  assert.equal(made.metadata.labels?.[CLAIM_NAMESPACE_LABEL], 'team-a');
  await reconcileClusterStream(f.ctx, 'data-in-cluster-stream');
  await reconcileStream(f.ctx, 'team-a/data-in');
  assert.equal(readyOf(f.api, 'Stream', 'team-a/data-in')?.reason, 'StreamDeployed');

  f.api.put(stream('team-b', 'data-in'));
  await reconcileStream(f.ctx, 'team-b/data-in');
  const second = f.api.get<ClusterStream>('ClusterStream', 'data-in-team-b-cluster-stream')!;
  assert.equal(second.spec.name, 'team-b.data-in');
  await reconcileClusterStream(f.ctx, 'data-in-team-b-cluster-stream');
  await reconcileStream(f.ctx, 'team-b/data-in');
  assert.deepEqual(readyOf(f.api, 'Stream', 'team-b/data-in'), {
    status: 'True', reason: 'StreamDeployed',
    message: 'bound to ClusterStream "data-in-team-b-cluster-stream" (topic "team-b.data-in" (per namespace: "data-in" is another namespace\'s))',
  });
  assert.equal(streamDestination(f.ctx, f.api.get<Stream>('Stream', 'team-b/data-in')!), 'team-b.data-in');
  assert.deepEqual(f.kafka.callsOf('ensure').map((c) => c.destination), ['data-in', 'team-b.data-in']);
});

test('a named ClusterStream the Stream was bound to is deleted: ClusterStreamLost, not created again; back when it is', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('ledger-cs', { name: 'ledger' }));
  await reconcileClusterStream(f.ctx, 'ledger-cs');
  f.api.put(stream('shop', 'ledger', { clusterStream: 'ledger-cs' }));
  await reconcileStream(f.ctx, 'shop/ledger');
  assert.equal(readyOf(f.api, 'Stream', 'shop/ledger')?.reason, 'StreamDeployed');

  // The administrator deletes it (the ClusterStream reconciler lets it go).
  f.api.delete('ClusterStream', 'ledger-cs');
  await reconcileClusterStream(f.ctx, 'ledger-cs');
  assert.equal(f.api.get<ClusterStream>('ClusterStream', 'ledger-cs'), undefined);
  await reconcileStream(f.ctx, 'shop/ledger');
  assert.deepEqual(readyOf(f.api, 'Stream', 'shop/ledger'), {
    status: 'False', reason: 'ClusterStreamLost',
    message: 'ClusterStream "ledger-cs" this Stream was bound to was deleted; create it again, or name another in spec.storage.clusterStream (or leave it out for an auto-provisioned one)',
  });
  assert.equal(f.api.writesOf('create').length, 0, 'not auto-provisioned again');

  f.api.put(clusterStream('ledger-cs', { name: 'ledger' }));
  await reconcileClusterStream(f.ctx, 'ledger-cs');
  await reconcileStream(f.ctx, 'shop/ledger');
  assert.equal(readyOf(f.api, 'Stream', 'shop/ledger')?.reason, 'StreamDeployed');

  // A named one that never existed is still auto-provisioned (dev mode, as the original).
  f.api.put(stream('shop', 'fresh', { clusterStream: 'fresh-cs' }));
  await reconcileStream(f.ctx, 'shop/fresh');
  assert.equal(f.api.get<ClusterStream>('ClusterStream', 'fresh-cs')?.spec.name, 'fresh');
});

test('auto-provisioning that fails: AutoProvisionFailed with the API\'s error, and the reconcile fails (retried)', async () => {
  const f = fakeControllers();
  f.api.failures.push({ verb: 'create', kind: 'ClusterStream', error: new ApiError(500, 'etcdserver: request timed out') });
  f.api.put(stream('team-a', 'data-in'));
  const { error } = await attempt(reconcileStream, f.ctx, 'team-a/data-in');
  assert.equal((error as ApiError | undefined)?.code, 500);
  assert.deepEqual(readyOf(f.api, 'Stream', 'team-a/data-in'), { status: 'False', reason: 'AutoProvisionFailed', message: 'could not create ClusterStream "data-in-cluster-stream": etcdserver: request timed out' });
  await reconcileStream(f.ctx, 'team-a/data-in');
  assert.equal(readyOf(f.api, 'Stream', 'team-a/data-in')?.reason, 'AutoProvisionClusterStream');
});

test('a ClusterStream created meanwhile by someone else (409 on create): looked at again, not recorded as ours', async () => {
  const f = fakeControllers();
  f.api.failures.push({ verb: 'create', kind: 'ClusterStream', error: new ApiError(409, 'already exists') });
  f.api.put(stream('team-a', 'data-in'));
  assert.deepEqual(await reconcileStream(f.ctx, 'team-a/data-in'), { requeueAfterMs: 200 });
  assert.equal(f.api.get<Stream>('Stream', 'team-a/data-in')?.status, undefined);
});

test('deletion removes the Stream\'s finalizer (the API server then deletes it)', async () => {
  const f = fakeControllers();
  f.api.put(stream('team-a', 'data-in'));
  await reconcileStream(f.ctx, 'team-a/data-in');
  assert.deepEqual(f.api.get<Stream>('Stream', 'team-a/data-in')?.metadata.finalizers, [STREAM_FINALIZER]);
  f.api.delete('Stream', 'team-a/data-in');
  assert.ok(f.api.get<Stream>('Stream', 'team-a/data-in')?.metadata.deletionTimestamp);
  await reconcileStream(f.ctx, 'team-a/data-in');
  assert.equal(f.api.get('Stream', 'team-a/data-in'), undefined);
});
