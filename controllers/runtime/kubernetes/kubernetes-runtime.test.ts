// The create / replace / delete logic of the kubernetes runtime against a local HTTP server that answers like
// the Kubernetes API and records every request, and the runtime's watches against the same server answering list and
// watch the Kubernetes way (no cluster runs here).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startRecordingServer, type RecordingServer } from '../../../test/support/controllers-recording-server';
import { sampleWorkloads } from '../../../test/support/controllers-samples';
import { KubernetesRuntime } from './kubernetes-runtime';
import { waitFor } from '../../../test/support/ports';

let server: RecordingServer;
before(async () => { server = await startRecordingServer(); });
after(async () => { await server.close(); });

const writes = (): string[] => server.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path.replace(/\?.*$/, '')}`);

test('first apply creates, a second identical apply writes nothing, a change replaces, a shape change deletes', async () => {
  const runtime = new KubernetesRuntime(server.kubeConfig(), pino({ level: 'silent' }));
  const samples = sampleWorkloads({ credentialsInConfig: false, httpPort: 8080 });
  const stateless = structuredClone(samples.find((s) => s.file.startsWith('tutorials__4-'))!.workload);

  server.requests.length = 0;
  await runtime.apply(stateless);
  assert.deepEqual(writes(), [
    'POST /api/v1/namespaces/default/configmaps',
    'POST /apis/apps/v1/namespaces/default/deployments',
  ]);
  const deployment = server.store.get('/apis/apps/v1/default/deployments/srp-stateless-replication') as { metadata: { ownerReferences: { kind: string }[] }; spec: { replicas: number } };
  assert.equal(deployment.spec.replicas, 3);
  assert.equal(deployment.metadata.ownerReferences[0].kind, 'Processor');

  server.requests.length = 0;
  await runtime.apply(stateless);
  assert.deepEqual(writes(), [], 'unchanged objects are not rewritten');

  server.requests.length = 0;
  stateless.replicas = 5;
  await runtime.apply(stateless);
  assert.deepEqual(writes(), ['PUT /apis/apps/v1/namespaces/default/deployments/srp-stateless-replication']);
  const put = server.requests.find((r) => r.method === 'PUT')!;
  assert.ok((put.body?.metadata as { resourceVersion?: string }).resourceVersion, 'replace carries the resourceVersion');

  // forceStatefulSet: the Deployment goes, a StatefulSet and its headless Service come.
  server.requests.length = 0;
  stateless.stateful = true;
  await runtime.apply(stateless);
  assert.deepEqual(writes().sort(), [
    'DELETE /apis/apps/v1/namespaces/default/deployments/srp-stateless-replication',
    'POST /api/v1/namespaces/default/services',
    'POST /apis/apps/v1/namespaces/default/statefulsets',
  ].sort());

  assert.deepEqual(await runtime.workloads(), ['default/stateless-replication']);

  server.requests.length = 0;
  await runtime.remove('default/stateless-replication');
  assert.deepEqual(writes().sort(), [
    'DELETE /api/v1/namespaces/default/configmaps/srp-stateless-replication-config',
    'DELETE /api/v1/namespaces/default/services/srp-stateless-replication',
    'DELETE /apis/apps/v1/namespaces/default/statefulsets/srp-stateless-replication',
  ].sort());
  assert.equal(server.store.size, 0);
  await runtime.remove('default/stateless-replication');
});

test('a concurrent change (409 on replace) surfaces as an error so the reconcile retries', async () => {
  const runtime = new KubernetesRuntime(server.kubeConfig(), pino({ level: 'silent' }));
  const w = structuredClone(sampleWorkloads({ credentialsInConfig: false, httpPort: 8080 }).find((s) => s.file.startsWith('tutorials__1-'))!.workload);
  await runtime.apply(w);
  const key = '/apis/apps/v1/default/deployments/srp-re-transmission-processor';
  const stored = server.store.get(key) as { metadata: { resourceVersion: string; annotations: Record<string, string> } };
  // Someone else wrote it after our read would have happened: simulate by changing the stored version and hash.
  stored.metadata.annotations['streaming.tanzu.vmware.com/applied-hash'] = 'other';
  const realGet = server.store.get.bind(server.store);
  let served = false;
  server.store.get = (k: string) => {
    const v = realGet(k);
    if (k === key && v && !served) { served = true; return { ...v, metadata: { ...(v.metadata as object), resourceVersion: '0' } }; }
    return v;
  };
  await assert.rejects(runtime.apply(w));
  server.store.get = realGet;
  await runtime.apply(w);
  await runtime.remove(w.key);
});

test('watches what it creates: a crashed or deleted Deployment requeues its Processor at once (fake API server answering list and watch, no cluster)', async () => {
  const runtime = new KubernetesRuntime(server.kubeConfig(), pino({ level: 'silent' }), undefined, 100);
  const heard: string[] = [];
  const watches = (): number => server.requests.filter((r) => r.method === 'GET' && r.path.includes('watch=true')).length;
  const before = watches();
  runtime.onStatusChange((key) => heard.push(key));
  // Our fake server streams events from the moment a watch connects (it ignores resourceVersion): wait for both.
  await waitFor('Deployments and StatefulSets watched', () => watches() >= before + 2, 10_000, 20);
  const w = structuredClone(sampleWorkloads({ credentialsInConfig: false, httpPort: 8080 }).find((s) => s.file.startsWith('tutorials__4-'))!.workload);
  const key = '/apis/apps/v1/default/deployments/srp-stateless-replication';
  const heardNow = async (what: string): Promise<void> => waitFor(what, () => heard.includes(w.key), 10_000, 20);
  await runtime.apply(w);
  await heardNow('the new Deployment');

  heard.length = 0;
  server.modify(key, (d) => { d.status = { replicas: 3, readyReplicas: 3 }; });
  await heardNow('the rollout finished');

  // A replica crashes: the Deployment controller lowers readyReplicas and Available turns False.
  heard.length = 0;
  server.modify(key, (d) => {
    d.status = { replicas: 3, readyReplicas: 2, conditions: [{ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }] };
  });
  await heardNow('the crash');
  const status = await runtime.apply(w);
  assert.equal(status.readyReplicas, 2);
  assert.match(status.message ?? '', /Deployment Available: MinimumReplicasUnavailable \(Deployment does not have minimum availability\.\)/);

  // The API server ends the watch (a restart, a timeout): the runtime watches again and keeps hearing.
  const open = watches();
  server.endWatches();
  await waitFor('watching again', () => watches() >= open + 2, 10_000, 20);
  heard.length = 0;
  server.modify(key, (d) => { d.status = { replicas: 3, readyReplicas: 3 }; });
  await heardNow('the recovery, after the watch was re-opened');

  // Nothing changed (a resync of the same object): nothing requeued.
  heard.length = 0;
  server.modify(key, () => undefined);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(heard, [], 'an unchanged status requeues nothing');

  // Deleted by hand: requeued (the reconcile creates it again).
  const res = await fetch(`${server.url}/apis/apps/v1/namespaces/default/deployments/srp-stateless-replication`, { method: 'DELETE' });
  assert.equal(res.status, 200);
  await heardNow('the delete');

  await runtime.close();
  await runtime.remove(w.key);
});
