// Hostile input: thousands of malformed requests (random bytes, deep nesting, huge strings, wrong types, bad paths and
// queries, odd methods and media types). The server must answer every one with a 4xx Status (never a 5xx, never a
// dropped connection) and still work correctly afterwards. A fresh seed per run, printed; SR_FUZZ_SEED replays one.
// The other fronts have files of their own: fuzz-identity (credentials and identity headers), fuzz-watch (watch
// queries, clients leaving mid-stream), fuzz-writes (concurrent writers), fuzz-objects (valid but odd objects).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { connect } from 'node:tls';
import type { EtcdHandle } from '../support/etcd';
import { startEtcdAndApiServer, stopApiServerAndEtcd, type ApiServerHandle } from '../support/apiserver-server';
import { fuzzSeed, replayHint, seededRandom, sendFuzzed, type FuzzAnswer } from '../support/fuzz';

let etcd: EtcdHandle;
let api: ApiServerHandle;
const G = 'streaming.tanzu.vmware.com';
const GV = `/apis/${G}/v1alpha1`;
const TOTAL = 6_000;
const CONCURRENCY = 16;
const SEED = fuzzSeed();

interface FuzzRequest { method: string; path: string; body?: Buffer | string; headers: Record<string, string> }

function generator(seed: number): (i: number) => FuzzRequest {
  const random = seededRandom(seed);
  const r = random.next;
  const pick = random.pick;
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const deep = (n: number, open: string, close: string): string => open.repeat(n) + close.repeat(n);
  const collections = [`${GV}/namespaces/fz/streams`, `${GV}/namespaces/fz/processors`, `${GV}/clusterstreams`];
  const items = [`${GV}/namespaces/fz/streams/s1`, `${GV}/namespaces/fz/processors/p1`, `${GV}/clusterstreams/c1`, `${GV}/namespaces/fz/processors/p1/scale`, `${GV}/namespaces/fz/streams/s1/status`];
  const contentTypes = ['application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml', 'application/strategic-merge-patch+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.kubernetes.protobuf', ''];
  const wrongTypes: unknown[] = [
    { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: 'x', spec: {} },
    { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: 7 }, spec: [] },
    { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: 's1', labels: ['a'] }, spec: { protocol: 5 } },
    { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'p1', finalizers: 'x' }, spec: { replicas: 'many', inputs: 'a' } },
    { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'p1' }, spec: { replicas: 1e308, attributes: { 'srp.window': ['x'] } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } },
    { kind: 'Stream', metadata: { name: '../../etc' } },
    { apiVersion: `${G}/v1alpha1`, kind: 'ClusterStream', metadata: { name: 'c1', namespace: 'nope' }, spec: { storage: { server: null } } },
    [{ op: 'explode', path: '/x' }],
    [{ op: 'add', path: 'no-slash', value: 1 }],
    [{ op: 'remove', path: '/metadata/name' }],
    [{ op: 'replace', path: '/spec/replicas', value: { deep: true } }],
    'just a string',
    12345,
    null,
    { metadata: { name: 's1', resourceVersion: 'abc' } },
    { metadata: { name: 's1', resourceVersion: '1' }, spec: { partitionCount: -5 } },
    { spec: { replicas: -1 } },
    { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 'x' } },
  ];
  const badQueries = ['limit=abc', 'limit=-5', 'labelSelector=%3D%3D%3D', 'labelSelector=a%20in%20(', 'fieldSelector=spec.x%3D1', 'fieldSelector=%21%21', 'watch=maybe',
    'resourceVersion=-1', 'resourceVersion=abc', 'resourceVersionMatch=Sometimes', 'continue=bm9wZQ', 'continue=%ZZ', 'timeoutSeconds=x', 'dryRun=Maybe',
    'fieldValidation=Loose', 'fieldManager=' + 'm'.repeat(200), 'includeObject=Everything', 'sendInitialEvents=true', 'force=sure', 'allowWatchBookmarks=perhaps'];
  const badPaths = [`${GV}/namespaces/fz/unknowns`, `${GV}/namespaces/%ZZ/streams/x`, `${GV}/namespaces/fz/streams/a/b/c/d`, `/apis/${G}/v9/streams`, `/apis/%00/v1`,
    `${GV}/namespaces/fz/clusterstreams`, `${GV}/namespaces/fz/streams/s1/scale`, `${GV}/namespaces/fz/streams/${'n'.repeat(5000)}`, `/api/v1/pods`, `/openapi/v3/apis/x/y`,
    `${GV}/namespaces/fz/streams/%E2%98%83`, '/../../etc/passwd', `${GV}/watch/namespaces/fz/streams/s1/status`, '/apis/' + 'x/'.repeat(200)];
  return (i: number): FuzzRequest => {
    const kind = i % 8;
    const method = pick(['POST', 'PUT', 'PATCH', 'POST', 'PATCH', 'DELETE', 'GET']);
    const ct = pick(contentTypes);
    const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
    switch (kind) {
      case 0: return { method, path: pick([...collections, ...items]), body: randomBytes(1 + Math.floor(r() * 512)), headers };
      case 1: return { method: pick(['POST', 'PUT', 'PATCH']), path: pick([...collections, ...items]), body: pick([deep(2000 + Math.floor(r() * 20000), '[', ']'), deep(3000, '{"a":', '}').replace(/}$/, '1}'), 'a:\n' + Array.from({ length: 300 }, (_, d) => ' '.repeat(d + 1) + '- ').join('\n')]), headers };
      case 2: {
        // Huge strings where they can never be valid (annotations over 256 KiB, an enum, a name, a label value).
        const huge = 'x'.repeat(262_200 + Math.floor(r() * 100_000));
        const variants = [
          { metadata: { name: 'h' + i, annotations: { a: huge } }, spec: { protocol: 'kafka' } },
          { metadata: { name: 'h' + i }, spec: { protocol: huge } },
          { metadata: { name: huge.slice(0, 20_000) }, spec: { protocol: 'kafka' } },
          { metadata: { name: 'h' + i, labels: { l: huge.slice(0, 5_000) } }, spec: { protocol: 'kafka' } },
        ];
        return { method: 'POST', path: `${GV}/namespaces/fz/streams`, body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', ...pick(variants) }), headers: { 'content-type': 'application/json' } };
      }
      case 3: return { method: pick(['POST', 'PUT', 'PATCH']), path: pick([...collections, ...items]), body: JSON.stringify(pick(wrongTypes)), headers };
      case 4: return { method: 'GET', path: `${pick([...collections, ...items])}?${pick(badQueries)}&${pick(badQueries)}`, headers: { accept: pick(['application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/vnd.kubernetes.protobuf', 'text/html', '*/*']) } };
      case 5: return { method: pick(['GET', 'POST', 'DELETE', 'PATCH']), path: pick(badPaths), body: '{}', headers: { 'content-type': 'application/json' } };
      case 6: return { method: pick(['PROPFIND', 'LOCK', 'PURGE', 'PUT', 'POST', 'OPTIONS']), path: pick(items), body: 'x', headers: { 'content-type': 'application/json' } };
      default: return { method: pick(['DELETE', 'PATCH', 'PUT']), path: pick(items), body: pick(['{"preconditions":{"uid":5}}', '{"dryRun":"All"}', '{"dryRun":["Nope"]}', '', '{', '{"metadata":{"resourceVersion":"x"}}']), headers };
    }
  };
}

