// Overload and slow clients on loopback, as kube-apiserver handles them: a watcher whose client does not read is cut
// off (its connection destroyed) while a reading one gets everything; a cap on watches per user; fair queueing so a
// user with a backlog of requests does not make another wait behind it; request and body deadlines; watches bounded
// by a server maximum whatever timeoutSeconds asks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { constants, type ClientHttp2Session } from 'node:http2';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, type ApiServerHandle } from '../support/apiserver-server';
import { waitFor } from '../support/ports';
import { http2Session, watchHttp1 } from './watch-client';

const G = 'streaming.tanzu.vmware.com';
const NS = `/apis/${G}/v1alpha1/namespaces/load`;
const JSON_CT = { 'content-type': 'application/json' };
const USERS = ['greedy', 'polite', 'reader', 'watcher'];

let etcd: EtcdHandle;
/** Small seats, queues, watch buffers and body deadline. */
let api: ApiServerHandle;
/** Short request deadline and watch maximum. */
let short: ApiServerHandle;

function stream(name: string, annotation = ''): string {
  return JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, ...(annotation ? { annotations: { big: annotation } } : {}) }, spec: { protocol: 'kafka' } });
}

/** The sum of a metric's samples in a /metrics text (0 when absent). */
function metric(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

/** A POST as one stream of an HTTP/2 session; resolves with the status. */
function post(session: ClientHttp2Session, token: string, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = session.request({ [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: path, authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    let status = 0;
    req.on('response', (h) => { status = Number(h[constants.HTTP2_HEADER_STATUS]); });
    req.on('data', () => undefined);
    req.on('end', () => resolve(status));
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  etcd = await startEtcd();
  const extraTokens = USERS.map((u) => `${u}-token,${u},${u}-uid,"team"`);
  [api, short] = await Promise.all([
    startApiServer({ etcdEndpoint: etcd.endpoint, extraTokens, extraArgs: ['--fair-queue-seats', '2', '--fair-queue-length', '200', '--max-watchers-per-user', '3', '--max-watch-buffer-bytes', '262144', '--request-body-timeout', '1s'] }),
    startApiServer({ etcdEndpoint: etcd.endpoint, extraTokens, extraArgs: ['--request-timeout', '1s', '--min-request-timeout', '1'] }),
  ]);
});

after(async () => {
  await api?.stop();
  await short?.stop();
  await etcd?.destroy();
});

test('a watcher that does not read is cut off and freed; one that reads gets every event', async () => {
  assert.equal((await api.request('POST', `${NS}/streams`, { body: stream('big'), headers: JSON_CT })).status, 201);
  const rv = (await api.request('GET', `${NS}/streams`)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  const slow = watchHttp1(api, `${NS}/streams?watch=1&resourceVersion=${rv}`, { token: 'reader-token', paused: true });
  const reading = watchHttp1(api, `${NS}/streams?watch=1&resourceVersion=${rv}`);
  await waitFor('both watches open', () => slow.status() === 200 && reading.status() === 200, 10_000);
  // 80 events of ~200 KB: far more than the 256 KiB the server may buffer for a watcher, plus the sockets' buffers.
  const UPDATES = 80;
  for (let i = 0; i < UPDATES; i++) {
    const patch = JSON.stringify({ metadata: { annotations: { big: `${i}`.padEnd(200_000, 'x') } } });
    assert.equal((await api.request('PATCH', `${NS}/streams/big`, { body: patch, headers: { 'content-type': 'application/merge-patch+json' } })).status, 200);
  }
  await waitFor('the slow watcher to be terminated', async () => metric((await api.request('GET', '/metrics')).body, 'apiserver_terminated_watchers_total') >= 1, 30_000, 200);
  await waitFor('the reading watcher to get every event', () => reading.events.length >= UPDATES, 60_000);
  reading.close();
  assert.equal(reading.events.filter((e) => e.type === 'MODIFIED').length, UPDATES);
  await waitFor('no watcher registered any more', async () => metric((await api.request('GET', '/metrics')).body, 'apiserver_registered_watchers') === 0, 10_000, 200);
  const metrics = (await api.request('GET', '/metrics')).body;
  assert.equal(metric(metrics, 'apiserver_terminated_watchers_total'), 1, 'only the watcher that did not read was cut off');
  // The slow client, reading at last, finds its connection destroyed, not a clean end of the stream.
  slow.resume();
  const end = await Promise.race([slow.ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
  assert.deepEqual(end, { aborted: true });
});

test('watches per user are capped (429), and a closed watch frees its place', async () => {
  const open = [0, 1, 2].map(() => watchHttp1(api, `${NS}/streams?watch=1`, { token: 'watcher-token' }));
  await waitFor('three watches open', () => open.every((w) => w.status() === 200), 10_000);
  const fourth = watchHttp1(api, `${NS}/streams?watch=1`, { token: 'watcher-token' });
  await fourth.ended;
  assert.equal(fourth.status(), 429, fourth.body());
  assert.match(JSON.parse(fourth.body()).message, /too many watches open by user "watcher"/);
  const other = watchHttp1(api, `${NS}/streams?watch=1`, { token: 'polite-token' });
  await waitFor('another user still watches', () => other.status() === 200, 10_000);
  other.close();
  open[0].close();
  await waitFor('a place to free up', async () => {
    const w = watchHttp1(api, `${NS}/streams?watch=1`, { token: 'watcher-token' });
    await waitFor('status', () => w.status() !== 0, 10_000);
    w.close();
    return w.status() === 200;
  }, 10_000, 100);
  for (const w of open) w.close();
});

test('fair queueing: a user with a backlog of 60 requests does not make another user wait behind it', async () => {
  const greedy = http2Session(api);
  const polite = http2Session(api);
  try {
    let greedyDone = 0;
    let greedyDoneWhenPoliteAnswered = -1;
    const backlog = Array.from({ length: 60 }, (_, i) => post(greedy, 'greedy-token', `${NS}/streams`, stream(`g-${i}`)).then((code) => { greedyDone++; return code; }));
    await waitFor('the backlog to be served', () => greedyDone >= 1, 30_000, 5);
    const politeCode = await post(polite, 'polite-token', `${NS}/streams`, stream('p-0'));
    greedyDoneWhenPoliteAnswered = greedyDone;
    const codes = await Promise.all(backlog);
    assert.equal(politeCode, 201);
    assert.deepEqual(new Set(codes), new Set([201]));
    // Behind a first-come queue the polite request would finish after nearly all 60; with turns, after a few.
    assert.ok(greedyDoneWhenPoliteAnswered < 30, `the polite request waited for ${greedyDoneWhenPoliteAnswered} of the greedy ones`);
  } finally {
    greedy.close();
    polite.close();
  }
});

test('a slow request body gets 408 and its connection closed; the seat it held is given back', async () => {
  const slowWriters = [0, 1].map(() => new Promise<string>((resolve) => {
    // Both seats (--fair-queue-seats 2) taken by clients that send headers and 10 bytes of a 1000-byte body.
    const socket = tlsConnect({ host: '127.0.0.1', port: api.port, ca: api.caPem, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
      socket.write(`POST ${NS}/streams HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer greedy-token\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"apiVersi`);
    });
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString(); });
    socket.on('close', () => resolve(answer));
    socket.on('error', () => undefined);
  }));
  const started = Date.now();
  const answers = await Promise.all(slowWriters);
  for (const answer of answers) {
    assert.match(answer, /^HTTP\/1\.1 408/, answer);
    assert.match(answer, /the request body was not received within 1s/);
  }
  assert.ok(Date.now() - started < 15_000, 'answered by the body deadline, not by a later one');
  assert.equal((await api.request('POST', `${NS}/streams`, { body: stream('after-slow'), headers: { ...JSON_CT, authorization: 'Bearer polite-token' } })).status, 201);
});

test('request deadline (--request-timeout, ?timeout=) and the watch maximum (--min-request-timeout)', async () => {
  // A list for a resourceVersion far ahead waits for it (3 s, then "Too large resource version"); the 1 s request
  // deadline answers first.
  const farAhead = `${NS}/streams?resourceVersion=999999999&resourceVersionMatch=NotOlderThan`;
  let t0 = Date.now();
  let res = await short.request('GET', farAhead);
  assert.equal(res.status, 504, res.body);
  assert.match(res.json<{ message: string }>().message, /request did not complete within requested timeout/);
  assert.ok(Date.now() - t0 < 2900, `answered after ${Date.now() - t0} ms`);
  t0 = Date.now();
  res = await api.request('GET', `${farAhead}&timeout=300ms`);
  assert.equal(res.status, 504);
  assert.match(res.json<{ message: string }>().message, /request did not complete within requested timeout/);
  assert.equal((await api.request('GET', `${NS}/streams?timeout=soon`)).status, 400);

  // timeoutSeconds=3600 is cut to twice --min-request-timeout (2 s); none at all lasts 1 to 2 s.
  for (const query of ['&timeoutSeconds=3600', '']) {
    t0 = Date.now();
    const w = watchHttp1(short, `${NS}/streams?watch=1${query}`);
    const end = await w.ended;
    assert.equal(w.status(), 200);
    assert.equal(end.aborted, false, 'the server ended the watch cleanly');
    assert.ok(Date.now() - t0 < 10_000, `the watch lasted ${Date.now() - t0} ms`);
  }
});
