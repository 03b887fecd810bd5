// `sr apiserver --workers 2`: two server processes share the port (node:cluster). Against a real etcd and kubectl:
// requests spread over both workers stay consistent (a create on one is read, listed and watched on the other),
// /metrics sums both workers, one garbage collector runs (worker 0's, replaced with it when it dies), a worker
// killed with SIGKILL is replaced while the other keeps serving, and SIGTERM leaves no process behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, type ApiServerHandle } from '../support/apiserver-server';
import { kubectlFor, type Kubectl } from '../support/apiserver-kubectl';
import { waitFor } from '../support/ports';

const G = 'streaming.tanzu.vmware.com';
const STREAMS = `/apis/${G}/v1alpha1/namespaces/w/streams`;
/** A new TLS connection per request: the primary hands connections to the workers in turn. */
const FRESH = { 'content-type': 'application/json', connection: 'close' };

let etcd: EtcdHandle;
let api: ApiServerHandle;
let kubectl: Kubectl;

function stream(name: string): string {
  return JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name }, spec: { protocol: 'kafka' } });
}

/** PIDs of this server's processes (the primary and its workers), from /proc. */
function serverPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.some((a) => a.endsWith('sr.js')) && cmdline.includes('apiserver') && cmdline.includes(String(api.port))) pids.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

function workerPids(): number[] {
  return serverPids().filter((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').includes('SR_APISERVER_WORKER_ID='));
}

function workerPid(index: number): number | undefined {
  return workerPids().find((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`SR_APISERVER_WORKER_ID=${index}`));
}

/** The log lines of collectors starting, as the worker index of each. */
function collectorStarts(): number[] {
  return api.logs().split('\n').filter((l) => l.includes('"msg":"garbage collector started"')).map((l) => (JSON.parse(l) as { worker: number }).worker);
}

async function metricsText(): Promise<string> {
  const res = await api.request('GET', '/metrics', { headers: FRESH });
  assert.equal(res.status, 200, res.body);
  return res.body;
}

/** A Processor and a Stream it owns; deleting the Processor (background) leaves the Stream to the collector. */
async function cascade(name: string): Promise<void> {
  const processors = `/apis/${G}/v1alpha1/namespaces/w/processors`;
  const owner = await api.request('POST', processors, { headers: FRESH, body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name }, spec: { type: 'SRP', replicas: 1, inputs: [{ name: `in-${name}` }], outputs: [{ name: `out-${name}` }] } }) });
  assert.equal(owner.status, 201, owner.body);
  const { uid } = owner.json<{ metadata: { uid: string } }>().metadata;
  const dependent = await api.request('POST', STREAMS, { headers: FRESH, body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: `${name}-out`, ownerReferences: [{ apiVersion: `${G}/v1alpha1`, kind: 'Processor', name, uid, blockOwnerDeletion: true }] }, spec: { protocol: 'kafka' } }) });
  assert.equal(dependent.status, 201, dependent.body);
  const deleted = await api.request('DELETE', `${processors}/${name}`, { headers: FRESH });
  assert.equal(deleted.status, 200, deleted.body);
  await waitFor(`${name}-out collected`, async () => (await api.request('GET', `${STREAMS}/${name}-out`, { headers: FRESH })).status === 404, 20_000, 100);
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

before(async () => {
  etcd = await startEtcd();
  api = await startApiServer({ etcdEndpoint: etcd.endpoint, extraArgs: ['--workers', '2'], logLevel: 'info' });
  kubectl = kubectlFor(api.kubeconfigPath);
});

after(async () => {
  kubectl?.cleanup();
  await api?.stop();
  await etcd?.destroy();
});

test('two workers serve, each with its own process', async () => {
  await waitFor('both workers serving', async () => /"worker":0[^\n]*"msg":"serving"/.test(api.logs()) && /"worker":1[^\n]*"msg":"serving"/.test(api.logs()), 20_000, 100);
  assert.equal(workerPids().length, 2);
  assert.equal(serverPids().length, 3, 'the primary and two workers');
});

