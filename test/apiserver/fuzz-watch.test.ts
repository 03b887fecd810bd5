// Fuzzed watches against the real server while a writer changes objects: random combinations of the watch query
// (resourceVersion, resourceVersionMatch, timeoutSeconds, allowWatchBookmarks, sendInitialEvents, label and field
// selectors, the deprecated /watch/ paths, Accept), over HTTP/1.1 connections and HTTP/2 streams, by clients that
// disconnect mid-stream (a connection destroyed, a stream reset, a whole HTTP/2 session torn down) or read to the end.
// Every watch must start with 200 and well-formed JSON event lines that keep their promises (selectors, namespaces,
// resourceVersions that never go back, bookmarks only when asked), or fail with a Status; never a 5xx but the
// documented 504 for a resourceVersion the server has not reached. Afterwards the server's watcher gauges are back
// where they started, and the per-user watch budget is whole again (no watch leaked).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { EtcdHandle } from '../support/etcd';
import { startEtcdAndApiServer, stopApiServerAndEtcd, type ApiServerHandle } from '../support/apiserver-server';
import { waitFor } from '../support/ports';
import { fuzzSeed, replayHint, seededRandom, type Random } from '../support/fuzz';

const G = 'streaming.tanzu.vmware.com';
const GV = `/apis/${G}/v1alpha1`;
const TOTAL = 240;
const CONCURRENCY = 10;
/** --max-watchers-per-user: enough headroom for closes the server has not noticed yet, small enough to show a leak. */
const MAX_WATCHERS = 30;
const SEED = fuzzSeed();
const JSON_CT = { 'content-type': 'application/json' };
const EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

let etcd: EtcdHandle;
let api: ApiServerHandle;

