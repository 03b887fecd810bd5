// The generic store against a real etcd (its storage and watch cache as the server builds them): create with
// generateName, get, paged lists pinned to one revision, optimistic concurrency, the three patch kinds, what the
// status subresource may change, scale, and delete with finalizers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdHandle } from '../../test/support/etcd';
import { EtcdStorage } from '../storage/etcd';
import { WatchCache } from '../storage/watch-cache';
import type { JsonObject } from '../storage/interface';
import { loadDefinitions } from '../../crds/loader';
import { ApiError } from '../errors';
import { parseLabelSelector } from '../selectors';
import { ResourceStore } from './store';
import type { WriteOptions } from './options';
import type { ListOptions } from './list';
import { validateDeleteOptions } from './deletion';

const G = 'streaming.tanzu.vmware.com';
const NS = 'team-a';

let etcd: EtcdHandle;
let storage: EtcdStorage;
let cache: WatchCache;
let streams: ResourceStore;
let processors: ResourceStore;

interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  managedFields?: { manager: string; operation: string }[];
}
type Obj = JsonObject & { metadata: Meta; spec: Record<string, unknown>; status?: Record<string, unknown> };

before(async () => {
  etcd = await startEtcd();
  storage = new EtcdStorage({ endpoints: [etcd.endpoint], callTimeoutMs: 5000 });
  const prefix = '/registry-store-test';
  cache = new WatchCache(storage, `${prefix}/`);
  await cache.start();
  const byKind = new Map(loadDefinitions().map((d) => [d.kind, d]));
  streams = new ResourceStore(byKind.get('Stream')!, storage, cache, prefix);
  processors = new ResourceStore(byKind.get('Processor')!, storage, cache, prefix);
});

after(async () => {
  cache?.stop();
  await storage?.close();
  await etcd?.destroy();
});

function writeOptions(overrides: Partial<WriteOptions> = {}): WriteOptions {
  return { dryRun: false, fieldManager: 'store-test', fieldValidation: 'Strict', warnings: [], ...overrides };
}

function listOptions(overrides: Partial<ListOptions> = {}): ListOptions {
  return { labelSelector: [], fieldSelector: [], limit: 0, ...overrides };
}

function stream(name: string, extra: Record<string, unknown> = {}): JsonObject {
  return { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name }, spec: { protocol: 'kafka', storage: { clusterStream: 'cs' } }, ...extra };
}

function processor(name: string): JsonObject {
  return { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name }, spec: { type: 'SRP', replicas: 1, inputs: [{ name: 'a' }], outputs: [{ name: 'b' }] } };
}

async function createStream(name: string, extra: Record<string, unknown> = {}): Promise<Obj> {
  return (await streams.create(NS, stream(name, extra), writeOptions())) as Obj;
}

/** Asserts that `run` fails with a Status of this code and reason; returns the Status. */
async function rejectsWith(run: () => Promise<unknown>, code: number, reason: string): Promise<ApiError['status']> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof ApiError, `an ApiError, not ${String(err)}`);
    assert.equal(err.status.code, code, err.message);
    assert.equal(err.status.reason, reason, err.message);
    return err.status;
  }
  assert.fail(`expected ${code} ${reason}`);
}

test('create sets identity and system fields, drops status, generates names; get answers 404 for the unknown', async () => {
  const created = await createStream('c1', { status: { observedGeneration: 9 } });
  assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.equal(created.metadata.namespace, NS);
  assert.equal(created.metadata.generation, 1);
  assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(created.status, undefined, 'a created object starts without status');
  assert.deepEqual(created.metadata.managedFields?.map((m) => [m.manager, m.operation]), [['store-test', 'Update']]);
  const got = (await streams.get(NS, 'c1')) as Obj;
  assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);
  assert.equal(got.metadata.uid, created.metadata.uid);

  await rejectsWith(() => createStream('c1'), 409, 'AlreadyExists');
  await rejectsWith(() => streams.create(NS, stream('c2', { metadata: { name: 'c2', resourceVersion: '5' } }), writeOptions()), 400, 'BadRequest');
  await rejectsWith(() => streams.get(NS, 'nope'), 404, 'NotFound');
  await rejectsWith(() => streams.get('other-namespace', 'c1'), 404, 'NotFound');

  const generated = await Promise.all([1, 2, 3].map(() => streams.create(NS, { ...stream(''), metadata: { generateName: 'gen-' } }, writeOptions()) as Promise<Obj>));
  const names = generated.map((g) => g.metadata.name);
  for (const n of names) assert.match(n, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(new Set(names).size, 3);

  const dry = (await streams.create(NS, stream('dry'), writeOptions({ dryRun: true }))) as Obj;
  assert.equal(dry.metadata.name, 'dry');
  await rejectsWith(() => streams.get(NS, 'dry'), 404, 'NotFound');
});