test('what one worker writes the other reads, lists and watches at once', async () => {
  const list = await api.request('GET', STREAMS);
  const fromRv = list.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  const events: string[] = [];
  let buffer = '';
  const watchReq = httpsRequest(new URL(`${STREAMS}?watch=1&resourceVersion=${fromRv}`, api.url), { headers: { authorization: `Bearer ${api.token}` }, ca: api.caPem }, (res) => {
    res.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        events.push((JSON.parse(buffer.slice(0, nl)) as { object: { metadata: { name: string } } }).object.metadata.name);
        buffer = buffer.slice(nl + 1);
      }
    });
  });
  watchReq.end();
  try {
    const names = Array.from({ length: 30 }, (_, i) => `s-${i}`);
    for (const name of names) {
      const created = await api.request('POST', STREAMS, { body: stream(name), headers: FRESH });
      assert.equal(created.status, 201, created.body);
      // Read back on a new connection, i.e. most likely by the other worker: etcd is the truth for both.
      const got = await api.request('GET', `${STREAMS}/${name}`, { headers: FRESH });
      assert.equal(got.status, 200, `${name}: ${got.body}`);
      const listed = await api.request('GET', STREAMS, { headers: FRESH });
      assert.ok(listed.json<{ items: { metadata: { name: string } }[] }>().items.some((o) => o.metadata.name === name), `${name} missing from a consistent list`);
    }
    await waitFor('every create watched', async () => names.every((n) => events.includes(n)), 10_000, 50);
    assert.deepEqual(events, names, 'each event once, in order');
    const table = await kubectl.ok(['get', 'srs', '-n', 'w', '--no-headers']);
    assert.equal(table.trim().split('\n').length, names.length);
  } finally {
    watchReq.destroy();
  }
});

test('/metrics sums the requests of both workers', async () => {
  const before = metricValue((await api.request('GET', '/metrics', { headers: FRESH })).body, 'apiserver_request_total', { verb: 'CREATE', resource: 'streams', code: '201' });
  for (let i = 0; i < 10; i++) {
    const created = await api.request('POST', STREAMS, { body: stream(`m-${i}`), headers: FRESH });
    assert.equal(created.status, 201);
  }
  // Any worker answers /metrics with the sum of both.
  for (let i = 0; i < 4; i++) {
    const text = (await api.request('GET', '/metrics', { headers: FRESH })).body;
    assert.equal(metricValue(text, 'apiserver_request_total', { verb: 'CREATE', resource: 'streams', code: '201' }) - before, 10);
  }
});

test('a worker killed with SIGKILL is replaced; the other keeps serving meanwhile', async () => {
  const [victim, survivor] = workerPids();
  assert.ok(victim && survivor);
  process.kill(victim, 'SIGKILL');
  // Once the primary has seen the death (milliseconds; a connection handed over in that instant is lost, as with any
  // replica that dies), new connections go to the survivor until the replacement serves.
  await waitFor('the primary noticed', async () => api.logs().includes('apiserver worker exited; restarting it'), 10_000, 20);
  for (let i = 0; i < 10; i++) {
    const res = await api.request('GET', STREAMS, { headers: FRESH });
    assert.equal(res.status, 200);
  }
  await waitFor('a replacement worker', async () => workerPids().length === 2 && !workerPids().includes(victim), 20_000, 100);
  await waitFor('the replacement serving', async () => (api.logs().match(/"msg":"serving"/g) ?? []).length >= 3, 20_000, 100);
  const created = await api.request('POST', STREAMS, { body: stream('after-restart'), headers: FRESH });
  assert.equal(created.status, 201);
});

test('one garbage collector runs, in worker 0; replaced with its worker when it dies', async () => {
  // The test before may have killed worker 0 too: each of its lives started one collector, and no other worker did.
  await waitFor('the collector started', async () => collectorStarts().length > 0, 20_000, 100);
  const starts = collectorStarts();
  assert.ok(starts.every((w) => w === 0), `collectors started by workers ${starts.join(', ')}: worker 0 alone should`);
  // Any worker answers /metrics with the sum over both: one collector, whichever worker is asked.
  for (let i = 0; i < 4; i++) assert.equal(metricValue(await metricsText(), 'apiserver_garbage_collector_running'), 1);
  await cascade('gc-one');
  const text = await metricsText();
  assert.ok(metricValue(text, 'apiserver_garbage_collector_actions_total', { action: 'delete', outcome: 'done' }) >= 1, 'the collector deleted the dependent');
  // No rival planned from the same state and lost the race for the same write.
  assert.equal(metricValue(text, 'apiserver_garbage_collector_actions_total', { outcome: 'changed' }), 0);

  const victim = workerPid(0);
  assert.ok(victim, 'worker 0 found');
  process.kill(victim, 'SIGKILL');
  await waitFor('worker 0 replaced', async () => { const pid = workerPid(0); return pid !== undefined && pid !== victim; }, 20_000, 100);
  await waitFor('its collector restarted', async () => collectorStarts().length === starts.length + 1, 20_000, 100);
  assert.ok(collectorStarts().every((w) => w === 0));
  await waitFor('one collector again', async () => metricValue(await metricsText(), 'apiserver_garbage_collector_running') === 1, 20_000, 100);
  await cascade('gc-after-restart');
});

test('SIGTERM stops the primary and every worker', async () => {
  const pids = serverPids();
  assert.equal(pids.length, 3);
  await api.stop();
  for (const pid of pids) {
    await waitFor(`process ${pid} gone`, async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000, 50);
  }
});
