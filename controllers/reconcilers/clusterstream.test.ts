// The ClusterStream reconciler's branches against a fake ControllerContext (test-support.ts: an in-memory API
// server, fake brokers and runtime standing in for a whole `sr up`, so failures can be reached on demand; the real
// components are exercised by test/e2e, e.g. claims.test.ts and controllers-faults.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_STREAM_FINALIZER } from '../context';
import { reconcileClusterStream } from './clusterstream';
import { reconcileStream } from './stream';
import { attempt, clusterStream, fakeControllers, processor, readyOf, stream } from './test-support';

test('provisions the topic with the partitions its claims need, publishes the address without credentials, adds the finalizer', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('cs', { name: 'orders', claim: 'team-a' }));
  f.api.put(stream('team-a', 'orders', { clusterStream: 'cs', keys: ['id'], partitionCount: 3 }));
  f.api.put(processor('team-a', 'reader', { inputs: [{ name: 'orders' }], replicas: 4 }));
  f.api.put(stream('team-b', 'orders', { clusterStream: 'cs', partitionCount: 9 })); // another namespace: no say

  assert.deepEqual(await reconcileClusterStream(f.ctx, 'cs'), {});
  assert.deepEqual(f.kafka.callsOf('ensure'), [{ op: 'ensure', url: 'kafka-0.test:9092,kafka-1.test:9092', destination: 'orders', partitions: 4 }]);
  const cs = f.api.get<ReturnType<typeof clusterStream>>('ClusterStream', 'cs')!;
  assert.deepEqual(cs.metadata.finalizers, [CLUSTER_STREAM_FINALIZER]);
  assert.deepEqual(cs.status?.claimRefs, ['team-a/orders']);
  assert.equal(cs.status?.storageAddress?.server?.production?.url, 'kafka-0.test:9092,kafka-1.test:9092');
  assert.deepEqual(readyOf(f.api, 'ClusterStream', 'cs'), { status: 'True', reason: 'ProtocolDeployed', message: 'topic "orders" (4 partitions) ready on kafka-0.test:9092,kafka-1.test:9092' });
  assert.equal(cs.status?.observedGeneration, 1);

  // Level-triggered: nothing changed, nothing is written again.
  const writes = f.api.writes.length;
  await reconcileClusterStream(f.ctx, 'cs');
  assert.equal(f.api.writes.length, writes);
});

test('a broker that refuses: Ready=False ProvisioningFailed with the error, no credentials, and the reconcile fails (retried)', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('cs', { name: 'events', protocol: 'rabbitmq', url: 'amqp://admin:hunter2@rabbit.test:5672' }));
  f.rabbitmq.failEnsure = new Error('connect ECONNREFUSED amqp://admin:hunter2@rabbit.test:5672');

  const { error } = await attempt(reconcileClusterStream, f.ctx, 'cs');
  assert.equal((error as Error | undefined)?.message, 'connect ECONNREFUSED amqp://admin:hunter2@rabbit.test:5672', 'the broker error is what the queue retries on');
  const ready = readyOf(f.api, 'ClusterStream', 'cs');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'ProvisioningFailed');
  assert.equal(ready?.message, 'could not create exchange "events" on amqp://rabbit.test:5672: connect ECONNREFUSED amqp://rabbit.test:5672');
  assert.doesNotMatch(JSON.stringify(f.api.get('ClusterStream', 'cs')?.status), /hunter2/);

  // The broker is back: Ready, and the failure's condition is replaced.
  f.rabbitmq.failEnsure = undefined;
  await reconcileClusterStream(f.ctx, 'cs');
  assert.equal(readyOf(f.api, 'ClusterStream', 'cs')?.reason, 'ProtocolDeployed');
});

test('consumer group queues that cannot be declared: ProvisioningFailed, keeping the address already published', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('cs', { name: 'events', protocol: 'rabbitmq', claim: 'default' }));
  f.api.put(stream('default', 'events', { clusterStream: 'cs', protocol: 'rabbitmq' }));
  await reconcileClusterStream(f.ctx, 'cs');
  assert.equal(readyOf(f.api, 'ClusterStream', 'cs')?.reason, 'ProtocolDeployed');
  f.api.put(processor('default', 'reader', { inputs: [{ name: 'events' }] }));
  f.rabbitmq.failConsumerGroups = new Error('PRECONDITION_FAILED');

  const { error } = await attempt(reconcileClusterStream, f.ctx, 'cs');
  assert.ok(error);
  assert.deepEqual(f.rabbitmq.callsOf('ensureConsumerGroups').at(-1)?.groups, [{ group: 'reader' }]);
  assert.deepEqual(readyOf(f.api, 'ClusterStream', 'cs'), { status: 'False', reason: 'ProvisioningFailed', message: 'could not declare the consumer group queues of "events" on amqp://rabbit.test:5672: PRECONDITION_FAILED' });
  assert.ok(f.api.get<ReturnType<typeof clusterStream>>('ClusterStream', 'cs')?.status?.storageAddress, 'a failure keeps the status fields besides Ready');
});

