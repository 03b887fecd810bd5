// No watch before the watch cache has listed, and no watcher left behind by a relist. The server reaches a real etcd
// through a TCP link the test cuts and joins, so it decides when the server can see etcd: a watch from "" or "0"
// while the cache has not listed is a 503 (never a 200 with an empty or stale start), and once it has listed it
// starts with what etcd holds. When etcd is stopped, restarted, written and compacted while the server cannot see it,
// the server's etcd watch cannot resume: the cache relists and every open watch ends with 410 Gone, after which a
// new watch sees everything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, type ApiServerHandle } from '../support/apiserver-server';
import { waitFor } from '../support/ports';
import { tcpLink, type TcpLink } from './tcp-link';
import { watchHttp1, type WatchStream } from './watch-client';

const G = 'streaming.tanzu.vmware.com';
const PREFIX = '/registry-sync';
const NS = `/apis/${G}/v1alpha1/namespaces/sync`;

let etcd: EtcdHandle;
let link: TcpLink;
let api: ApiServerHandle;
let raw: Etcd3;

/** Writes a Stream straight into etcd, as another API server sharing it would. */
async function putDirectly(name: string): Promise<void> {
  const object = { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, namespace: 'sync', uid: `uid-${name}`, creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 }, spec: { protocol: 'kafka' } };
  await waitFor(`put ${name}`, async () => { await raw.put(`${PREFIX}/${G}/streams/sync/${name}`).value(JSON.stringify(object)); return true; }, 30_000, 200);
}

function names(w: WatchStream): string[] {
  return w.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata?.name ?? '');
}

before(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
  link = await tcpLink(Number(new URL(etcd.endpoint).port), { joined: false });
  await putDirectly('pre-0');
  await putDirectly('pre-1');
  // Serving (livez) while it cannot reach etcd: the cache has not listed.
  api = await startApiServer({ etcdEndpoint: link.endpoint, etcdPrefix: PREFIX, readyPath: '/livez' });
});

after(async () => {
  if (process.env.SR_DEBUG_LOGS) process.stderr.write(api?.logs() ?? '');
  await api?.stop();
  await link?.close();
  raw?.close();
  await etcd?.destroy();
});

test('a watch from "" or "0" before the cache has listed is a 503, then starts with what etcd holds', async () => {
  for (const rv of ['', '0']) {
    const w = watchHttp1(api, `${NS}/streams?watch=1&resourceVersion=${rv}`);
    await w.ended;
    assert.equal(w.status(), 503, `watch from "${rv}" before the cache listed: ${w.body()}`);
    assert.match(w.body(), /storage is \(re\)initializing/);
  }
  assert.notEqual((await api.request('GET', '/readyz')).status, 200);

  await link.join();
  // Like a client: retry on 503. Whatever answers 200 must start with both objects etcd holds.
  let started: WatchStream | undefined;
  await waitFor('a watch to start once the cache has listed', async () => {
    const w = watchHttp1(api, `${NS}/streams?watch=1&resourceVersion=0`);
    const status = await waitFor('headers', () => w.status() !== 0, 10_000).then(() => w.status());
    if (status === 503) { w.close(); return false; }
    started = w;
    return true;
  }, 60_000, 300);
  const w = started as WatchStream;
  await waitFor('the initial ADDED events', () => w.events.length >= 2, 10_000);
  w.close();
  assert.deepEqual(names(w).sort(), ['pre-0', 'pre-1']);
  await waitFor('readyz', async () => (await api.request('GET', '/readyz')).status === 200, 30_000, 200);
});

test('etcd stopped, restarted, written and compacted out of sight: every open watch ends with 410, then a new one sees all', async () => {
  const listed = (await api.request('GET', `${NS}/streams`)).json<{ metadata: { resourceVersion: string } }>();
  const fromRv = watchHttp1(api, `${NS}/streams?watch=1&resourceVersion=${listed.metadata.resourceVersion}`);
  const fromNow = watchHttp1(api, `${NS}/streams?watch=1`);
  await waitFor('both watches open', () => fromRv.status() === 200 && fromNow.events.length >= 2, 10_000);

  await link.cut();
  await etcd.stop();
  await etcd.restart();
  await putDirectly('during-0');
  await putDirectly('during-1');
  const revision = Number((await raw.get('\0').exec()).header.revision);
  await raw.kv.compact({ revision: String(revision), physical: true });
  await link.join();

  for (const w of [fromRv, fromNow]) {
    const end = await Promise.race([w.ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]);
    assert.ok(end, 'the watch was ended');
    const last = w.events[w.events.length - 1];
    assert.equal(last?.type, 'ERROR', JSON.stringify(w.events));
    assert.equal(last.object.code, 410);
    assert.ok(!names(w).includes('during-0'), 'nothing of the lost history was delivered as if it were a stream');
  }
  // The old resourceVersion is gone; a fresh watch starts with everything, the writes made out of sight included.
  const old = watchHttp1(api, `${NS}/streams?watch=1&resourceVersion=${listed.metadata.resourceVersion}`);
  await old.ended;
  assert.equal(old.events[0]?.object.code, 410);
  let fresh: WatchStream | undefined;
  await waitFor('a fresh watch with all four objects', async () => {
    fresh?.close();
    const w = watchHttp1(api, `${NS}/streams?watch=1`);
    fresh = w;
    await waitFor('events', () => w.events.length >= 4 || w.status() === 503, 5000).catch(() => undefined);
    return names(w).length === 4;
  }, 60_000, 300);
  fresh?.close();
  assert.deepEqual(names(fresh as WatchStream).sort(), ['during-0', 'during-1', 'pre-0', 'pre-1']);
});