/** The sum of a metric's samples in a /metrics text (0 when absent). */
function metric(text: string, name: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

async function watcherGauges(): Promise<{ registered: number; longRunning: number }> {
  const text = (await api.request('GET', '/metrics')).body;
  return { registered: metric(text, 'apiserver_registered_watchers'), longRunning: metric(text, 'apiserver_longrunning_requests') };
}

interface WatchPlan {
  path: string;
  query: string[];
  accept?: string;
  http2: boolean;
  /** How long the client reads before it leaves; undefined = until the server ends the watch. */
  leaveAfterMs?: number;
  /** What the checks need to know about the query. */
  labelEquals?: string;
  namespace?: string;
  bookmarksAsked: boolean;
  initialEventsAsked: boolean;
  /** sendInitialEvents given at all (its presence changes where a watch starts). */
  initialEventsGiven: boolean;
  tableOrMetadata: boolean;
}

/** Symbolic resourceVersions, made concrete when the watch starts (the writer moves the revision meanwhile). */
type RvChoice = 'current' | 'recent' | 'future' | 'literal';

function planGenerator(random: Random): () => WatchPlan & { rv?: { kind: RvChoice; text: string } } {
  const paths: Array<{ path: string; namespace?: string }> = [
    { path: `${GV}/namespaces/fw/streams`, namespace: 'fw' },
    { path: `${GV}/namespaces/fw2/streams`, namespace: 'fw2' },
    { path: `${GV}/streams` },
    { path: `${GV}/namespaces/fw/processors`, namespace: 'fw' },
    { path: `${GV}/clusterstreams` },
    { path: `${GV}/watch/namespaces/fw/streams`, namespace: 'fw' },
    { path: `${GV}/watch/streams` },
    { path: `${GV}/namespaces/fw/streams/s1`, namespace: 'fw' },
    { path: `${GV}/watch/namespaces/fw/streams/s2`, namespace: 'fw' },
  ];
  /** A valid value most of the time, an invalid one now and then: mostly watches that start, some that must fail. */
  const value = <T>(valid: readonly T[], invalid: readonly T[]): T => (random.chance(0.88) ? random.pick(valid) : random.pick(invalid));
  const rvs: Array<{ kind: RvChoice; text: string }> = [
    { kind: 'literal', text: '' }, { kind: 'literal', text: '0' }, { kind: 'current', text: '' }, { kind: 'recent', text: '' }, { kind: 'literal', text: '1' },
  ];
  const badRvs: Array<{ kind: RvChoice; text: string }> = [
    { kind: 'literal', text: 'abc' }, { kind: 'literal', text: '-1' }, { kind: 'literal', text: '99999999999999999999' }, { kind: 'future', text: '' },
  ];
  return () => {
    const target = random.pick(paths);
    const query: string[] = [];
    if (!target.path.includes('/watch/') || random.chance(0.3)) query.push(`watch=${value(['1', 'true', 'TRUE'], ['yes', 'maybe'])}`);
    // A resourceVersion the server has not reached makes it wait 3 s before its 504, so 'future' stays rare.
    const rv = random.chance(0.7) ? value(rvs, badRvs) : undefined;
    let initialEventsAsked = false;
    let bookmarksAsked = false;
    const initialEventsGiven = random.chance(0.25);
    if (initialEventsGiven) {
      const initial = value(['true', 'false'], ['yes']);
      query.push(`sendInitialEvents=${initial}`);
      initialEventsAsked = initial === 'true';
      // WatchList's rules: resourceVersionMatch=NotOlderThan, and bookmarks with sendInitialEvents=true.
      query.push(`resourceVersionMatch=${value(['NotOlderThan'], ['Exact', 'Sometimes'])}`);
      if (initialEventsAsked && random.chance(0.9)) { query.push('allowWatchBookmarks=true'); bookmarksAsked = true; }
    } else if (random.chance(0.05)) {
      query.push(`resourceVersionMatch=${random.pick(['NotOlderThan', 'Exact'])}`);
    }
    let timeout: number | undefined;
    if (random.chance(0.5)) {
      const seconds = value(['1', '2', '3', '0', '99999999'], ['-1', 'x', '1.5']);
      query.push(`timeoutSeconds=${seconds}`);
      if (/^[123]$/.test(seconds)) timeout = Number(seconds);
    }
    if (!bookmarksAsked && random.chance(0.4)) {
      const allow = value(['true', 'false', '1'], ['perhaps']);
      query.push(`allowWatchBookmarks=${allow}`);
      bookmarksAsked = allow === 'true' || allow === '1';
    }
    let labelEquals: string | undefined;
    if (random.chance(0.4)) {
      const selector = value(['app=a', 'app in (a,b)', '!app', 'app!=b,tier', 'app=a,app=b', 'tier notin (x)'], ['===', 'app in (', `app=${'v'.repeat(70)}`]);
      query.push(`labelSelector=${encodeURIComponent(selector)}`);
      if (selector === 'app=a') labelEquals = 'a';
    }
    if (random.chance(0.25)) {
      query.push(`fieldSelector=${encodeURIComponent(value(['metadata.name=s1', 'metadata.namespace=fw', 'metadata.name!=s2', 'metadata.name=s1,metadata.name=s2'], ['spec.protocol=kafka', '!!']))}`);
    }
    const accept = value([undefined, 'application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', '*/*'], ['application/yaml', 'application/vnd.kubernetes.protobuf', 'text/html']);
    // Most clients leave on their own; some read until the server ends a short watch.
    const leaveAfterMs = timeout !== undefined && random.chance(0.5) ? undefined : random.between(0, 1200);
    return {
      path: target.path, query: random.chance(0.5) ? query : query.reverse(), accept, http2: random.chance(0.4), leaveAfterMs, rv,
      labelEquals, namespace: target.namespace, bookmarksAsked, initialEventsAsked, initialEventsGiven,
      tableOrMetadata: accept !== undefined && accept.includes(';as='),
    };
  };
}

interface WatchOutcome {
  status: number;
  contentType: string;
  text: string;
  endedByServer: boolean;
  /** The client left before the end: on its own, or its HTTP/2 session was torn down under it. */
  left: boolean;
}

/** HTTP/2 sessions this test tore down (the watches on them left with them). */
const tornDown = new WeakSet<ClientHttp2Session>();

interface OpenWatch { done: Promise<WatchOutcome>; leave(): void }

/** The answer as it arrives, filled in by a transport. */
interface WatchAnswer { status: number; contentType: string; text: string }

/** What both transports share: the outcome settled once (the end, an error, a close, leaving or giving up), the
 *  client leaving after `leaveAfterMs` or, when it reads to the end, giving up after 15 s (then the watch fails).
 *  `start` sends the watch, records into `answer`, calls `settle` and returns how to cut the watch off. */
function openWatch(
  leaveAfterMs: number | undefined,
  leftOtherwise: () => boolean,
  start: (answer: WatchAnswer, settle: (endedByServer: boolean) => void) => () => void,
): OpenWatch {
  let leave = (): void => undefined;
  const done = new Promise<WatchOutcome>((resolve) => {
    const answer: WatchAnswer = { status: 0, contentType: '', text: '' };
    let settled = false;
    let left = false;
    const settle = (endedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...answer, endedByServer, left: left || leftOtherwise() });
    };
    const cutOff = start(answer, settle);
    leave = () => { left = true; cutOff(); settle(false); };
    const giveUp = (): void => { cutOff(); settle(false); };
    const timer = setTimeout(leaveAfterMs === undefined ? giveUp : leave, leaveAfterMs ?? 15_000);
  });
  return { done, leave: () => leave() };
}