test('an unsupported protocol and a protocol without a server are refused with their reasons', async () => {
  const f = fakeControllers({ brokers: { rabbitmq: 'amqp://rabbit.test:5672' } });
  f.api.put(clusterStream('odd', { protocol: 'pulsar' }));
  f.api.put(clusterStream('nokafka', { protocol: 'kafka' }));
  await reconcileClusterStream(f.ctx, 'odd');
  await reconcileClusterStream(f.ctx, 'nokafka');
  assert.deepEqual(readyOf(f.api, 'ClusterStream', 'odd'), { status: 'False', reason: 'UnsupportedProtocol', message: 'protocol "pulsar" is not supported; use kafka or rabbitmq' });
  assert.deepEqual(readyOf(f.api, 'ClusterStream', 'nokafka'), { status: 'False', reason: 'NoServer', message: 'spec.storage.server.url is empty and no default kafka server is configured (--kafka-brokers)' });
  assert.equal(f.kafka.calls.length + f.rabbitmq.calls.length, 0);
});

test('a topic with fewer partitions than a partitioned claim writes to is InsufficientPartitions (real count, not the requested one)', async () => {
  const f = fakeControllers();
  f.kafka.fixedTopics = true;
  f.kafka.destinations.set('kafka-0.test:9092,kafka-1.test:9092 scores', 1);
  f.api.put(clusterStream('cs', { name: 'scores', claim: 'default', reclaimPolicy: 'Delete' }));
  f.api.put(stream('default', 'scores', { clusterStream: 'cs', keys: ['team'], partitionCount: 3 }));
  await reconcileClusterStream(f.ctx, 'cs');
  const ready = readyOf(f.api, 'ClusterStream', 'cs');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'InsufficientPartitions');
  assert.match(ready?.message ?? '', /^topic "scores" \(1 partition\) too small .*; it has 1 partition, 3 wanted \(partitioned producers write to 3\)/);
  assert.match(ready?.message ?? '', /reclaimPolicy Delete will keep it: this fake broker cannot delete topics$/);
});

test('deletion: reclaimPolicy Delete removes the destination then the finalizer; Retain keeps it; a failed delete is ReclaimFailed and keeps the object', async () => {
  const f = fakeControllers();
  for (const [name, policy] of [['gone', 'Delete'], ['kept', 'Retain'], ['stuck', 'Delete']] as const) {
    f.api.put(clusterStream(name, { reclaimPolicy: policy }));
    await reconcileClusterStream(f.ctx, name);
    f.api.delete('ClusterStream', name);
  }
  await reconcileClusterStream(f.ctx, 'gone');
  assert.deepEqual(f.kafka.callsOf('remove').map((c) => c.destination), ['gone']);
  assert.equal(f.api.get('ClusterStream', 'gone'), undefined, 'finalizer removed: the API server deleted it');

  await reconcileClusterStream(f.ctx, 'kept');
  assert.deepEqual(f.kafka.callsOf('remove').map((c) => c.destination), ['gone'], 'Retain: nothing removed');
  assert.equal(f.api.get('ClusterStream', 'kept'), undefined);

  f.kafka.failRemove = new Error('TopicAuthorizationFailed');
  const { error } = await attempt(reconcileClusterStream, f.ctx, 'stuck');
  assert.ok(error);
  assert.deepEqual(f.api.get('ClusterStream', 'stuck')?.metadata.finalizers, [CLUSTER_STREAM_FINALIZER], 'the finalizer stays until the delete succeeds');
  assert.deepEqual(readyOf(f.api, 'ClusterStream', 'stuck'), { status: 'False', reason: 'ReclaimFailed', message: 'could not delete stuck on kafka-0.test:9092,kafka-1.test:9092: TopicAuthorizationFailed' });
  f.kafka.failRemove = undefined;
  await reconcileClusterStream(f.ctx, 'stuck');
  assert.equal(f.api.get('ClusterStream', 'stuck'), undefined);
});

