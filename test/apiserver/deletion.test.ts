// Deletion as Kubernetes does it, end to end against `sr apiserver` on a real etcd, with kubectl 1.32 where users
// would use it (`kubectl delete --cascade=foreground|orphan|background` sends DeleteOptions.propagationPolicy):
// the API server's garbage collector carries out each policy for ownerReferences between our kinds, across a
// restart of the server, and foreground deletion ends through cycles of blocking owner references (as kube's
// collector breaks them); DeleteOptions are validated as kube validates them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EtcdHandle } from '../support/etcd';
import { startEtcdAndApiServer, stopApiServerAndEtcd, type ApiServerHandle, type ApiResponse } from '../support/apiserver-server';
import { kubectlFor, type Kubectl } from '../support/apiserver-kubectl';
import { waitFor } from '../support/ports';

let etcd: EtcdHandle;
let api: ApiServerHandle;
let kubectl: Kubectl;

const G = 'streaming.tanzu.vmware.com';
const NS_PATH = `/apis/${G}/v1alpha1/namespaces/default`;
const JSON_CT = { 'content-type': 'application/json' };

interface Meta {
  name: string;
  uid: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: { kind: string; name: string; uid: string }[];
}
interface Obj { metadata: Meta }
interface StatusBody { kind: string; code: number; reason: string; message: string; details?: { causes?: { field: string; reason: string }[] } }

before(async () => {
  ({ etcd, api } = await startEtcdAndApiServer());
  kubectl = kubectlFor(api.kubeconfigPath);
});

after(async () => {
  if (process.env.SR_DEBUG_LOGS) process.stderr.write(api?.logs() ?? '');
  kubectl?.cleanup();
  await stopApiServerAndEtcd(api, etcd);
});

function processorYaml(name: string): string {
  return `apiVersion: ${G}/v1alpha1
kind: Processor
metadata: { name: ${name} }
spec: { type: SRP, replicas: 1, inputs: [{ name: in-${name} }], outputs: [{ name: out-${name} }] }
`;
}

/** A Stream owned by `owner` (as a controller would create it), optionally held by a finalizer of "its controller". */
function ownedStreamYaml(name: string, owner: Obj, options: { block?: boolean; finalizer?: string } = {}): string {
  return `apiVersion: ${G}/v1alpha1
kind: Stream
metadata:
  name: ${name}
  ownerReferences:
    - { apiVersion: ${G}/v1alpha1, kind: Processor, name: ${owner.metadata.name}, uid: ${owner.metadata.uid}, controller: true, blockOwnerDeletion: ${options.block ?? true} }
${options.finalizer ? `  finalizers: [${options.finalizer}]\n` : ''}spec: { protocol: kafka, storage: { clusterStream: cs-${name} } }
`;
}

async function getJson(resource: string, name: string): Promise<Obj | undefined> {
  const r = await kubectl.run(['get', resource, name, '-o', 'json']);
  if (r.code !== 0) {
    assert.match(r.stderr, /NotFound/, r.stderr);
    return undefined;
  }
  return JSON.parse(r.stdout) as Obj;
}

async function createProcessor(name: string): Promise<Obj> {
  await kubectl.ok(['apply', '-f', '-'], { input: processorYaml(name) });
  return (await getJson('srp', name))!;
}

async function gone(resource: string, name: string): Promise<void> {
  await waitFor(`${resource}/${name} gone`, async () => (await getJson(resource, name)) === undefined, 20_000, 100);
}

function status(res: ApiResponse, code: number, reason: string): StatusBody {
  assert.equal(res.status, code, res.body);
  const body = res.json<StatusBody>();
  assert.equal(body.kind, 'Status');
  assert.equal(body.reason, reason);
  return body;
}