function watchOverHttp1(path: string, accept: string | undefined, leaveAfterMs: number | undefined): OpenWatch {
  return openWatch(leaveAfterMs, () => false, (answer, settle) => {
    const req = httpsRequest(new URL(path, api.url), { headers: { authorization: `Bearer ${api.token}`, ...(accept ? { accept } : {}) }, ca: api.caPem, agent: false }, (res) => {
      answer.status = res.statusCode ?? 0;
      answer.contentType = String(res.headers['content-type'] ?? '');
      res.on('data', (chunk: Buffer) => { answer.text += chunk.toString('utf8'); });
      res.on('end', () => settle(true));
      res.on('error', () => settle(false));
      res.on('close', () => settle(res.complete));
    });
    req.on('error', () => settle(false));
    req.end();
    // Leaving: the connection destroyed mid-stream.
    return () => req.destroy();
  });
}

function watchOverHttp2(session: ClientHttp2Session, path: string, accept: string | undefined, leaveAfterMs: number | undefined): OpenWatch {
  return openWatch(leaveAfterMs, () => tornDown.has(session), (answer, settle) => {
    const stream = session.request({ [constants.HTTP2_HEADER_PATH]: path, authorization: `Bearer ${api.token}`, ...(accept ? { accept } : {}) });
    stream.on('response', (headers) => {
      answer.status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      answer.contentType = String(headers['content-type'] ?? '');
    });
    stream.on('data', (chunk: Buffer) => { answer.text += chunk.toString('utf8'); });
    stream.on('end', () => settle(true));
    stream.on('error', () => settle(false));
    stream.on('close', () => settle(stream.rstCode === constants.NGHTTP2_NO_ERROR));
    // Leaving: the stream reset (RST_STREAM CANCEL), the session itself left open for the other watches on it.
    return () => stream.close(constants.NGHTTP2_CANCEL);
  });
}

interface EventLine { type?: unknown; object?: { kind?: unknown; code?: unknown; metadata?: { resourceVersion?: unknown; namespace?: unknown; labels?: Record<string, string>; annotations?: Record<string, string> } } }