test('a broker that cannot delete: the deletion finishes and the log says the topic was kept', async () => {
  const f = fakeControllers();
  f.kafka.fixedTopics = true;
  f.api.put(clusterStream('cs', { name: 'audit', reclaimPolicy: 'Delete' }));
  await reconcileClusterStream(f.ctx, 'cs');
  f.api.delete('ClusterStream', 'cs');
  await reconcileClusterStream(f.ctx, 'cs');
  assert.equal(f.api.get('ClusterStream', 'cs'), undefined);
  assert.ok(f.logs.some((l) => l.msg.startsWith('reclaimPolicy Delete: this fake broker cannot delete topics')), JSON.stringify(f.logs));
});

// ---- Issue 15: one destination on one broker is one ClusterStream's (or one namespace's).

test('two ClusterStreams naming one topic on the same Kafka: the later one (not the smaller name) is DestinationInUse, not provisioned, until the first is gone', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('older', { name: 'payments', claim: 'team-a', reclaimPolicy: 'Delete', created: '2026-01-01T00:00:00Z' }));
  // Another address of the same cluster (one broker in common, written with a scheme): the same cluster.
  f.api.put(clusterStream('newer', { name: 'payments', url: 'kafka://kafka-1.test:9092', claim: 'team-b', reclaimPolicy: 'Delete', created: '2026-01-01T00:00:05Z' }));
  await reconcileClusterStream(f.ctx, 'older');
  await reconcileClusterStream(f.ctx, 'newer');
  assert.equal(readyOf(f.api, 'ClusterStream', 'older')?.reason, 'ProtocolDeployed');
  assert.deepEqual(readyOf(f.api, 'ClusterStream', 'newer'), {
    status: 'False', reason: 'DestinationInUse',
    message: 'topic "payments" on kafka-1.test:9092 is ClusterStream "older"\'s (created first, claimed by namespace "team-a"): two ClusterStreams providing one destination would let two namespaces share its data; give this one another spec.name, or delete the other',
  });
  assert.deepEqual(f.kafka.callsOf('ensure').map((c) => c.url), ['kafka-0.test:9092,kafka-1.test:9092'], 'only the first provisioned');
  assert.equal(f.api.get<ReturnType<typeof clusterStream>>('ClusterStream', 'newer')?.status?.storageAddress, undefined, 'no address to use');

  // Its Streams are not Ready, and say why.
  f.api.put(stream('team-b', 'payments', { clusterStream: 'newer' }));
  await reconcileStream(f.ctx, 'team-b/payments');
  const bound = readyOf(f.api, 'Stream', 'team-b/payments');
  assert.equal(bound?.reason, 'ClusterStreamNotReady');
  assert.match(bound?.message ?? '', /is ClusterStream "older"'s/);

  // The first is deleted: while its finalizer runs (Delete removes the topic) it still holds the destination ...
  f.api.delete('ClusterStream', 'older');
  await reconcileClusterStream(f.ctx, 'newer');
  assert.equal(readyOf(f.api, 'ClusterStream', 'newer')?.reason, 'DestinationInUse');
  await reconcileClusterStream(f.ctx, 'older');
  assert.deepEqual(f.kafka.callsOf('remove').map((c) => c.destination), ['payments'], 'the older one\'s Delete removed its topic: the other never provisioned it');
  assert.equal(f.api.get('ClusterStream', 'older'), undefined);
  // ... then the later one takes it over.
  await reconcileClusterStream(f.ctx, 'newer');
  assert.equal(readyOf(f.api, 'ClusterStream', 'newer')?.reason, 'ProtocolDeployed');
  assert.equal(f.kafka.callsOf('ensure').length, 2);
  await reconcileStream(f.ctx, 'team-b/payments');
  assert.equal(readyOf(f.api, 'Stream', 'team-b/payments')?.reason, 'StreamDeployed');
});

