// Faults on a running `sr up`: kill -9 a processor (restarted within 2 s, nothing lost), kill -9 the controllers
// (restarted by sr up; running processes adopted, no duplicates; status converges), kill -9 etcd (restarted;
// the API server's and the controllers' watches recover).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { startUp, useSrUp } from '../support/controllers-up';
import { KafkaData, users, type OutMessage, type User } from '../support/controllers-data';
import { waitFor } from '../support/ports';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import amqp from 'amqplib';

const sr = useSrUp();

function pipeline(name: string, replicas = 1): string {
  return `
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: ${name}-in }
spec: { name: ${name}-in, protocol: kafka, partitionCount: 2 }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: ${name}-out }
spec: { name: ${name}-out, protocol: kafka }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  inputs: [{ name: ${name}-in }]
  outputs: [{ name: ${name}-out }]
`;
}

const hasAll = (sent: User[]) => (ms: OutMessage[]): boolean => sent.every((u) => ms.some((m) => m.value.includes(u.id)));

/** Live processes started for a slot prefix, found by the environment the local runtime gives them. */
function liveSlotProcesses(prefix: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').find((e) => e.startsWith('SR_LOCAL_SLOT='));
      if (env?.slice('SR_LOCAL_SLOT='.length).startsWith(prefix)) pids.push(Number(d));
    } catch { /* gone or not ours */ }
  }
  return pids;
}

test('kill -9 of a processor: restarted within 2 s, no message lost', async () => {
  await sr.up.apply(pipeline('relay'));
  await sr.up.waitReady('processor', 'relay', 90_000);
  const mark = await sr.kafka.mark('relay-out');
  const before = users(20);
  await sr.kafka.produce('relay-in', before);
  await sr.kafka.collect('relay-out', mark, hasAll(before));

  const [victim] = sr.up.processorPids('default', 'relay').filter((p) => p.slot === '0-processor');
  const killedAt = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  const during = users(20);
  await sr.kafka.produce('relay-in', during);
  let restartedAt = 0;
  await waitFor('a new processor process', () => {
    const now = sr.up.processorPids('default', 'relay').find((p) => p.slot === '0-processor');
    if (now && now.pid !== victim.pid) { restartedAt = Date.now(); return true; }
    return false;
  }, 5000, 10);
  assert.ok(restartedAt - killedAt < 2000, `restarted after ${restartedAt - killedAt} ms`);
  const afterKill = users(20);
  await sr.kafka.produce('relay-in', afterKill);
  await sr.kafka.collect('relay-out', mark, hasAll([...before, ...during, ...afterKill]), 90_000);
});

test('restarting the controllers: processes adopted (no duplicates), status converges', async () => {
  const pidsBefore = sr.up.processorPids('default', 'relay').map((p) => p.pid).sort();
  assert.equal(liveSlotProcesses('default/relay/').length, 1);
  const controllers = sr.up.componentPid('controllers')!;
  process.kill(controllers, 'SIGKILL');
  await waitFor('controllers restarted by sr up', () => { const p = sr.up.componentPid('controllers'); return p !== undefined && p !== controllers; }, 15_000, 50);
  // A change made right after the restart is reconciled by the new controllers.
  // Through the scale subresource, as `kubectl scale` does.
  await sr.up.kubectl('scale', 'processor', 'relay', '--replicas=2');
  // Converged = the new generation observed, 2 replicas, Ready (both instances in their Kafka consumer group).
  let last = '';
  await waitFor('scaled to 2 replicas, Ready', async () => {
    const p = await sr.up.getJson<{ metadata: { generation: number }; status?: { replicas?: number; readyReplicas?: number; observedGeneration?: number; conditions?: { type: string; status: string; message?: string }[] } }>('processor/relay');
    last = JSON.stringify(p.status);
    const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
    return p.status?.replicas === 2 && p.status.readyReplicas === 2 && p.status.observedGeneration === p.metadata.generation && ready?.status === 'True';
  }, 60_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last status ${last}`); });
  assert.equal(liveSlotProcesses('default/relay/').length, 2, 'exactly one process per replica');
  assert.ok(pidsBefore.length === 1, 'one process before');
  // Scale back: the new controllers own the processes they adopted.
  await sr.up.kubectl('patch', 'processor', 'relay', '--type', 'merge', '-p', '{"spec":{"replicas":1}}');
  await waitFor('scaled to 1', () => liveSlotProcesses('default/relay/').length === 1, 30_000, 100);
});

test('restarting etcd: watches recover and new resources are reconciled', async () => {
  const etcd = sr.up.componentPid('etcd')!;
  process.kill(etcd, 'SIGKILL');
  await waitFor('etcd restarted by sr up', () => { const p = sr.up.componentPid('etcd'); return p !== undefined && p !== etcd; }, 15_000, 50);
  await waitFor('API server answers again', async () => { await sr.up.kubectl('get', 'srp'); return true; }, 60_000, 250);
  await sr.up.apply(pipeline('after-etcd'));
  await sr.up.waitReady('processor', 'after-etcd', 90_000);
  const mark = await sr.kafka.mark('after-etcd-out');
  const sent = users(5);
  await sr.kafka.produce('after-etcd-in', sent);
  await sr.kafka.collect('after-etcd-out', mark, hasAll(sent));
  // The old pipeline kept working through it all.
  const mark2 = await sr.kafka.mark('relay-out');
  const more = users(5);
  await sr.kafka.produce('relay-in', more);
  await sr.kafka.collect('relay-out', mark2, hasAll(more));
});

interface Conditioned { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }
async function readyCondition(resource: string): Promise<{ status: string; reason?: string; message?: string } | undefined> {
  const obj = await sr.up.getJson<Conditioned>(resource).catch(() => undefined);
  return obj?.status?.conditions?.find((c) => c.type === 'Ready');
}
async function waitReason(resource: string, reason: string): Promise<{ status: string; reason?: string; message?: string }> {
  let last: Awaited<ReturnType<typeof readyCondition>>;
  await waitFor(`${resource} reason ${reason}`, async () => { last = await readyCondition(resource); return last?.reason === reason; }, 60_000, 200)
    .catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(last)}`); });
  return last!;
}
async function exchangeExists(name: string): Promise<boolean> {
  const conn = await amqp.connect(rabbitUrl());
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try { await ch.checkExchange(name); return true; } catch { return false; }
  } finally { await conn.close().catch(() => undefined); }
}

