// The watch invariant client-go relies on: every write has a resourceVersion of its own, so a watch resumed from the
// last resourceVersion a client saw delivers everything after it. A burst of concurrent creates is watched once, then
// the watch is resumed from every resourceVersion of it, each as a stream of one HTTP/2 connection (as client-go
// multiplexes watches); none may miss an event. With write coalescing on (--etcd-max-writes-per-txn 64) objects
// created together share a revision and the resumed watches miss them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, type ApiServerHandle } from '../support/apiserver-server';
import { waitFor } from '../support/ports';
import { http2Session, watchHttp2 } from './watch-client';

const G = 'streaming.tanzu.vmware.com';
const NS = `/apis/${G}/v1alpha1/namespaces/burst`;
const BURST = 40;

let etcd: EtcdHandle;
let api: ApiServerHandle;

before(async () => {
  etcd = await startEtcd();
  api = await startApiServer({ etcdEndpoint: etcd.endpoint, extraArgs: process.env.SR_TEST_APISERVER_ARGS?.split(' ').filter(Boolean) });
});

after(async () => {
  await api?.stop();
  await etcd?.destroy();
});

test('a watch resumed from any resourceVersion of a burst of concurrent creates misses nothing', async () => {
  const startRv = (await api.request('GET', `${NS}/streams`)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  const created = await Promise.all(Array.from({ length: BURST }, async (_, i) => {
    const res = await api.request('POST', `${NS}/streams`, {
      body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: `s-${i}` }, spec: { protocol: 'kafka' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 201, res.body);
    return res.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  }));
  assert.equal(new Set(created).size, BURST, `every create has a resourceVersion of its own: ${created.join(',')}`);

  const session = http2Session(api);
  try {
    const full = watchHttp2(session, `${NS}/streams?watch=1&resourceVersion=${startRv}`, api.token);
    await waitFor('the whole burst on one watch', () => full.events.length >= BURST, 20_000);
    full.close();
    const order = full.events.map((e) => ({ name: e.object.metadata?.name ?? '', rv: e.object.metadata?.resourceVersion ?? '' }));
    assert.equal(full.status(), 200);

    // Resume after every event, all at once over the one connection; each must deliver exactly what followed it.
    const resumed = order.map((e) => watchHttp2(session, `${NS}/streams?watch=1&resourceVersion=${e.rv}&timeoutSeconds=5`, api.token));
    await Promise.all(resumed.map(async (w, i) => {
      const expected = order.slice(i + 1).map((e) => e.name);
      await Promise.race([waitFor(`the events after ${order[i].rv}`, () => w.events.length >= expected.length, 15_000).catch(() => undefined), w.ended]);
      w.close();
      assert.deepEqual(w.events.map((e) => e.object.metadata?.name), expected, `resumed from resourceVersion ${order[i].rv} (after ${order[i].name})`);
    }));
  } finally {
    session.close();
  }
});