before(async () => {
  ({ etcd, api } = await startEtcdAndApiServer());
});

after(() => stopApiServerAndEtcd(api, etcd));

test(`${TOTAL} hostile requests: every one a 4xx Status, the server still correct afterwards`, { timeout: 180_000 }, async (t) => {
  t.diagnostic(replayHint(SEED));
  // Some real objects so item paths hit existing ones too.
  const existing = [
    [`${GV}/namespaces/fz/streams`, { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: 's1' }, spec: { protocol: 'kafka' } }],
    [`${GV}/namespaces/fz/processors`, { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'p1' }, spec: { type: 'SRP', inputs: [{ name: 's1' }] } }],
    [`${GV}/clusterstreams`, { apiVersion: `${G}/v1alpha1`, kind: 'ClusterStream', metadata: { name: 'c1' }, spec: { name: 'c1', storage: { server: { url: 'localhost:9092', protocol: 'kafka' } } } }],
  ] as const;
  for (const [path, obj] of existing) assert.equal((await api.request('POST', path, { body: JSON.stringify(obj), headers: { 'content-type': 'application/json' } })).status, 201);

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: api.caPem });
  const next = generator(SEED);
  const failures: string[] = [];
  const codes = new Map<number, number>();
  let index = 0;
  const send = (req: FuzzRequest): Promise<FuzzAnswer> =>
    sendFuzzed(new URL(req.path, api.url), { method: req.method, agent, headers: { authorization: `Bearer ${api.token}`, ...req.headers } }, req.body);
  const worker = async (): Promise<void> => {
    while (index < TOTAL) {
      const i = index++;
      const req = next(i);
      const res = await send(req);
      codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
      const okStatus = res.status >= 200 && res.status < 500;
      let statusBody = true;
      if (res.status >= 400) {
        try { statusBody = (JSON.parse(res.body) as { kind?: string }).kind === 'Status'; } catch { statusBody = false; }
      }
      if ((!okStatus || !statusBody) && failures.length < 20) failures.push(`#${i} ${req.method} ${req.path.slice(0, 120)} [${req.headers['content-type'] ?? ''}] -> ${res.status} ${res.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  assert.deepEqual(failures, [], `${replayHint(SEED)}; codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  const total = Array.from(codes.values()).reduce((a, b) => a + b, 0);
  assert.ok(total >= TOTAL);

  // Still correct afterwards: health, a create/get/update/delete round trip, and nothing half-stored.
  assert.equal((await api.request('GET', '/readyz')).status, 200);
  const created = await api.request('POST', `${GV}/namespaces/fz/streams`, { body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: 'after' }, spec: { protocol: 'kafka' } }), headers: { 'content-type': 'application/json' } });
  assert.equal(created.status, 201, created.body);
  const patched = await api.request('PATCH', `${GV}/namespaces/fz/streams/after`, { body: '{"spec":{"partitionCount":2}}', headers: { 'content-type': 'application/merge-patch+json' } });
  assert.equal(patched.json<{ metadata: { generation: number } }>().metadata.generation, 2);
  const list = (await api.request('GET', `${GV}/namespaces/fz/streams`)).json<{ items: { metadata: { name: string }; spec: { protocol?: unknown } }[] }>();
  for (const item of list.items) assert.ok(['kafka', 'rabbitmq'].includes(String(item.spec.protocol)), `stored object ${item.metadata.name} is valid`);
  assert.ok(!list.items.some((item) => /^h\d+$/.test(item.metadata.name) || item.metadata.name.startsWith('xxxx')), 'no invalid huge object was stored');
  assert.equal((await api.request('DELETE', `${GV}/namespaces/fz/streams/after`)).status, 200);
});

test('unparseable HTTP gets a 400 Status and the connection closes; the server keeps serving', async () => {
  for (const garbage of ['\x00\x01\x02 garbage\r\n\r\n', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 'CONNECTX /apis HTTP/1.1\r\nHost: x\r\n\r\n', `GET /apis HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`]) {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: api.port, ca: api.caPem, servername: 'localhost' }, () => socket.write(garbage));
      let data = '';
      socket.on('data', (d: Buffer) => { data += d.toString(); });
      socket.on('end', () => resolve(data));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400/, JSON.stringify(garbage));
    assert.match(reply, /"kind":"Status"/);
  }
  assert.equal((await api.request('GET', '/readyz')).status, 200);
});
