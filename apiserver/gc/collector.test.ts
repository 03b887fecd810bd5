// The garbage collector against a real etcd, through the same stores and watch cache the server uses: background,
// foreground and orphan deletion carried out, controllers' finalizers respected, work left undone while it was
// stopped finished by the next one (a restart), a foreground cycle stuck meanwhile broken, invalid owner references
// logged and left alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdHandle } from '../../test/support/etcd';
import { waitFor } from '../../test/support/ports';
import { EtcdStorage } from '../storage/etcd';
import { WatchCache } from '../storage/watch-cache';
import type { JsonObject } from '../storage/interface';
import { loadDefinitions } from '../../crds/loader';
import { ApiError } from '../errors';
import { ResourceStore } from '../registry/store';
import type { WriteOptions } from '../registry/options';
import type { PropagationPolicy } from '../registry/deletion';
import type { ObjectMeta, OwnerReference } from '../../crds/types';
import { Registry } from 'prom-client';
import { GarbageCollector } from './collector';

const G = 'streaming.tanzu.vmware.com';
const NS = 'gc';

let etcd: EtcdHandle;
let storage: EtcdStorage;
let cache: WatchCache;
const stores = new Map<string, ResourceStore>();
let collector: GarbageCollector | undefined;
const logged: string[] = [];
const logger = {
  info: (obj: object, msg: string): void => { logged.push(`${msg} ${JSON.stringify(obj)}`); },
  warn: (obj: object, msg: string): void => { logged.push(`${msg} ${JSON.stringify(obj)}`); },
};

type Obj = JsonObject & { metadata: ObjectMeta & { name: string; uid: string } };

before(async () => {
  etcd = await startEtcd();
  storage = new EtcdStorage({ endpoints: [etcd.endpoint], callTimeoutMs: 5000 });
  const prefix = '/registry-gc-test';
  cache = new WatchCache(storage, `${prefix}/`);
  await cache.start();
  for (const d of loadDefinitions()) stores.set(d.kind, new ResourceStore(d, storage, cache, prefix));
});

after(async () => {
  collector?.stop();
  cache?.stop();
  await storage?.close();
  await etcd?.destroy();
});

function startCollector(registry?: Registry): GarbageCollector {
  collector?.stop();
  collector = new GarbageCollector({ cache, stores: [...stores.values()], logger, debounceMs: 5, resyncIntervalMs: 60_000, registry });
  collector.start();
  return collector;
}

function options(): WriteOptions {
  return { dryRun: false, fieldManager: 'gc-test', fieldValidation: 'Strict', warnings: [] };
}

function store(kind: string): ResourceStore {
  return stores.get(kind)!;
}

function ref(owner: Obj, blockOwnerDeletion = false): OwnerReference {
  return { apiVersion: `${G}/v1alpha1`, kind: String(owner.kind), name: owner.metadata.name, uid: owner.metadata.uid, ...(blockOwnerDeletion ? { blockOwnerDeletion } : {}) };
}

async function processor(name: string, meta: Partial<ObjectMeta> = {}): Promise<Obj> {
  return (await store('Processor').create(NS, { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name, ...meta }, spec: { type: 'SRP', replicas: 1, inputs: [{ name: 'a' }], outputs: [{ name: 'b' }] } }, options())) as Obj;
}

async function stream(name: string, meta: Partial<ObjectMeta> = {}): Promise<Obj> {
  return (await store('Stream').create(NS, { apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, ...meta }, spec: { protocol: 'kafka', storage: { clusterStream: 'cs' } } }, options())) as Obj;
}

async function clusterStream(name: string, meta: Partial<ObjectMeta> = {}): Promise<Obj> {
  return (await store('ClusterStream').create('', { apiVersion: `${G}/v1alpha1`, kind: 'ClusterStream', metadata: { name, ...meta }, spec: { name, storage: { server: { url: 'localhost:9092', protocol: 'kafka' } } } }, options())) as Obj;
}

async function find(kind: string, name: string): Promise<Obj | undefined> {
  try {
    return (await store(kind).get(kind === 'ClusterStream' ? '' : NS, name)) as Obj;
  } catch (err) {
    if (err instanceof ApiError && err.code === 404) return undefined;
    throw err;
  }
}

async function remove(kind: string, name: string, propagationPolicy?: PropagationPolicy): Promise<Obj> {
  return (await store(kind).delete(kind === 'ClusterStream' ? '' : NS, name, { dryRun: false, ...(propagationPolicy ? { propagationPolicy } : {}) })) as Obj;
}

async function gone(kind: string, name: string): Promise<void> {
  await waitFor(`${kind} ${name} gone`, async () => (await find(kind, name)) === undefined, 10_000, 50);
}

test('background (the default): the owner goes at once, its dependents after it', async () => {
  startCollector();
  const owner = await processor('bg-owner');
  await stream('bg-a', { ownerReferences: [ref(owner, true)] });
  await stream('bg-b', { ownerReferences: [ref(owner)] });
  const deleted = await remove('Processor', 'bg-owner');
  assert.equal(deleted.metadata.deletionTimestamp, undefined, 'no finalizer: deleted at once');
  assert.equal(await find('Processor', 'bg-owner'), undefined);
  await gone('Stream', 'bg-a');
  await gone('Stream', 'bg-b');
});

