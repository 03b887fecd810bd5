// `sr apiserver --workers 2`: two server processes share the port (node:cluster). Against a real etcd and kubectl:
// requests spread over both workers stay consistent (a create on one is read, listed and watched on the other),
// /metrics sums both workers, a worker killed with SIGKILL is replaced while the other keeps serving, and SIGTERM
// leaves no process behind.
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

function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
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

test('SIGTERM stops the primary and every worker', async () => {
  const pids = serverPids();
  assert.equal(pids.length, 3);
  await api.stop();
  for (const pid of pids) {
    await waitFor(`process ${pid} gone`, async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10_000, 50);
  }
});