/** What is wrong with one watch's answer (empty when nothing). */
function problems(plan: WatchPlan & { rv?: { kind: RvChoice; text: string } }, outcome: WatchOutcome): string[] {
  const found: string[] = [];
  if (outcome.status === 0) {
    if (!outcome.left) found.push('no answer');
    return found;
  }
  if (!outcome.left && !outcome.endedByServer) found.push('the answer broke off before its end');
  if (outcome.status !== 200) {
    let status: { kind?: unknown; code?: unknown; reason?: unknown; details?: { causes?: Array<{ reason?: string }> } } = {};
    try { status = JSON.parse(outcome.text) as typeof status; } catch { if (outcome.endedByServer) found.push('an error answer that is not JSON'); return found; }
    if (status.kind !== 'Status' || status.code !== outcome.status) found.push('an error answer that is not a Status of its code');
    const tooLarge = outcome.status === 504 && status.reason === 'Timeout' && status.details?.causes?.[0]?.reason === 'ResourceVersionTooLarge';
    if (outcome.status >= 500 && !tooLarge) found.push(`a ${outcome.status}`);
    if (outcome.status < 400) found.push(`a ${outcome.status} that is neither a stream nor an error`);
    return found;
  }
  if (!outcome.contentType.startsWith('application/json')) found.push(`content-type ${outcome.contentType}`);
  const lines = outcome.text.split('\n');
  const partial = lines.pop() ?? '';
  if (partial !== '' && outcome.endedByServer) found.push(`the server ended the stream inside a line: ${partial.slice(0, 100)}`);
  // A watch that starts with the current state sends it as ADDED events in key order, each with its object's own
  // resourceVersion; from there on (or from the first event of a watch from a resourceVersion) they never go back.
  const rvText = plan.rv?.kind === 'literal' ? plan.rv.text : plan.rv ? 'N' : '';
  let ordered = !(plan.initialEventsAsked || (!plan.initialEventsGiven && (rvText === '' || rvText === '0')));
  let lastRv = 0;
  for (const line of lines) {
    let event: EventLine;
    try { event = JSON.parse(line) as EventLine; } catch { found.push(`not JSON: ${line.slice(0, 100)}`); continue; }
    const type = String(event.type);
    if (!EVENT_TYPES.has(type) || typeof event.object !== 'object' || event.object === null) { found.push(`not an event: ${line.slice(0, 100)}`); continue; }
    if (type === 'ERROR') {
      if (event.object.kind !== 'Status' || typeof event.object.code !== 'number' || event.object.code < 400) found.push(`ERROR without a Status: ${line.slice(0, 100)}`);
      continue;
    }
    if (type === 'BOOKMARK' && !plan.bookmarksAsked) found.push('a BOOKMARK nobody asked for');
    const initialEventsEnd = type === 'BOOKMARK' && event.object.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true';
    if (initialEventsEnd && !plan.initialEventsAsked) found.push('an initial-events-end bookmark nobody asked for');
    if (plan.tableOrMetadata && event.object.kind === 'Table') continue;
    const rv = Number(event.object.metadata?.resourceVersion);
    if (!Number.isInteger(rv) || rv <= 0) found.push(`resourceVersion ${String(event.object.metadata?.resourceVersion)}`);
    else if (ordered && rv < lastRv) found.push(`resourceVersion went back from ${lastRv} to ${rv} (${type})`);
    else if (ordered || initialEventsEnd) lastRv = Math.max(lastRv, rv);
    if (initialEventsEnd) ordered = true;
    if (type === 'BOOKMARK') continue;
    if (plan.namespace !== undefined && event.object.metadata?.namespace !== plan.namespace) found.push(`an object of namespace ${String(event.object.metadata?.namespace)}`);
    if (plan.labelEquals !== undefined && type !== 'DELETED' && event.object.metadata?.labels?.app !== plan.labelEquals) found.push(`${type} of an object outside labelSelector app=${plan.labelEquals}`);
  }
  return found;
}

function stream(name: string, app: string): string {
  return JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, labels: { app } }, spec: { protocol: 'kafka' } });
}

before(async () => {
  ({ etcd, api } = await startEtcdAndApiServer({ extraArgs: ['--max-watchers-per-user', String(MAX_WATCHERS)] }));
});

after(() => stopApiServerAndEtcd(api, etcd));