test('ClusterStream reclaimPolicy Delete removes the exchange, Retain keeps it; errors are visible in status', async () => {
  const del = uniqueName('sr-e2e-delete');
  const keep = uniqueName('sr-e2e-retain');
  const cs = (name: string, exchange: string, policy: string, url = '127.0.0.1:5672'): string => `
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${name} }
spec:
  name: ${exchange}
  storage:
    server: { url: "${url}", protocol: rabbitmq }
    reclaimPolicy: ${policy}
`;
  await sr.up.apply([cs('cs-delete', del, 'Delete'), cs('cs-retain', keep, 'Retain'), cs('cs-unreachable', uniqueName('x'), 'Retain', '127.0.0.1:1')].join('---'));
  await sr.up.waitReady('clusterstream', 'cs-delete');
  await sr.up.waitReady('clusterstream', 'cs-retain');
  assert.equal(await exchangeExists(del), true);
  assert.equal(await exchangeExists(keep), true);
  const failed = await waitReason('clusterstream/cs-unreachable', 'ProvisioningFailed');
  assert.equal(failed.status, 'False');
  assert.match(failed.message ?? '', /127\.0\.0\.1:1/);
  await sr.up.kubectl('delete', 'clusterstream', 'cs-delete', 'cs-retain', 'cs-unreachable', '--wait=true', '--timeout=60s');
  assert.equal(await exchangeExists(del), false, 'Delete removed the exchange');
  assert.equal(await exchangeExists(keep), true, 'Retain kept it');
  const conn = await amqp.connect(rabbitUrl());
  const ch = await conn.createChannel();
  await ch.deleteExchange(keep);
  await conn.close();
});

test('protocol mismatch and an FSQL query over a Stream without a schema are reported in status', async () => {
  await sr.up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: mismatch-kafka }
spec:
  name: mismatch-topic
  storage: { server: { protocol: kafka } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: mismatch }
spec: { name: mismatch-topic, protocol: rabbitmq, storage: { clusterStream: mismatch-kafka } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: sql }
spec:
  type: FSQL
  inlineQuery: ["INSERT INTO [[STREAM:sql-out]] SELECT * FROM [[STREAM:relay-in]]"]
`);
  const mismatch = await waitReason('stream/mismatch', 'ProtocolMismatch');
  assert.equal(mismatch.status, 'False');
  // relay-in is auto-provisioned without a dataSchemaContext: no columns to run SQL over.
  const fsql = await waitReason('processor/sql', 'InvalidQuery');
  assert.equal(fsql.status, 'False');
  assert.match(fsql.message ?? '', /relay-in/);
  await sr.up.kubectl('delete', 'processor/sql', 'stream/mismatch', 'clusterstream/mismatch-kafka', '--wait=true', '--timeout=60s');
});

test('Ctrl-C (SIGTERM to sr up) stops every process it started', async () => {
  const pids = [...sr.up.processorPidsAll(), sr.up.componentPid('etcd')!, sr.up.componentPid('apiserver')!, sr.up.componentPid('controllers')!];
  await sr.up.stop();
  const alive = pids.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  assert.deepEqual(alive, []);
  assert.deepEqual(liveSlotProcesses('default/'), []);
});

test('sr up again on the same directory resumes the same state', async () => {
  const again = await startUp({ dir: sr.up.dir, port: sr.up.port });
  const data = new KafkaData(again.kafkaBootstrap);
  try {
    // The resources are still there and become Ready on the new run (the dev Kafka is new: topics re-created).
    await again.waitReady('processor', 'relay', 90_000);
    await again.waitReady('processor', 'after-etcd', 90_000);
    const mark = await data.mark('relay-out');
    const sent = users(5);
    await data.produce('relay-in', sent);
    await data.collect('relay-out', mark, hasAll(sent));
  } finally {
    await data.close();
    await again.stop();
  }
});
