// The extension's API client against a real `sr apiserver` on etcd: the admin's CA + bearer-token kubeconfig (what
// `sr up` writes), an exec credential plugin, and a user RBAC limits to one namespace.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXEC_PLUGIN, execKubeconfig, startTestCluster, TestCluster } from '../test/integration/cluster';
import { ApiClient, ApiError, ApplyConflictError, KubeObject, WatchEvent } from './api-client';
import { loadKubeconfig, parseKubeconfig } from './kubeconfig';
import { METRICS_URL_ANNOTATION, readProcessorMetrics } from './metrics';

const API_VERSION = 'streaming.tanzu.vmware.com/v1alpha1';

// `developers` may do anything with our kinds everywhere; alice only in team-a (a RoleBinding of the same ClusterRole).
const POLICY = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: streaming-edit}
rules:
- {apiGroups: [streaming.tanzu.vmware.com], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: developers}
subjects: [{kind: Group, name: developers}]
roleRef: {kind: ClusterRole, name: streaming-edit}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice, namespace: team-a}
subjects: [{kind: User, name: alice}]
roleRef: {kind: ClusterRole, name: streaming-edit}
`;

describe('API client against sr apiserver', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ext-api-client-'));
  let cluster: TestCluster;
  let api: ApiClient;

  before(async () => {
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    cluster = await startTestCluster({
      extraArgs: ['--authorization-mode', 'RBAC', '--authorization-policy-file', join(dir, 'policy.yaml')],
      extraTokens: ['exec-plugin-token,eve,eve-uid,"developers"', 'alice-token,alice,alice-uid,""'],
    });
    api = new ApiClient(loadKubeconfig(cluster.kubeconfig));
  });

  after(async () => {
    api?.dispose();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
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

  it('applies and dry-runs with fieldValidation=Strict: an unknown field is an error, not a silent drop', async () => {
    const unknown: KubeObject = { ...stream('strict'), spec: { name: 'strict', protocol: 'kafka', partitionCuont: 3 } };
    for (const dryRun of [true, false]) {
      await assert.rejects(api.apply(unknown, { fieldManager: 'test', dryRun }), (error: unknown) => {
        assert.ok(error instanceof ApiError, String(error));
        assert.equal(error.status, 400);
        assert.match(error.message, /strict decoding error: unknown field "spec.partitionCuont"/);
        return true;
      });
    }
    assert.equal(await api.get('Stream', 'default', 'strict'), undefined);
  });

  it('never forces: a field another manager owns is a conflict naming manager and field, forcing is explicit', async () => {
    await api.apply(stream('shared', 1), { fieldManager: 'team-a-ci', dryRun: false });
    for (const dryRun of [true, false]) {
      await assert.rejects(api.apply(stream('shared', 4), { fieldManager: 'sr-vscode', dryRun }), (error: unknown) => {
        assert.ok(error instanceof ApplyConflictError, String(error));
        assert.deepEqual(error.conflicts, [{ manager: 'team-a-ci', field: '.spec.partitionCount' }]);
        return true;
      });
    }
    assert.equal(((await api.get('Stream', 'default', 'shared'))?.spec as { partitionCount?: number }).partitionCount, 1);
    const forced = await api.apply(stream('shared', 4), { fieldManager: 'sr-vscode', dryRun: false, force: true });
    assert.equal((forced.result.spec as { partitionCount?: number }).partitionCount, 4);
    // The same value is no conflict: both managers share the field.
    await api.apply(stream('shared', 4), { fieldManager: 'team-a-ci', dryRun: false });
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

  it('authenticates through an exec credential plugin whose token the server accepts (--token-auth-file)', async () => {
    const plugin = join(dir, 'plugin.js');
    writeFileSync(plugin, EXEC_PLUGIN);
    const runs = join(dir, 'runs');
    writeFileSync(runs, '');
    const viaPlugin = new ApiClient(parseKubeconfig(execKubeconfig(cluster.server, cluster.caFile, plugin, { SR_EXEC_TOKEN: 'exec-plugin-token', SR_EXEC_COUNT: runs }), dir));
    try {
      const applied = await viaPlugin.apply(stream('from-plugin'), { fieldManager: 'sr-vscode', dryRun: false });
      assert.equal(applied.result.metadata?.name, 'from-plugin');
      const managers = (applied.result.metadata?.managedFields as { manager?: string }[] | undefined)?.map((m) => m.manager);
      assert.deepEqual(managers, ['sr-vscode']);
      assert.ok((await viaPlugin.list('Stream')).items.some((s) => s.metadata?.name === 'from-plugin'));
      assert.equal(readFileSync(runs, 'utf8'), 'x', 'one plugin run for all requests while the token is valid');
    } finally {
      viaPlugin.dispose();
    }
    const wrong = new ApiClient(parseKubeconfig(execKubeconfig(cluster.server, cluster.caFile, plugin, { SR_EXEC_TOKEN: 'not-a-token' }), dir));
    try {
      await assert.rejects(wrong.list('Stream'), (error: unknown) => error instanceof ApiError && error.status === 401);
    } finally {
      wrong.dispose();
    }
  });

  it('follows the context\'s namespace for a user who may not list across namespaces, and says so for ClusterStreams', async () => {
    await api.apply({ ...stream('mine'), metadata: { name: 'mine', namespace: 'team-a' } }, { fieldManager: 'test', dryRun: false });
    const alice = new ApiClient(parseKubeconfig(JSON.stringify({
      'current-context': 'alice',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
      contexts: [{ name: 'alice', context: { cluster: 'c', user: 'alice', namespace: 'team-a' } }],
      users: [{ name: 'alice', user: { token: 'alice-token' } }],
    }), dir));
    const events: WatchEvent[] = [];
    const narrowed: string[] = [];
    const forbidden: ApiError[] = [];
    const scope = { fallbackNamespace: alice.connection.namespace, onNarrowed: (ns: string) => narrowed.push(ns), onForbidden: (e: ApiError) => forbidden.push(e) };
    const stops = [alice.watch('Stream', (e) => events.push(e), () => undefined, scope), alice.watch('ClusterStream', (e) => events.push(e), () => undefined, scope)];
    try {
      await waitUntil(() => events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'mine'));
      assert.deepEqual(narrowed, ['team-a']);
      await api.apply({ ...stream('later'), metadata: { name: 'later', namespace: 'team-a' } }, { fieldManager: 'test', dryRun: false });
      await waitUntil(() => events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'later'));
      assert.ok(events.filter((e) => e.type !== 'BOOKMARK').every((e) => e.object.metadata?.namespace === 'team-a'), 'only team-a');
      await waitUntil(() => forbidden.length === 1);
      assert.equal(forbidden[0]?.status, 403);
      assert.ok(events.some((e) => e.type === 'BOOKMARK' && e.object.kind === 'ClusterStream'), 'ClusterStreams count as listed (none visible)');
      await assert.rejects(alice.apply({ ...stream('elsewhere'), metadata: { name: 'elsewhere', namespace: 'team-b' } }, { fieldManager: 'sr-vscode', dryRun: true }),
        (error: unknown) => error instanceof ApiError && error.status === 403);
    } finally {
      for (const stop of stops) stop();
      alice.dispose();
    }
  });

  it('reads processor metrics only from a loopback annotation when the server has no pods API and is local', async () => {
    let hits = 0;
    const metrics = createServer((_, response) => {
      hits++;
      response.end('sr_processor_messages_in_total{input="orders"} 7\n');
    });
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
    try {
      const port = (metrics.address() as AddressInfo).port;
      const processor = (annotation: string): KubeObject => ({ kind: 'Processor', metadata: { name: 'p', namespace: 'default', annotations: { [METRICS_URL_ANNOTATION]: annotation } } });
      assert.deepEqual(await readProcessorMetrics(api, processor(`http://127.0.0.1:${port}/metrics`)), ['sr_processor_messages_in_total{input="orders"} 7\n']);
      assert.deepEqual(await readProcessorMetrics(api, processor(`http://127.0.0.1:${port}/metrics/../admin,http://u:p@127.0.0.1:${port}/metrics`)), []);
      assert.equal(hits, 1);
    } finally {
      metrics.close();
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