test('lists page with continue tokens pinned to the first page\'s revision; selectors filter', async () => {
  const ns = 'paging';
  for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) {
    await streams.create(ns, { ...stream(n), metadata: { name: n, labels: { tier: n === 'p3' ? 'gold' : 'bronze' } } }, writeOptions());
  }
  const first = await streams.list(ns, listOptions({ limit: 2 }));
  assert.deepEqual(first.items.map((i) => (i as Obj).metadata.name), ['p1', 'p2']);
  assert.ok(first.continueToken);
  // Written after the first page: a continued list does not see it.
  await streams.create(ns, stream('p0-late'), writeOptions());
  await streams.create(ns, stream('p9-late'), writeOptions());
  const second = await streams.list(ns, listOptions({ limit: 2, continueToken: first.continueToken }));
  assert.equal(second.revision, first.revision, 'every page is read at the first page\'s revision');
  assert.deepEqual(second.items.map((i) => (i as Obj).metadata.name), ['p3', 'p4']);
  const third = await streams.list(ns, listOptions({ limit: 2, continueToken: second.continueToken }));
  assert.deepEqual(third.items.map((i) => (i as Obj).metadata.name), ['p5']);
  assert.equal(third.continueToken, undefined, 'the last page has no continue token');

  const fresh = await streams.list(ns, listOptions());
  assert.deepEqual(fresh.items.map((i) => (i as Obj).metadata.name), ['p0-late', 'p1', 'p2', 'p3', 'p4', 'p5', 'p9-late']);
  const gold = await streams.list(ns, listOptions({ labelSelector: parseLabelSelector('tier=gold') }));
  assert.deepEqual(gold.items.map((i) => (i as Obj).metadata.name), ['p3']);
  const byName = await streams.list('', listOptions({ fieldSelector: [{ field: 'metadata.namespace', equals: true, value: ns }, { field: 'metadata.name', equals: false, value: 'p1' }] }));
  assert.equal(byName.items.length, 6);

  await rejectsWith(() => streams.list(ns, listOptions({ continueToken: 'not-a-token' })), 400, 'BadRequest');
  await rejectsWith(() => streams.list(ns, listOptions({ resourceVersionMatch: 'Exact' })), 422, 'Invalid');
  await rejectsWith(() => streams.list(ns, listOptions({ resourceVersion: 'x' })), 422, 'Invalid');
});

test('update: optimistic concurrency, generation moves on spec changes only, system fields kept', async () => {
  const created = await createStream('u1');
  const changed = structuredClone(created);
  changed.spec.keys = ['k'];
  changed.metadata.uid = created.metadata.uid;
  changed.metadata.creationTimestamp = '2000-01-01T00:00:00Z';
  const updated = (await streams.update(NS, 'u1', changed, '', writeOptions())) as Obj;
  assert.equal(updated.metadata.generation, 2);
  assert.equal(updated.metadata.creationTimestamp, created.metadata.creationTimestamp, 'creationTimestamp is the server\'s');
  assert.notEqual(updated.metadata.resourceVersion, created.metadata.resourceVersion);

  // The same body again, at its old resourceVersion: someone else's write came in between.
  const conflict = await rejectsWith(() => streams.update(NS, 'u1', structuredClone(changed), '', writeOptions()), 409, 'Conflict');
  assert.match(String(conflict.message), /the object has been modified; please apply your changes to the latest version and try again/);

  const labelled = structuredClone(updated);
  labelled.metadata.labels = { a: 'b' };
  const relabelled = (await streams.update(NS, 'u1', labelled, '', writeOptions())) as Obj;
  assert.equal(relabelled.metadata.generation, 2, 'a metadata change does not move generation');

  const { resourceVersion: _unversioned, ...withoutVersion } = relabelled.metadata;
  await rejectsWith(() => streams.update(NS, 'u1', { ...structuredClone(relabelled), metadata: withoutVersion }, '', writeOptions()), 422, 'Invalid');
  const otherUid = structuredClone(relabelled);
  otherUid.metadata.uid = '00000000-0000-0000-0000-000000000000';
  await rejectsWith(() => streams.update(NS, 'u1', otherUid, '', writeOptions()), 409, 'Conflict');
  await rejectsWith(() => streams.update(NS, 'missing', { ...stream('missing'), metadata: { name: 'missing', resourceVersion: '1' } }, '', writeOptions()), 404, 'NotFound');
  await rejectsWith(() => streams.update(NS, 'u1', { ...stream('other'), metadata: { name: 'other', resourceVersion: relabelled.metadata.resourceVersion } }, '', writeOptions()), 400, 'BadRequest');
});