test('foreground: the owner stays with deletionTimestamp until its blocking dependents are gone, a controller\'s finalizer included', async () => {
  startCollector();
  const owner = await processor('fg-owner');
  await stream('fg-held', { ownerReferences: [ref(owner, true)], finalizers: ['example.com/controller'] });
  await stream('fg-loose', { ownerReferences: [ref(owner)] });
  const marked = await remove('Processor', 'fg-owner', 'Foreground');
  assert.ok(marked.metadata.deletionTimestamp);
  assert.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
  await gone('Stream', 'fg-loose');
  await waitFor('the held dependent marked deleted', async () => Boolean((await find('Stream', 'fg-held'))?.metadata.deletionTimestamp), 10_000, 50);
  await collector!.whenIdle();
  const waiting = await find('Processor', 'fg-owner');
  assert.ok(waiting?.metadata.deletionTimestamp, 'the owner waits for its blocking dependent');
  assert.deepEqual((await find('Stream', 'fg-held'))?.metadata.finalizers, ['example.com/controller'], 'the controller\'s finalizer is not the collector\'s to remove');
  // The "controller" finishes: the dependent goes, then the owner.
  await store('Stream').patch(NS, 'fg-held', 'merge', { metadata: { finalizers: null } }, '', options(), false);
  await gone('Stream', 'fg-held');
  await gone('Processor', 'fg-owner');
});

test('orphan: the dependents stay, without their reference to the owner; then the owner goes', async () => {
  startCollector();
  const owner = await processor('or-owner');
  const other = await processor('or-other');
  await stream('or-a', { ownerReferences: [ref(owner, true)] });
  await stream('or-b', { ownerReferences: [ref(owner), ref(other)] });
  const marked = await remove('Processor', 'or-owner', 'Orphan');
  assert.deepEqual(marked.metadata.finalizers, ['orphan']);
  await gone('Processor', 'or-owner');
  await collector!.whenIdle();
  assert.equal((await find('Stream', 'or-a'))?.metadata.ownerReferences, undefined);
  assert.deepEqual((await find('Stream', 'or-b'))?.metadata.ownerReferences?.map((r) => r.name), ['or-other']);
});

test('a restart finishes what was under way: the first sweep collects what changed while no collector ran', async () => {
  collector?.stop();
  const owner = await processor('rs-owner');
  await stream('rs-dependent', { ownerReferences: [ref(owner)] });
  const fgOwner = await processor('rs-fg-owner');
  await stream('rs-fg-dependent', { ownerReferences: [ref(fgOwner, true)] });
  await remove('Processor', 'rs-owner');
  await remove('Processor', 'rs-fg-owner', 'Foreground');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(await find('Stream', 'rs-dependent'), 'nothing collects while the collector is stopped');
  assert.ok((await find('Processor', 'rs-fg-owner'))?.metadata.deletionTimestamp);
  startCollector();
  await gone('Stream', 'rs-dependent');
  await gone('Stream', 'rs-fg-dependent');
  await gone('Processor', 'rs-fg-owner');
});

test('a foreground cycle stuck while no collector ran (both members waiting for each other) is broken by unblocking, then both go', async () => {
  collector?.stop();
  const a = await processor('cy-a');
  const b = await processor('cy-b');
  await store('Processor').patch(NS, 'cy-a', 'merge', { metadata: { ownerReferences: [ref(b, true)] } }, '', options(), false);
  await store('Processor').patch(NS, 'cy-b', 'merge', { metadata: { ownerReferences: [ref(a, true)] } }, '', options(), false);
  await remove('Processor', 'cy-a', 'Foreground');
  await remove('Processor', 'cy-b', 'Foreground');
  const registry = new Registry();
  startCollector(registry);
  await gone('Processor', 'cy-a');
  await gone('Processor', 'cy-b');
  const metrics = await registry.getMetricsAsJSON();
  const value = (name: string, labels: Record<string, string> = {}): number => (metrics.find((m) => m.name === name)?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
  assert.equal(value('apiserver_garbage_collector_running'), 1);
  assert.equal(value('apiserver_garbage_collector_actions_total', { action: 'unblockOwnerReferences', outcome: 'done' }), 2, 'each member stopped blocking the other');
  assert.equal(value('apiserver_garbage_collector_actions_total', { action: 'removeFinalizer', outcome: 'done' }), 2);
  assert.ok(logged.some((l) => l.startsWith('garbage collector: owner references no longer block their owners')), logged.join('\n'));
  collector?.stop();
  assert.equal((await registry.getMetricsAsJSON()).find((m) => m.name === 'apiserver_garbage_collector_running')?.values[0]?.value, 0);
});

test('owners across scopes: a ClusterStream may own Streams; a Stream owning a ClusterStream is invalid, logged, never acted on', async () => {
  startCollector();
  const cs = await clusterStream('gc-cs');
  await stream('cs-dependent', { ownerReferences: [ref(cs)] });
  const owner = await stream('invalid-owner');
  await clusterStream('gc-cs-invalid', { ownerReferences: [ref(owner)] });
  await remove('ClusterStream', 'gc-cs');
  await gone('Stream', 'cs-dependent');
  await remove('Stream', 'invalid-owner');
  await collector!.whenIdle();
  assert.ok(await find('ClusterStream', 'gc-cs-invalid'), 'a cluster-scoped dependent of a namespaced owner is never collected');
  assert.ok(logged.some((l) => /ClusterStream gc-cs-invalid is cluster-scoped but names the namespaced Stream "invalid-owner"/.test(l)), logged.join('\n'));
});