test(`${TOTAL} fuzzed watches, clients leaving mid-stream: events or a Status, and no watcher left behind`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(replayHint(SEED));
  for (const ns of ['fw', 'fw2']) {
    for (let i = 0; i < 4; i++) assert.equal((await api.request('POST', `${GV}/namespaces/${ns}/streams`, { body: stream(`s${i}`, i % 2 ? 'b' : 'a'), headers: JSON_CT })).status, 201);
  }
  assert.equal((await api.request('POST', `${GV}/namespaces/fw/processors`, { body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'p0' }, spec: { inputs: [{ name: 's0' }] } }), headers: JSON_CT })).status, 201);
  const start = await watcherGauges();

  // A writer keeps events coming: creates, label flips (objects entering and leaving selections) and deletes.
  const random = seededRandom(SEED);
  const writerRandom = seededRandom(SEED ^ 0x5eed);
  let writing = true;
  let writes = 0;
  const writer = (async () => {
    while (writing) {
      const ns = writerRandom.pick(['fw', 'fw2']);
      const name = `w${writerRandom.int(6)}`;
      const op = writerRandom.int(3);
      if (op === 0) await api.request('POST', `${GV}/namespaces/${ns}/streams`, { body: stream(name, writerRandom.pick(['a', 'b'])), headers: JSON_CT });
      else if (op === 1) await api.request('PATCH', `${GV}/namespaces/${ns}/streams/${writerRandom.pick([name, 's1', 's2'])}`, { body: JSON.stringify({ metadata: { labels: { app: writerRandom.pick(['a', 'b']), tier: 'x' } } }), headers: { 'content-type': 'application/merge-patch+json' } });
      else await api.request('DELETE', `${GV}/namespaces/${ns}/streams/${name}`);
      writes++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const nextPlan = planGenerator(random);
  const plans = Array.from({ length: TOTAL }, () => nextPlan());
  let session: ClientHttp2Session | undefined;
  let sessionUses = 0;
  /** An HTTP/2 session serves a few watches, then is torn down under whatever is still open on it. */
  const sessionForNextWatch = (): ClientHttp2Session => {
    if (!session || session.destroyed || sessionUses >= 6) {
      if (session) tornDown.add(session);
      session?.destroy();
      session = connect(api.url, { ca: api.caPem });
      session.on('error', () => undefined);
      sessionUses = 0;
    }
    sessionUses++;
    return session;
  };
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  let index = 0;
  const worker = async (): Promise<void> => {
    while (index < plans.length) {
      const i = index++;
      const plan = plans[i];
      const query = [...plan.query];
      if (plan.rv) {
        const current = Number((await api.request('GET', `${GV}/namespaces/fw/streams?limit=1`)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion);
        const text = plan.rv.kind === 'current' ? String(current) : plan.rv.kind === 'recent' ? String(Math.max(1, current - 3)) : plan.rv.kind === 'future' ? String(current + 1000) : plan.rv.text;
        query.push(`resourceVersion=${text}`);
      }
      const path = `${plan.path}?${query.join('&')}`;
      const outcome = await (plan.http2 ? watchOverHttp2(sessionForNextWatch(), path, plan.accept, plan.leaveAfterMs) : watchOverHttp1(path, plan.accept, plan.leaveAfterMs)).done;
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      const found = problems(plan, outcome);
      if (found.length > 0 && failures.length < 15) failures.push(`#${i} ${plan.http2 ? 'h2' : 'h1'} GET ${path} [${plan.accept ?? ''}] leave=${plan.leaveAfterMs ?? 'end'} -> ${outcome.status}: ${found.join('; ')}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (session) tornDown.add(session);
  session?.destroy();
  writing = false;
  await writer;
  assert.deepEqual(failures, [], `${replayHint(SEED)}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok((statuses.get(200) ?? 0) > TOTAL / 4, `most watches started (${JSON.stringify(Object.fromEntries(statuses))})`);
  assert.ok(writes > 20, `the writer kept events coming (${writes} writes)`);

  // Every watch the clients left is gone from the server: gauges back to their start, the per-user budget whole.
  await waitFor('the watcher gauges back to their start', async () => JSON.stringify(await watcherGauges()) === JSON.stringify(start), 20_000, 200);
  const held = Array.from({ length: MAX_WATCHERS }, () => watchOverHttp1(`${GV}/namespaces/fw/streams?watch=1&timeoutSeconds=60`, undefined, undefined));
  await waitFor('every watch of the budget open', async () => (await watcherGauges()).registered === start.registered + MAX_WATCHERS, 20_000, 100);
  const beyond = await watchOverHttp1(`${GV}/namespaces/fw/streams?watch=1`, undefined, 3000).done;
  assert.equal(beyond.status, 429, `the watch beyond the budget: ${beyond.text.slice(0, 200)}`);
  for (const watch of held) watch.leave();
  for (const outcome of await Promise.all(held.map((watch) => watch.done))) assert.equal(outcome.status, 200, outcome.text.slice(0, 200));
  await waitFor('the budget watches closed', async () => JSON.stringify(await watcherGauges()) === JSON.stringify(start), 20_000, 200);
  assert.equal((await api.request('GET', '/readyz')).status, 200);
});