test('patch: JSON patch, merge patch, server-side apply with field-manager conflicts', async () => {
  await createStream('pt1');
  const merged = (await streams.patch(NS, 'pt1', 'merge', { metadata: { labels: { m: '1' } }, spec: { keys: ['a'] } }, '', writeOptions(), false)) as Obj;
  assert.deepEqual(merged.metadata.labels, { m: '1' });
  assert.deepEqual(merged.spec.keys, ['a']);
  const removed = (await streams.patch(NS, 'pt1', 'merge', { metadata: { labels: null } }, '', writeOptions(), false)) as Obj;
  assert.equal(removed.metadata.labels, undefined, 'null removes in a merge patch');

  const jsonPatched = (await streams.patch(NS, 'pt1', 'json', [{ op: 'add', path: '/spec/keys/-', value: 'b' }], '', writeOptions(), false)) as Obj;
  assert.deepEqual(jsonPatched.spec.keys, ['a', 'b']);
  await rejectsWith(() => streams.patch(NS, 'pt1', 'json', [{ op: 'test', path: '/spec/keys/0', value: 'zzz' }], '', writeOptions(), false), 422, 'Invalid');
  await rejectsWith(() => streams.patch(NS, 'pt1', 'json', { op: 'add' }, '', writeOptions(), false), 400, 'BadRequest');
  await rejectsWith(() => streams.patch(NS, 'pt1', 'merge', { metadata: { name: 'renamed' } }, '', writeOptions(), false), 400, 'BadRequest');
  await rejectsWith(() => streams.patch(NS, 'pt1', 'merge', { spec: { protocol: 'carrier-pigeon' } }, '', writeOptions(), false), 422, 'Invalid');
  await rejectsWith(() => streams.patch(NS, 'pt1', 'merge', { spec: { unknownField: 1 } }, '', writeOptions(), false), 400, 'BadRequest');

  // Apply: creates when absent, then a second manager setting the same field conflicts unless it forces.
  const config = { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: 'ap1' }, spec: { protocol: 'kafka', storage: { clusterStream: 'cs' }, keys: ['x'] } };
  const applied = (await streams.patch(NS, 'ap1', 'apply', config, '', writeOptions({ fieldManager: 'alice' }), false)) as Obj;
  assert.deepEqual(applied.spec.keys, ['x']);
  assert.deepEqual(applied.metadata.managedFields?.map((m) => [m.manager, m.operation]), [['alice', 'Apply']]);
  const bobs = { ...config, spec: { ...config.spec, keys: ['y'] } };
  const refused = await rejectsWith(() => streams.patch(NS, 'ap1', 'apply', bobs, '', writeOptions({ fieldManager: 'bob' }), false), 409, 'Conflict');
  assert.ok(refused.details?.causes?.some((c) => c.reason === 'FieldManagerConflict' && c.field === '.spec.keys' && /alice/.test(String(c.message))), JSON.stringify(refused.details));
  const forced = (await streams.patch(NS, 'ap1', 'apply', bobs, '', writeOptions({ fieldManager: 'bob' }), true)) as Obj;
  assert.deepEqual(forced.spec.keys, ['y']);
  await rejectsWith(() => streams.patch(NS, 'ap1', 'apply', { metadata: { name: 'ap1' } }, '', writeOptions({ fieldManager: 'bob' }), false), 400, 'BadRequest');
});

