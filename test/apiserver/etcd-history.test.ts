// History semantics against a real etcd: compaction surfaces as 410 Expired (watch from an old resourceVersion,
// a continue token of a compacted revision), and a watch survives an etcd restart without skipping or repeating
// an event; /readyz fails while etcd is unreachable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, apiRequest, type ApiServerHandle } from '../support/apiserver-server';
import { waitFor } from '../support/ports';

let etcd: EtcdHandle;
let api: ApiServerHandle;
const G = 'streaming.tanzu.vmware.com';
const NS = `/apis/${G}/v1alpha1/namespaces/h`;
const JSON_CT = { 'content-type': 'application/json' };

interface Event { type: string; object: { metadata: { name: string; resourceVersion: string }; code?: number; reason?: string } }

function body(name: string): string {
  return JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name }, spec: { protocol: 'kafka' } });
}

function watch(path: string): { events: Event[]; close: () => void; ended: Promise<void> } {
  const events: Event[] = [];
  let buffer = '';
  let close = (): void => undefined;
  const ended = new Promise<void>((resolve) => {
    const req = httpsRequest(new URL(path, api.url), { headers: { authorization: `Bearer ${api.token}` }, ca: api.caPem }, (res) => {
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) events.push(JSON.parse(line) as Event);
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
    close = () => req.destroy();
  });
  return { events, close, ended };
}

before(async () => {
  etcd = await startEtcd();
  api = await startApiServer({ etcdEndpoint: etcd.endpoint, compactionInterval: '1s' });
});

after(async () => {
  if (process.env.SR_DEBUG_LOGS) process.stderr.write(api?.logs() ?? '');
  await api?.stop();
  await etcd?.destroy();
});

test('410 Expired after compaction (watch and continue)', async () => {
  for (const n of ['c1', 'c2', 'c3']) assert.equal((await api.request('POST', `${NS}/streams`, { body: body(n), headers: JSON_CT })).status, 201);
  const page = (await api.request('GET', `${NS}/streams?limit=1`)).json<{ metadata: { resourceVersion: string; continue: string } }>();
  const oldRv = page.metadata.resourceVersion;
  // Writes after the page so the pinned revision is history, then wait for two compaction ticks.
  for (let i = 0; i < 3; i++) await api.request('PATCH', `${NS}/streams/c1`, { body: JSON.stringify({ metadata: { labels: { i: String(i) } } }), headers: { 'content-type': 'application/merge-patch+json' } });
  await waitFor('the continue token to expire', async () => {
    const res = await api.request('GET', `${NS}/streams?limit=1&continue=${encodeURIComponent(page.metadata.continue)}`);
    return res.status === 410;
  }, 20_000, 300);
  const expiredList = (await api.request('GET', `${NS}/streams?limit=1&continue=${encodeURIComponent(page.metadata.continue)}`)).json<{ reason: string }>();
  assert.equal(expiredList.reason, 'Expired');
  const w = watch(`${NS}/streams?watch=1&resourceVersion=${Number(oldRv) - 1}`);
  await w.ended;
  assert.equal(w.events.length, 1);
  assert.equal(w.events[0].type, 'ERROR');
  assert.equal(w.events[0].object.code, 410);
  assert.equal(w.events[0].object.reason, 'Expired');
});

test('a watch survives an etcd restart without skipping or repeating events; readyz follows etcd', async () => {
  const start = (await api.request('GET', `${NS}/streams`)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  const w = watch(`${NS}/streams?watch=1&resourceVersion=${start}`);
  const names: string[] = [];
  for (let i = 0; i < 5; i++) { names.push(`before-${i}`); await api.request('POST', `${NS}/streams`, { body: body(`before-${i}`), headers: JSON_CT }); }
  await waitFor('events before restart', () => w.events.length >= 5, 10_000);
  await etcd.stop();
  await waitFor('readyz to fail while etcd is down', async () => (await apiRequest(api.url, api.caPem, undefined, 'GET', '/readyz', { timeoutMs: 5000 })).status !== 200, 20_000, 200);
  await etcd.restart();
  await waitFor('readyz to recover', async () => (await apiRequest(api.url, api.caPem, undefined, 'GET', '/readyz', { timeoutMs: 5000 })).status === 200, 30_000, 200);
  for (let i = 0; i < 5; i++) {
    names.push(`after-${i}`);
    await waitFor(`create after-${i}`, async () => [201, 409].includes((await api.request('POST', `${NS}/streams`, { body: body(`after-${i}`), headers: JSON_CT })).status), 20_000, 200);
  }
  await waitFor('every event after the restart', () => w.events.length >= 10, 30_000);
  w.close();
  assert.deepEqual(w.events.map((e) => `${e.type}:${e.object.metadata.name}`), names.map((n) => `ADDED:${n}`));
  const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
  assert.equal(new Set(rvs).size, rvs.length, 'no event repeated');
});