test('created in the same second, the smaller name holds the destination; a DestinationInUse one with Delete never deletes the holder\'s topic', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('zeta', { name: 'shared', protocol: 'rabbitmq', reclaimPolicy: 'Delete', created: '2026-01-01T00:00:00Z' }));
  f.api.put(clusterStream('alpha', { name: 'shared', protocol: 'rabbitmq', url: 'amqp://other:pw@rabbit.test', created: '2026-01-01T00:00:00Z' }));
  await reconcileClusterStream(f.ctx, 'zeta');
  await reconcileClusterStream(f.ctx, 'alpha');
  assert.equal(readyOf(f.api, 'ClusterStream', 'alpha')?.reason, 'ProtocolDeployed');
  const zeta = readyOf(f.api, 'ClusterStream', 'zeta');
  assert.equal(zeta?.reason, 'DestinationInUse');
  assert.equal(zeta?.message.startsWith('exchange "shared" on amqp://rabbit.test:5672 is ClusterStream "alpha"\'s (created first):'), true, zeta?.message);

  f.api.delete('ClusterStream', 'zeta');
  await reconcileClusterStream(f.ctx, 'zeta');
  assert.equal(f.api.get('ClusterStream', 'zeta'), undefined);
  assert.deepEqual(f.rabbitmq.callsOf('remove'), [], 'alpha\'s exchange stays');
});

test('the same name on another broker, another vhost or another protocol is another destination', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('a', { name: 'x', created: '2026-01-01T00:00:00Z' }));
  f.api.put(clusterStream('b', { name: 'x', url: 'kafka-9.elsewhere:9092', created: '2026-01-01T00:00:01Z' }));
  f.api.put(clusterStream('c', { name: 'x', protocol: 'rabbitmq', created: '2026-01-01T00:00:02Z' }));
  f.api.put(clusterStream('d', { name: 'x', protocol: 'rabbitmq', url: 'amqp://rabbit.test:5672/tenant', created: '2026-01-01T00:00:03Z' }));
  for (const name of ['a', 'b', 'c', 'd']) {
    await reconcileClusterStream(f.ctx, name);
    assert.equal(readyOf(f.api, 'ClusterStream', name)?.reason, 'ProtocolDeployed', name);
  }
});

test('ClusterStreams claimed by ONE namespace may share a destination (its Streams asked for it); an unclaimed first one holds it until that namespace claims it', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('admin', { name: 'clicks', created: '2026-01-01T00:00:00Z' }));
  f.api.put(clusterStream('dev', { name: 'clicks', claim: 'web', created: '2026-01-01T00:01:00Z' }));
  await reconcileClusterStream(f.ctx, 'admin');
  await reconcileClusterStream(f.ctx, 'dev');
  assert.equal(readyOf(f.api, 'ClusterStream', 'dev')?.reason, 'DestinationInUse', 'unclaimed: another namespace could still claim the first');

  // A Stream of `web` binds the first one: both are `web`'s now.
  f.api.put(stream('web', 'clicks', { clusterStream: 'admin' }));
  await reconcileStream(f.ctx, 'web/clicks');
  await reconcileClusterStream(f.ctx, 'dev');
  assert.equal(readyOf(f.api, 'ClusterStream', 'dev')?.reason, 'ProtocolDeployed');

  // Deleting one of the two with Delete keeps the topic the other still provides.
  f.api.updateSpec<ReturnType<typeof clusterStream>>('ClusterStream', 'dev', { storage: { server: { protocol: 'kafka' }, reclaimPolicy: 'Delete' } });
  await reconcileClusterStream(f.ctx, 'dev');
  f.api.delete('ClusterStream', 'dev');
  await reconcileClusterStream(f.ctx, 'dev');
  assert.equal(f.api.get('ClusterStream', 'dev'), undefined);
  assert.deepEqual(f.kafka.callsOf('remove'), [], 'the shared topic is kept');
  assert.ok(f.logs.some((l) => l.msg === 'reclaimPolicy Delete: kept, another ClusterStream uses this destination'));
});

test('both deleted: one that never held the destination deletes nothing, even when the holder goes first with Retain', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('holder', { name: 'billing', reclaimPolicy: 'Retain', created: '2026-01-01T00:00:00Z' }));
  f.api.put(clusterStream('blocked', { name: 'billing', reclaimPolicy: 'Delete', created: '2026-01-01T00:00:01Z' }));
  await reconcileClusterStream(f.ctx, 'holder');
  await reconcileClusterStream(f.ctx, 'blocked');
  assert.equal(readyOf(f.api, 'ClusterStream', 'blocked')?.reason, 'DestinationInUse');
  f.api.delete('ClusterStream', 'holder');
  f.api.delete('ClusterStream', 'blocked');
  await reconcileClusterStream(f.ctx, 'blocked');
  await reconcileClusterStream(f.ctx, 'holder');
  assert.equal(f.api.list('ClusterStream').length, 0);
  assert.deepEqual(f.kafka.callsOf('remove'), [], 'the holder retains its topic');
});