test('status subresource: status writes change status only, main writes never change status', async () => {
  const created = await createStream('st1');
  const withStatus = { ...structuredClone(created), status: { observedGeneration: 1 }, spec: { ...created.spec, keys: ['ignored'] } };
  const statusWritten = (await streams.update(NS, 'st1', withStatus, 'status', writeOptions())) as Obj;
  assert.deepEqual(statusWritten.status, { observedGeneration: 1 });
  assert.equal(statusWritten.spec.keys, undefined, 'a /status write ignores spec');
  assert.equal(statusWritten.metadata.generation, 1, 'status never moves generation');
  assert.ok(statusWritten.metadata.managedFields?.some((m) => m.manager === 'store-test' && (m as { subresource?: string }).subresource === 'status'));

  const mainWrite = { ...structuredClone(statusWritten), status: { observedGeneration: 42 } };
  const mainWritten = (await streams.update(NS, 'st1', mainWrite, '', writeOptions())) as Obj;
  assert.deepEqual(mainWritten.status, { observedGeneration: 1 }, 'a main write keeps the stored status');
  const patchedMain = (await streams.patch(NS, 'st1', 'merge', { status: { observedGeneration: 7 } }, '', writeOptions(), false)) as Obj;
  assert.deepEqual(patchedMain.status, { observedGeneration: 1 });
  const patchedStatus = (await streams.patch(NS, 'st1', 'merge', { status: { observedGeneration: 7 }, metadata: { labels: { x: 'y' } } }, 'status', writeOptions(), false)) as Obj;
  assert.deepEqual(patchedStatus.status, { observedGeneration: 7 });
  assert.equal(patchedStatus.metadata.labels, undefined, 'a /status patch ignores metadata');
  await rejectsWith(() => streams.patch(NS, 'absent', 'apply', { ...stream('absent'), status: {} }, 'status', writeOptions(), false), 404, 'NotFound');
});

test('scale: the Scale view, writes through the object, validation; kinds without scale answer 404', async () => {
  await processors.create(NS, processor('sc1'), writeOptions());
  const scale = await processors.scale.get(NS, 'sc1') as { kind: string; apiVersion: string; spec: { replicas: number }; metadata: { resourceVersion: string } };
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.apiVersion, 'autoscaling/v1');
  assert.equal(scale.spec.replicas, 1);
  const scaled = await processors.scale.update(NS, 'sc1', () => ({ spec: { replicas: 4 } }), writeOptions()) as { spec: { replicas: number } };
  assert.equal(scaled.spec.replicas, 4);
  const object = (await processors.get(NS, 'sc1')) as Obj;
  assert.equal(object.spec.replicas, 4);
  assert.equal(object.metadata.generation, 2);
  await rejectsWith(() => processors.scale.update(NS, 'sc1', () => ({ spec: { replicas: -1 } }), writeOptions()), 422, 'Invalid');
  await rejectsWith(() => processors.scale.update(NS, 'sc1', () => ({ spec: {} }), writeOptions()), 422, 'Invalid');
  // A Scale carrying an old resourceVersion is a stale write.
  await rejectsWith(() => processors.scale.update(NS, 'sc1', () => ({ metadata: { resourceVersion: scale.metadata.resourceVersion }, spec: { replicas: 2 } }), writeOptions()), 409, 'Conflict');
  await rejectsWith(() => processors.scale.get(NS, 'missing'), 404, 'NotFound');
  await createStream('noscale');
  await rejectsWith(() => streams.scale.get(NS, 'noscale'), 404, 'NotFound');
});

