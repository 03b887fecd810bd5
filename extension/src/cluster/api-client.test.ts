// The extension's API client against a real `sr apiserver` on etcd, through a CA + bearer-token kubeconfig.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCluster, TestCluster } from '../test/integration/cluster';
import { ApiClient, ApiError, KubeObject, WatchEvent } from './api-client';
import { loadKubeconfig } from './kubeconfig';

const API_VERSION = 'streaming.tanzu.vmware.com/v1alpha1';

describe('API client against sr apiserver', () => {
  let cluster: TestCluster;
  let api: ApiClient;

  before(async () => {
    cluster = await startTestCluster();
    api = new ApiClient(loadKubeconfig(cluster.kubeconfig));
  });

  after(async () => {
    api?.dispose();
    await cluster?.stop();
  });

  const stream = (name: string, partitionCount?: number): KubeObject => ({
    apiVersion: API_VERSION,
    kind: 'Stream',
    metadata: { name },
    spec: { name, protocol: 'kafka', ...(partitionCount ? { partitionCount } : {}) },
  });

  it('applies (create, then update), dry-runs without persisting, and reports validation errors', async () => {
    const created = await api.apply(stream('orders', 1), { fieldManager: 'test', dryRun: false });
    assert.equal(created.result.metadata?.name, 'orders');
    assert.equal(created.result.metadata?.namespace, 'default');
    const updated = await api.apply(stream('orders', 2), { fieldManager: 'test', dryRun: false });
    assert.equal((updated.result.spec as { partitionCount?: number }).partitionCount, 2);

    const dry = await api.apply(stream('orders', 5), { fieldManager: 'test', dryRun: true });
    assert.equal((dry.result.spec as { partitionCount?: number }).partitionCount, 5);
    assert.equal((dry.live?.spec as { partitionCount?: number }).partitionCount, 2);
    const live = await api.get('Stream', 'default', 'orders');
    assert.equal((live?.spec as { partitionCount?: number }).partitionCount, 2, 'dry run must not persist');

    const dryCreate = await api.apply(stream('never-created'), { fieldManager: 'test', dryRun: true });
    assert.equal(dryCreate.result.metadata?.name, 'never-created');
    assert.equal(await api.get('Stream', 'default', 'never-created'), undefined);

    const bad: KubeObject = { ...stream('bad'), spec: { name: 'bad', protocol: 'carrier-pigeon' } };
    await assert.rejects(api.apply(bad, { fieldManager: 'test', dryRun: false }), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 422);
      assert.match(error.message, /carrier-pigeon/);
      return true;
    });
  });

  it('watches: initial list, then changes as they happen, across namespaces', async () => {
    const events: WatchEvent[] = [];
    const stop = api.watch('Stream', (event) => events.push(event));
    try {
      await waitUntil(() => events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'orders'));
      await api.apply({ ...stream('payments'), metadata: { name: 'payments', namespace: 'team-b' } }, { fieldManager: 'test', dryRun: false });
      await waitUntil(() => events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'payments' && e.object.metadata.namespace === 'team-b'));
      await api.delete('Stream', 'team-b', 'payments');
      await waitUntil(() => events.some((e) => e.type === 'DELETED' && e.object.metadata?.name === 'payments'));
      assert.ok(events.every((e) => e.object.kind === 'Stream'));
    } finally {
      stop();
    }
  });

  it('fails clearly with a wrong token', async () => {
    const connection = { ...loadKubeconfig(cluster.kubeconfig), token: 'wrong' };
    const stranger = new ApiClient(connection);
    try {
      await assert.rejects(stranger.list('Stream'), (error: unknown) => error instanceof ApiError && error.status === 401);
    } finally {
      stranger.dispose();
    }
  });
});

async function waitUntil(probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
