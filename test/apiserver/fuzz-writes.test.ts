// Concurrent valid writes: several clients create, update (PUT), patch (merge, JSON, server-side apply) and delete
// the same few objects at once, mostly with resourceVersion preconditions taken from what they last saw, so they
// race and conflict. Every answer must be 2xx, 409 or 404 (never a 5xx), and the outcome must be what the
// successful writes imply: no two conditional writes won from the same resourceVersion (no lost update), every
// write has a resourceVersion of its own, the final list holds, per name, exactly the last successful write (or
// nothing when that version was deleted), and a watch from the start saw each successful write once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import type { EtcdHandle } from '../support/etcd';
import { startEtcdAndApiServer, stopApiServerAndEtcd, type ApiServerHandle } from '../support/apiserver-server';
import { waitFor } from '../support/ports';
import { fuzzSeed, replayHint, seededRandom, sendFuzzed, type FuzzAnswer, type Random } from '../support/fuzz';

const G = 'streaming.tanzu.vmware.com';
const NS = `/apis/${G}/v1alpha1/namespaces/fwr`;
const CLIENTS = 6;
const OPS_PER_CLIENT = 60;
const NAMES = ['n0', 'n1', 'n2', 'n3'];
const SEED = fuzzSeed();

let etcd: EtcdHandle;
let api: ApiServerHandle;

interface StreamObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion: string; uid: string; annotations?: Record<string, string>; [key: string]: unknown };
  spec: Record<string, unknown>;
  [key: string]: unknown;
}

type Op = 'get' | 'create' | 'update' | 'merge-patch' | 'json-patch' | 'apply' | 'patch-unconditional' | 'delete';
const OPS: Op[] = ['get', 'create', 'create', 'update', 'update', 'merge-patch', 'merge-patch', 'json-patch', 'apply', 'patch-unconditional', 'delete', 'delete'];

interface Attempt {
  client: number;
  op: Op;
  name: string;
  /** The resourceVersion the write was conditional on. */
  precondition?: string;
  status: number;
  body: string;
  /** The object a successful write answered with. */
  result?: StreamObject;
}

function send(agent: Agent, method: string, path: string, body?: string, contentType = 'application/json'): Promise<FuzzAnswer> {
  const payload = body === undefined ? undefined : Buffer.from(body);
  return sendFuzzed(new URL(path, api.url), {
    method, agent,
    headers: { authorization: `Bearer ${api.token}`, ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}) },
  }, payload);
}

/** One client: its own connection pool, its own view of each name, its own seeded choices. */
async function runClient(client: number, random: Random, attempts: Attempt[]): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: api.caPem });
  const seen = new Map<string, StreamObject>();
  try {
    for (let j = 0; j < OPS_PER_CLIENT; j++) {
      const op = random.pick(OPS);
      const name = random.pick(NAMES);
      // A unique mark per write, so no write is a no-op and every successful one is a version of its own.
      const tag = `c${client}-${j}`;
      const partitions = random.between(1, 12);
      const view = seen.get(name);
      let precondition: string | undefined;
      let answer: { status: number; body: string };
      switch (op) {
        case 'get':
          answer = await send(agent, 'GET', `${NS}/streams/${name}`);
          break;
        case 'create':
          answer = await send(agent, 'POST', `${NS}/streams`, JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, annotations: { tag } }, spec: { protocol: 'kafka', partitionCount: partitions } }));
          break;
        case 'update': {
          if (!view) continue;
          precondition = view.metadata.resourceVersion;
          const next = { ...view, metadata: { ...view.metadata, annotations: { ...view.metadata.annotations, tag } }, spec: { ...view.spec, partitionCount: partitions } };
          answer = await send(agent, 'PUT', `${NS}/streams/${name}`, JSON.stringify(next));
          break;
        }
        case 'merge-patch':
          if (!view) continue;
          precondition = view.metadata.resourceVersion;
          answer = await send(agent, 'PATCH', `${NS}/streams/${name}`, JSON.stringify({ metadata: { resourceVersion: precondition, annotations: { tag } }, spec: { partitionCount: partitions } }), 'application/merge-patch+json');
          break;
        case 'json-patch':
          if (!view) continue;
          precondition = view.metadata.resourceVersion;
          answer = await send(agent, 'PATCH', `${NS}/streams/${name}`, JSON.stringify([
            { op: 'replace', path: '/metadata/resourceVersion', value: precondition },
            { op: 'add', path: '/metadata/annotations', value: { tag } },
            { op: 'add', path: '/spec/partitionCount', value: partitions },
          ]), 'application/json-patch+json');
          break;
        case 'apply':
          // Server-side apply by this client's field manager, forced: unconditional, as kubectl apply --server-side.
          answer = await send(agent, 'PATCH', `${NS}/streams/${name}?fieldManager=client-${client}&force=true`, JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, annotations: { tag } }, spec: { protocol: 'kafka', partitionCount: partitions } }), 'application/apply-patch+yaml');
          break;
        case 'patch-unconditional':
          answer = await send(agent, 'PATCH', `${NS}/streams/${name}`, JSON.stringify({ metadata: { annotations: { tag } } }), 'application/merge-patch+json');
          break;
        case 'delete':
          if (!view) continue;
          precondition = view.metadata.resourceVersion;
          answer = await send(agent, 'DELETE', `${NS}/streams/${name}`, JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: precondition } }));
          break;
      }
      const attempt: Attempt = { client, op, name, precondition, status: answer.status, body: answer.body };
      if (answer.status >= 200 && answer.status < 300) {
        const object = JSON.parse(answer.body) as StreamObject;
        if (op === 'delete') seen.delete(name);
        else seen.set(name, object);
        if (op !== 'get') attempt.result = object;
      } else if (answer.status === 404) {
        seen.delete(name);
      } else if (answer.status === 409 && random.chance(0.7)) {
        // Lost a race: usually look again before the next try, as a controller would.
        const fresh = await send(agent, 'GET', `${NS}/streams/${name}`);
        if (fresh.status === 200) seen.set(name, JSON.parse(fresh.body) as StreamObject); else seen.delete(name);
      }
      attempts.push(attempt);
    }
  } finally {
    agent.destroy();
  }
}

