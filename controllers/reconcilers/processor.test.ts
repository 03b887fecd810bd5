// The Processor reconciler's branches against a fake ControllerContext (test-support.ts: an in-memory API server,
// fake brokers and a fake runtime standing in for a whole `sr up`, so a runtime failure or a Stream that is not ready
// can be reached on demand; the real runtime and processors are exercised by test/e2e).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Processor, Stream } from '../../crds/types';
import { reconcileClusterStream } from './clusterstream';
import { reconcileProcessor } from './processor';
import { reconcileStream } from './stream';
import { attempt, clusterStream, fakeControllers, processor, readyOf, stream, type FakeControllers } from './test-support';

/** Streams made ready the way the controllers would: their ClusterStream reconciled, then the Stream. */
async function readyStreams(f: FakeControllers, namespace: string, ...names: string[]): Promise<void> {
  for (const name of names) {
    f.api.put(stream(namespace, name, { protocol: 'rabbitmq' }));
    await reconcileStream(f.ctx, `${namespace}/${name}`);
    const cs = f.api.get<Stream>('Stream', `${namespace}/${name}`)?.status?.clusterStreamName ?? '';
    await reconcileClusterStream(f.ctx, cs);
    await reconcileStream(f.ctx, `${namespace}/${name}`);
    assert.equal(readyOf(f.api, 'Stream', `${namespace}/${name}`)?.reason, 'StreamDeployed');
  }
}

test('inputs and outputs ready: the runtime gets the workload with each Stream\'s destination; Ready with the replica counts', async () => {
  const f = fakeControllers();
  await readyStreams(f, 'team-a', 'in', 'out');
  f.api.put(processor('team-a', 'relay', { inputs: [{ name: 'in' }], outputs: [{ name: 'out' }], replicas: 2 }));

  assert.deepEqual(await reconcileProcessor(f.ctx, 'team-a/relay'), {});
  assert.equal(f.runtime.applied.length, 1);
  const workload = f.runtime.applied[0];
  assert.equal(workload.key, 'team-a/relay');
  assert.equal(workload.replicas, 2);
  assert.deepEqual(workload.configs[0].inputs.map((b) => b.destination), ['in']);
  assert.deepEqual(workload.configs[0].outputs.map((b) => b.destination), ['out']);
  assert.doesNotMatch(JSON.stringify(workload.configs), /secret/, 'the default server\'s password is not in the configuration');
  const p = f.api.get<Processor>('Processor', 'team-a/relay')!;
  assert.deepEqual({ replicas: p.status?.replicas, readyReplicas: p.status?.readyReplicas, selector: p.status?.selector }, { replicas: 2, readyReplicas: 2, selector: 'streaming.tanzu.vmware.com/processor=relay' });
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'True', reason: 'ProcessorDeployed', message: '2/2 replica(s) running' });
});

test('an input Stream that does not exist (auto-provisioning off): StreamNotFound, and nothing runs', async () => {
  const f = fakeControllers({ autoProvisionStreams: false });
  await readyStreams(f, 'team-a', 'out');
  f.api.put(processor('team-a', 'relay', { inputs: [{ name: 'missing' }], outputs: [{ name: 'out' }] }));
  await reconcileProcessor(f.ctx, 'team-a/relay');
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'False', reason: 'StreamNotFound', message: 'Stream(s) "missing" not found in namespace "team-a" and auto-provisioning is off' });
  assert.equal(f.runtime.applied.length, 0);
  assert.deepEqual(f.runtime.removed, ['team-a/relay'], 'whatever ran before is stopped');
});

test('a missing input Stream (auto-provisioning on): ProcessorStreamNotReady while the namespace is busy, then the Stream is created', async () => {
  const f = fakeControllers();
  f.api.now = new Date();
  f.api.put(processor('team-a', 'relay', { inputs: [{ name: 'in' }] }));
  const first = await reconcileProcessor(f.ctx, 'team-a/relay');
  assert.ok((first.requeueAfterMs ?? 0) > 0 && (first.requeueAfterMs ?? 0) <= 5000, JSON.stringify(first));
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'False', reason: 'ProcessorStreamNotReady', message: 'waiting for Stream(s) "in"' });
  assert.equal(f.api.writesOf('create', 'Stream').length, 0, 'the user\'s own Stream may still be on its way');

  f.api.now = new Date(Date.now() - 60_000);
  f.api.put(processor('team-b', 'relay', { inputs: [{ name: 'in' }] }));
  await reconcileProcessor(f.ctx, 'team-b/relay');
  const created = f.api.get<Stream>('Stream', 'team-b/in');
  assert.deepEqual(created?.spec, { name: 'in', protocol: 'kafka' });
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-b/relay'), { status: 'False', reason: 'ProcessorStreamNotReady', message: 'waiting for Stream(s) "in" to be ready' });
});