test('delete: at once without finalizers; with finalizers marked, no new finalizers, gone with the last one', async () => {
  const plain = await createStream('d1');
  const gone = (await streams.delete(NS, 'd1', { dryRun: false })) as Obj;
  assert.equal(gone.metadata.uid, plain.metadata.uid);
  await rejectsWith(() => streams.get(NS, 'd1'), 404, 'NotFound');
  await rejectsWith(() => streams.delete(NS, 'd1', { dryRun: false }), 404, 'NotFound');

  await createStream('d2', { metadata: { name: 'd2', finalizers: ['example.com/hold'] } });
  const marked = (await streams.delete(NS, 'd2', { dryRun: false })) as Obj;
  assert.ok(marked.metadata.deletionTimestamp, 'deletionTimestamp set');
  assert.deepEqual(marked.metadata.finalizers, ['example.com/hold']);
  const still = (await streams.get(NS, 'd2')) as Obj;
  assert.equal(still.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
  const again = (await streams.delete(NS, 'd2', { dryRun: false })) as Obj;
  assert.equal(again.metadata.resourceVersion, marked.metadata.resourceVersion, 'a second delete changes nothing');
  const added = await rejectsWith(() => streams.patch(NS, 'd2', 'merge', { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, '', writeOptions(), false), 422, 'Invalid');
  assert.match(String(added.message), /no new finalizers can be added if the object is being deleted/);
  await streams.patch(NS, 'd2', 'merge', { metadata: { finalizers: null } }, '', writeOptions(), false);
  await rejectsWith(() => streams.get(NS, 'd2'), 404, 'NotFound');

  const guarded = await createStream('d3');
  await rejectsWith(() => streams.delete(NS, 'd3', { dryRun: false, preconditions: { uid: 'someone-else' } }), 409, 'Conflict');
  await rejectsWith(() => streams.delete(NS, 'd3', { dryRun: false, preconditions: { resourceVersion: '1' } }), 409, 'Conflict');
  await streams.delete(NS, 'd3', { dryRun: true });
  assert.equal(((await streams.get(NS, 'd3')) as Obj).metadata.uid, guarded.metadata.uid, 'a dry-run delete deletes nothing');
  await streams.delete(NS, 'd3', { dryRun: false, preconditions: { uid: guarded.metadata.uid } });
  await rejectsWith(() => streams.get(NS, 'd3'), 404, 'NotFound');

  const ns = 'collection';
  for (const n of ['x1', 'x2']) await streams.create(ns, stream(n), writeOptions());
  const deleted = await streams.deleteCollection(ns, listOptions(), { dryRun: false });
  assert.equal(deleted.items.length, 2);
  assert.equal((await streams.list(ns, listOptions())).items.length, 0);
});

test('delete propagation: the garbage collector\'s finalizers as kube sets them; DeleteOptions validation', async () => {
  const fg = (await streams.delete(NS, (await createStream('pr-fg')).metadata.name, { dryRun: false, propagationPolicy: 'Foreground' })) as Obj;
  assert.deepEqual(fg.metadata.finalizers, ['foregroundDeletion']);
  assert.ok(fg.metadata.deletionTimestamp);
  assert.equal(fg.metadata.generation, 2, 'marking deleted moves generation once');
  const again = (await streams.delete(NS, 'pr-fg', { dryRun: false })) as Obj;
  assert.equal(again.metadata.resourceVersion, fg.metadata.resourceVersion, 'a second delete without options keeps what the first asked');
  const switched = (await streams.delete(NS, 'pr-fg', { dryRun: false, propagationPolicy: 'Orphan' })) as Obj;
  assert.deepEqual(switched.metadata.finalizers, ['orphan'], 'an explicit policy replaces the other collector finalizer');
  assert.equal(switched.metadata.deletionTimestamp, fg.metadata.deletionTimestamp);
  assert.equal(switched.metadata.generation, 2);
  await streams.delete(NS, 'pr-fg', { dryRun: false, propagationPolicy: 'Background' });
  await rejectsWith(() => streams.get(NS, 'pr-fg'), 404, 'NotFound');

  await createStream('pr-or', { metadata: { name: 'pr-or', finalizers: ['example.com/controller'] } });
  const orphaned = (await streams.delete(NS, 'pr-or', { dryRun: false, orphanDependents: true })) as Obj;
  assert.deepEqual(orphaned.metadata.finalizers, ['example.com/controller', 'orphan']);
  const background = (await streams.delete(NS, 'pr-or', { dryRun: false, orphanDependents: false })) as Obj;
  assert.deepEqual(background.metadata.finalizers, ['example.com/controller'], 'a controller\'s finalizer stays');

  const dry = (await streams.delete(NS, (await createStream('pr-dry')).metadata.name, { dryRun: true, propagationPolicy: 'Foreground' })) as Obj;
  assert.deepEqual(dry.metadata.finalizers, ['foregroundDeletion']);
  assert.equal(((await streams.get(NS, 'pr-dry')) as Obj).metadata.finalizers, undefined, 'a dry run changes nothing');

  const both = await rejectsWith(() => streams.patch(NS, 'pr-dry', 'merge', { metadata: { finalizers: ['orphan', 'foregroundDeletion'] } }, '', writeOptions(), false), 422, 'Invalid');
  assert.match(String(both.message), /finalizer orphan and foregroundDeletion cannot be both set/);

  assert.deepEqual(validateDeleteOptions({ propagationPolicy: 'Foreground', gracePeriodSeconds: 0 }), []);
  assert.deepEqual(validateDeleteOptions({ orphanDependents: true, gracePeriodSeconds: 30 }), []);
  assert.deepEqual(validateDeleteOptions({ propagationPolicy: 'Sideways' }).map((i) => [i.field, i.type]), [['propagationPolicy', 'FieldValueNotSupported']]);
  assert.deepEqual(validateDeleteOptions({ propagationPolicy: 'Orphan', orphanDependents: true }).map((i) => [i.field, i.type]), [['propagationPolicy', 'FieldValueInvalid']]);
  assert.deepEqual(validateDeleteOptions({ gracePeriodSeconds: -1 }).map((i) => [i.field, i.type]), [['gracePeriodSeconds', 'FieldValueInvalid']]);
});