before(async () => {
  ({ etcd, api } = await startEtcdAndApiServer());
});

after(() => stopApiServerAndEtcd(api, etcd));

test(`${CLIENTS} clients racing on ${NAMES.length} objects: only 2xx, 409 or 404, and the final state is the last successful write`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(replayHint(SEED));
  const startRv = (await api.request('GET', `${NS}/streams`)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
  // A watch from the start records every change the writes make.
  const events: Array<{ type: string; name: string; rv: number }> = [];
  const watchAgent = new Agent({ ca: api.caPem });
  const watch = httpsRequest(new URL(`${NS}/streams?watch=1&resourceVersion=${startRv}`, api.url), { agent: watchAgent, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
    let buffer = '';
    res.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const event = JSON.parse(buffer.slice(0, nl)) as { type: string; object: StreamObject };
        buffer = buffer.slice(nl + 1);
        events.push({ type: event.type, name: event.object.metadata.name, rv: Number(event.object.metadata.resourceVersion) });
      }
    });
    res.on('error', () => undefined);
  });
  watch.on('error', () => undefined);
  watch.end();

  const attempts: Attempt[] = [];
  await Promise.all(Array.from({ length: CLIENTS }, (_, client) => runClient(client, seededRandom((SEED + client * 0x9e3779b9) >>> 0), attempts)));
  const codes: Record<string, number> = {};
  for (const a of attempts) codes[`${a.op} ${a.status}`] = (codes[`${a.op} ${a.status}`] ?? 0) + 1;
  t.diagnostic(`answers: ${JSON.stringify(codes)}`);
  const context = `${replayHint(SEED)}; answers ${JSON.stringify(codes)}`;

  const unexpected = attempts.filter((a) => ![200, 201, 404, 409].includes(a.status)).slice(0, 10).map((a) => `${a.op} ${a.name} -> ${a.status} ${a.body.slice(0, 300)}`);
  assert.deepEqual(unexpected, [], context);
  assert.ok(attempts.filter((a) => a.result).length > CLIENTS * 5, `enough writes succeeded: ${context}`);
  assert.ok(attempts.some((a) => a.status === 409), `the clients did race: ${context}`);

  // Every successful write is a version of its own (a delete's answer carries its deletion's, as kube's), newer than
  // the one it was conditional on.
  const writes = attempts.filter((a): a is Attempt & { result: StreamObject } => a.result !== undefined);
  const versions = writes.map((a) => a.result.metadata.resourceVersion);
  assert.equal(new Set(versions).size, versions.length, `every successful write has a resourceVersion of its own: ${context}`);
  for (const a of writes) {
    if (a.precondition !== undefined) assert.ok(Number(a.result.metadata.resourceVersion) > Number(a.precondition), `${a.op} ${a.name}: ${a.result.metadata.resourceVersion} after ${a.precondition}`);
  }
  // No lost update: per name, each version is the base of at most one successful conditional write, and that base
  // was the answer of a successful write.
  for (const name of NAMES) {
    const ofName = writes.filter((a) => a.name === name);
    const produced = new Set(ofName.filter((a) => a.op !== 'delete').map((a) => a.result.metadata.resourceVersion));
    const bases = ofName.filter((a) => a.precondition !== undefined).map((a) => a.precondition as string);
    assert.equal(new Set(bases).size, bases.length, `${name}: two conditional writes won from the same version (${bases.join(',')}): ${context}`);
    for (const base of bases) assert.ok(produced.has(base), `${name}: a write won from version ${base}, which no successful write produced: ${context}`);
  }

  // The final state is, per name, the last successful write — or nothing when a delete took exactly that version.
  const list = (await api.request('GET', `${NS}/streams`)).json<{ items: StreamObject[] }>();
  for (const name of NAMES) {
    const ofName = writes.filter((a) => a.name === name);
    const last = ofName.filter((a) => a.op !== 'delete').sort((x, y) => Number(y.result.metadata.resourceVersion) - Number(x.result.metadata.resourceVersion))[0];
    const deleted = last !== undefined && ofName.some((a) => a.op === 'delete' && a.precondition === last.result.metadata.resourceVersion);
    const stored = list.items.find((item) => item.metadata.name === name);
    if (!last || deleted) assert.equal(stored, undefined, `${name} should be gone: ${context}`);
    else assert.deepEqual(stored, last.result, `${name} is its last successful write (${last.op} by client ${last.client}): ${context}`);
  }

  // The watch saw each successful write once, at the version it answered with: ADDED for a create, DELETED for a
  // delete, MODIFIED for the rest.
  const expected = writes.map((a) => ({ type: a.op === 'delete' ? 'DELETED' : a.status === 201 ? 'ADDED' : 'MODIFIED', name: a.name, rv: Number(a.result.metadata.resourceVersion) }));
  const highest = Math.max(...expected.map((e) => e.rv));
  await waitFor('the watch to see every write', () => events.some((e) => e.rv >= highest), 20_000, 100);
  await new Promise((r) => setTimeout(r, 300));
  watch.destroy();
  watchAgent.destroy();
  const byRv = (x: { rv: number }, y: { rv: number }): number => x.rv - y.rv;
  assert.deepEqual([...events].sort(byRv), expected.sort(byRv), `the watch saw exactly the successful writes: ${context}`);
});