test('an input Stream that is not ready: ProcessorStreamNotReady naming it, and the runtime is not asked', async () => {
  const f = fakeControllers();
  await readyStreams(f, 'team-a', 'out');
  f.api.put(stream('team-a', 'in', { clusterStream: 'absent-cs', protocol: 'rabbitmq' }));
  f.api.put(processor('team-a', 'relay', { inputs: [{ name: 'in' }], outputs: [{ name: 'out' }] }));
  await reconcileProcessor(f.ctx, 'team-a/relay');
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'False', reason: 'ProcessorStreamNotReady', message: 'waiting for Stream(s) "in" to be ready' });
  assert.equal(f.runtime.applied.length, 0);
});

test('a runtime that fails: DeploymentFailed with its error (without credentials), and the reconcile fails (retried)', async () => {
  const f = fakeControllers();
  await readyStreams(f, 'team-a', 'in', 'out');
  f.api.put(processor('team-a', 'relay', { inputs: [{ name: 'in' }], outputs: [{ name: 'out' }] }));
  f.runtime.failApply = new Error('spawn failed for amqp://guest:secret@rabbit.test:5672');
  const { error } = await attempt(reconcileProcessor, f.ctx, 'team-a/relay');
  assert.ok(error instanceof Error);
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'False', reason: 'DeploymentFailed', message: 'local runtime: spawn failed for amqp://rabbit.test:5672' });

  f.runtime.failApply = undefined;
  f.runtime.status = () => ({ replicas: 1, readyReplicas: 0, message: 'replica 0 not ready: input in: reconnecting' });
  assert.deepEqual(await reconcileProcessor(f.ctx, 'team-a/relay'), { requeueAfterMs: 5000 });
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'False', reason: 'ProcessorDeploying', message: '0/1 replica(s) running; replica 0 not ready: input in: reconnecting' });

  f.runtime.status = () => ({ replicas: 0, readyReplicas: 0, unsupported: { reason: 'ContainerCommandRequired', message: 'image "x" has no command' } });
  await reconcileProcessor(f.ctx, 'team-a/relay');
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-a/relay'), { status: 'False', reason: 'ContainerCommandRequired', message: 'image "x" has no command' });
});

test('dead-letter destinations that cannot be created: ProvisioningFailed, and nothing runs', async () => {
  const f = fakeControllers();
  await readyStreams(f, 'team-a', 'in', 'out');
  f.api.put(processor('team-a', 'relay', { inputs: [{ name: 'in' }], outputs: [{ name: 'out' }] }));
  f.rabbitmq.failEnsure = new Error('ACCESS_REFUSED');
  const { error } = await attempt(reconcileProcessor, f.ctx, 'team-a/relay');
  assert.ok(error);
  const ready = readyOf(f.api, 'Processor', 'team-a/relay');
  assert.equal(ready?.reason, 'ProvisioningFailed');
  assert.equal(ready?.message, 'could not create the dead-letter/late destinations: ACCESS_REFUSED');
  assert.equal(f.runtime.applied.length, 0);
});

test('a deleted Processor is removed from the runtime', async () => {
  const f = fakeControllers();
  assert.deepEqual(await reconcileProcessor(f.ctx, 'team-a/gone'), {});
  assert.deepEqual(f.runtime.removed, ['team-a/gone']);
});

test('issue 15 end to end in memory: a Stream bound to a DestinationInUse ClusterStream keeps its Processor waiting, until the other ClusterStream is gone', async () => {
  const f = fakeControllers();
  f.api.put(clusterStream('admin-a', { name: 'ledger', protocol: 'rabbitmq', claim: 'team-a', created: '2026-01-01T00:00:00Z' }));
  f.api.put(clusterStream('admin-b', { name: 'ledger', protocol: 'rabbitmq', created: '2026-01-01T00:10:00Z' }));
  f.api.put(stream('team-b', 'ledger', { protocol: 'rabbitmq', clusterStream: 'admin-b' }));
  await readyStreams(f, 'team-b', 'out');
  f.api.put(processor('team-b', 'auditor', { inputs: [{ name: 'ledger' }], outputs: [{ name: 'out' }] }));
  const all = async (): Promise<void> => {
    for (const cs of ['admin-a', 'admin-b']) if (f.api.get('ClusterStream', cs)) await reconcileClusterStream(f.ctx, cs);
    await reconcileStream(f.ctx, 'team-b/ledger');
    await reconcileProcessor(f.ctx, 'team-b/auditor');
  };
  await all();
  assert.equal(readyOf(f.api, 'ClusterStream', 'admin-b')?.reason, 'DestinationInUse');
  assert.equal(readyOf(f.api, 'Stream', 'team-b/ledger')?.reason, 'ClusterStreamNotReady');
  assert.deepEqual(readyOf(f.api, 'Processor', 'team-b/auditor'), { status: 'False', reason: 'ProcessorStreamNotReady', message: 'waiting for Stream(s) "ledger" to be ready' });
  assert.equal(f.runtime.applied.length, 0, 'team-b never reads team-a\'s exchange');

  f.api.delete('ClusterStream', 'admin-a');
  await all();
  assert.equal(readyOf(f.api, 'Processor', 'team-b/auditor')?.reason, 'ProcessorDeployed');
  assert.deepEqual(f.runtime.applied.at(-1)?.configs[0].inputs.map((b) => b.destination), ['ledger']);
});