describe('cascading deletion with kubectl', () => {
  test('--cascade=foreground: the Processor stays, deleting, until its Stream is gone — across an API server restart', async () => {
    const owner = await createProcessor('fg');
    await kubectl.ok(['apply', '-f', '-'], { input: ownedStreamYaml('fg-out', owner, { finalizer: 'example.com/held' }) });
    await kubectl.ok(['delete', 'srp', 'fg', '--cascade=foreground', '--wait=false']);
    const deleting = await getJson('srp', 'fg');
    assert.ok(deleting?.metadata.deletionTimestamp, 'the owner is marked deleted, not removed');
    assert.deepEqual(deleting?.metadata.finalizers, ['foregroundDeletion']);
    // The collector deletes the Stream; its own finalizer (a controller's) holds it, and so the owner waits.
    await waitFor('the Stream marked deleted', async () => Boolean((await getJson('srs', 'fg-out'))?.metadata.deletionTimestamp), 20_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok((await getJson('srp', 'fg'))?.metadata.deletionTimestamp, 'still waiting for its blocking dependent');

    await api.restart();
    await kubectl.ok(['patch', 'srs', 'fg-out', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone('srs', 'fg-out');
    await gone('srp', 'fg');
  });

  test('--cascade=orphan: the Stream stays, its ownerReference removed', async () => {
    const owner = await createProcessor('or');
    await kubectl.ok(['apply', '-f', '-'], { input: ownedStreamYaml('or-out', owner) });
    await kubectl.ok(['delete', 'srp', 'or', '--cascade=orphan']);
    await gone('srp', 'or');
    const orphan = await getJson('srs', 'or-out');
    assert.ok(orphan, 'the dependent is kept');
    assert.equal(orphan.metadata.ownerReferences, undefined);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(await getJson('srs', 'or-out'), 'and is not collected later');
  });

  test('--cascade=background (the default): the Processor goes at once, the Stream after it', async () => {
    const owner = await createProcessor('bg');
    await kubectl.ok(['apply', '-f', '-'], { input: ownedStreamYaml('bg-out', owner, { block: false }) });
    const out = await kubectl.ok(['delete', 'srp', 'bg']);
    assert.match(out, /processor\.streaming\.tanzu\.vmware\.com "bg" deleted/);
    assert.equal(await getJson('srp', 'bg'), undefined);
    await gone('srs', 'bg-out');
  });
});

describe('--cascade=foreground through cycles of blocking owner references', () => {
  interface Member { resource: 'srp' | 'srs'; kind: 'Processor' | 'Stream'; name: string }

  async function createMember(member: Member): Promise<Obj> {
    if (member.kind === 'Processor') return createProcessor(member.name);
    const body = JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: member.name }, spec: { protocol: 'kafka', storage: { clusterStream: `cs-${member.name}` } } });
    const res = await api.request('POST', `${NS_PATH}/streams`, { body, headers: JSON_CT });
    assert.equal(res.status, 201, res.body);
    return res.json<Obj>();
  }

  /** Each member owns the next (the last owns the first) with blocking references, as controllers write them. */
  async function createCycle(members: Member[]): Promise<void> {
    const objects = await Promise.all(members.map(createMember));
    for (let i = 0; i < members.length; i++) {
      const owner = objects[i];
      const dependent = members[(i + 1) % members.length];
      const ref = { apiVersion: `${G}/v1alpha1`, kind: members[i].kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
      await kubectl.ok(['patch', dependent.resource, dependent.name, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [ref] } })]);
    }
  }

  /** kubectl waits for the object to be gone; on today's kube rules it is, so a hang is a failure, not a stall. */
  async function deleteInForeground(member: Member): Promise<void> {
    const r = await kubectl.run(['delete', member.resource, member.name, '--cascade=foreground', '--timeout=30s'], { timeoutMs: 45_000 });
    assert.equal(r.code, 0, `kubectl delete --cascade=foreground did not finish: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`"${member.name}" deleted`));
  }

  test('a Processor and a Stream owning each other: both are deleted', async () => {
    const members: Member[] = [{ resource: 'srp', kind: 'Processor', name: 'cy2-p' }, { resource: 'srs', kind: 'Stream', name: 'cy2-s' }];
    await createCycle(members);
    await deleteInForeground(members[0]);
    for (const m of members) await gone(m.resource, m.name);
  });

  test('a cycle of three: all three are deleted', async () => {
    const members: Member[] = [
      { resource: 'srp', kind: 'Processor', name: 'cy3-a' },
      { resource: 'srs', kind: 'Stream', name: 'cy3-b' },
      { resource: 'srp', kind: 'Processor', name: 'cy3-c' },
    ];
    await createCycle(members);
    await deleteInForeground(members[0]);
    for (const m of members) await gone(m.resource, m.name);
  });

  test('an object owning itself is deleted', async () => {
    const self: Member = { resource: 'srp', kind: 'Processor', name: 'cy-self' };
    await createCycle([self]);
    const stored = await getJson('srp', self.name);
    assert.equal(stored?.metadata.ownerReferences?.[0]?.uid, stored?.metadata.uid, 'it names itself as its owner');
    await deleteInForeground(self);
    await gone(self.resource, self.name);
  });

  test('both members of a cycle deleted in the foreground at once: both are deleted', async () => {
    const members: Member[] = [{ resource: 'srp', kind: 'Processor', name: 'cy2x-a' }, { resource: 'srp', kind: 'Processor', name: 'cy2x-b' }];
    await createCycle(members);
    const r = await kubectl.run(['delete', 'srp', 'cy2x-a', 'cy2x-b', '--cascade=foreground', '--timeout=30s'], { timeoutMs: 45_000 });
    assert.equal(r.code, 0, `kubectl delete --cascade=foreground did not finish: ${r.stderr}`);
    for (const m of members) await gone(m.resource, m.name);
  });
});

describe('DeleteOptions on the wire', () => {
  async function stream(name: string, finalizers: string[] = []): Promise<void> {
    const body = JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, finalizers }, spec: { protocol: 'kafka', storage: { clusterStream: 'cs' } } });
    const res = await api.request('POST', `${NS_PATH}/streams`, { body, headers: JSON_CT });
    assert.equal(res.status, 201, res.body);
  }

  test('bad values are 422 Invalid with the field, bad types 400, as kube answers', async () => {
    await stream('opts');
    const del = (body: unknown, query = ''): Promise<ApiResponse> => api.request('DELETE', `${NS_PATH}/streams/opts${query}`, { body: JSON.stringify(body), headers: JSON_CT });
    const policy = status(await del({ propagationPolicy: 'Sideways' }), 422, 'Invalid');
    assert.deepEqual(policy.details?.causes?.map((c) => [c.field, c.reason]), [['propagationPolicy', 'FieldValueNotSupported']]);
    assert.match(policy.message, /^DeleteOptions\.meta\.k8s\.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"/);
    const both = status(await del({ propagationPolicy: 'Orphan', orphanDependents: true }), 422, 'Invalid');
    assert.match(both.message, /orphanDependents and deletionPropagation cannot be both set/);
    const grace = status(await del({ gracePeriodSeconds: -1 }), 422, 'Invalid');
    assert.deepEqual(grace.details?.causes?.map((c) => c.field), ['gracePeriodSeconds']);
    status(await del({ gracePeriodSeconds: 'soon' }), 400, 'BadRequest');
    status(await del({ gracePeriodSeconds: 1.5 }), 400, 'BadRequest');
    status(await del({ orphanDependents: 'yes' }), 400, 'BadRequest');
    status(await api.request('DELETE', `${NS_PATH}/streams/opts?gracePeriodSeconds=soon`), 400, 'BadRequest');
    status(await api.request('DELETE', `${NS_PATH}/streams/opts?propagationPolicy=Sideways`), 422, 'Invalid');
    const collection = status(await api.request('DELETE', `${NS_PATH}/streams`, { body: JSON.stringify({ propagationPolicy: 'Sideways' }), headers: JSON_CT }), 422, 'Invalid');
    assert.deepEqual(collection.details?.causes?.map((c) => c.field), ['propagationPolicy']);
    assert.ok((await getJson('srs', 'opts')), 'nothing was deleted by a refused request');
    // A grace period is accepted (our kinds have no graceful deletion): deleted at once.
    const ok = await del({ gracePeriodSeconds: 30, propagationPolicy: 'Background' });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(await getJson('srs', 'opts'), undefined);
  });

  test('query parameters without a body; orphanDependents=false on a held object answers 202', async () => {
    await stream('q-fg');
    const fg = await api.request('DELETE', `${NS_PATH}/streams/q-fg?propagationPolicy=Foreground`);
    assert.equal(fg.status, 200, fg.body);
    // Without dependents the collector removes its finalizer at once; the answer shows the mark it left.
    assert.deepEqual(fg.json<Obj>().metadata.finalizers, ['foregroundDeletion']);
    await gone('srs', 'q-fg');

    await stream('q-held', ['example.com/held']);
    const accepted = await api.request('DELETE', `${NS_PATH}/streams/q-held?orphanDependents=false`);
    assert.equal(accepted.status, 202, accepted.body);
    assert.deepEqual(accepted.json<Obj>().metadata.finalizers, ['example.com/held']);
    const orphan = await api.request('DELETE', `${NS_PATH}/streams/q-held`, { body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', orphanDependents: true }), headers: JSON_CT });
    assert.equal(orphan.status, 200, orphan.body);
    assert.deepEqual(orphan.json<Obj>().metadata.finalizers, ['example.com/held', 'orphan']);
    await waitFor('the collector removed its orphan finalizer', async () => (await getJson('srs', 'q-held'))?.metadata.finalizers?.join() === 'example.com/held', 20_000, 100);
    await kubectl.ok(['patch', 'srs', 'q-held', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone('srs', 'q-held');
  });
});
