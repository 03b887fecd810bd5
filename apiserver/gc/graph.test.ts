// What the collector decides from a snapshot (kube's garbage-collector rules), without storage: owners solid,
// waiting or gone; blocking dependents; orphaning; invalid references logged and never acted on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OwnerReference } from '../../crds/types';
import { planCollection, type Action, type GraphObject, type KindScope } from './graph';

const G = 'streaming.tanzu.vmware.com';
const SCOPE: KindScope = { group: G, namespacedByKind: new Map([['ClusterStream', false], ['Stream', true], ['Processor', true]]) };

let serial = 0;
function object(kind: string, name: string, extra: Partial<GraphObject> = {}): GraphObject {
  serial++;
  return {
    kind, name, namespace: kind === 'ClusterStream' ? '' : 'ns', uid: `uid-${name}`, resourceVersion: String(serial),
    deleting: false, finalizers: [], ownerReferences: [], ...extra,
  };
}

function ownedBy(owner: GraphObject, extra: Partial<OwnerReference> = {}): OwnerReference {
  return { apiVersion: `${G}/v1alpha1`, kind: owner.kind, name: owner.name, uid: owner.uid, ...extra };
}

function summary(actions: Action[]): string[] {
  return actions.map((a) => {
    const what = a.type === 'delete' ? a.policy : a.type === 'removeFinalizer' ? a.finalizer : a.ownerUids.join(',');
    return `${a.type} ${a.object.name} ${what}`;
  }).sort();
}

test('a dependent whose owners all exist is left alone; one whose owners are gone is deleted in the background', () => {
  const owner = object('Processor', 'p');
  const kept = object('Stream', 'kept', { ownerReferences: [ownedBy(owner)] });
  const orphaned = object('Stream', 'orphaned', { ownerReferences: [{ apiVersion: `${G}/v1alpha1`, kind: 'Processor', name: 'gone', uid: 'uid-gone' }] });
  assert.deepEqual(summary(planCollection([owner, kept, orphaned], SCOPE).actions), ['delete orphaned Background']);
});

test('an owner re-created under the same name is another owner: the dependent of the old one goes', () => {
  const reborn = object('Processor', 'p', { uid: 'uid-new' });
  const dependent = object('Stream', 's', { ownerReferences: [{ apiVersion: `${G}/v1alpha1`, kind: 'Processor', name: 'p', uid: 'uid-old' }] });
  assert.deepEqual(summary(planCollection([reborn, dependent], SCOPE).actions), ['delete s Background']);
});

test('with one owner left, only the references to gone owners are removed', () => {
  const alive = object('Processor', 'alive');
  const dependent = object('Stream', 's', { ownerReferences: [ownedBy(alive), { apiVersion: `${G}/v1alpha1`, kind: 'Processor', name: 'dead', uid: 'uid-dead' }] });
  assert.deepEqual(summary(planCollection([alive, dependent], SCOPE).actions), ['removeOwnerReferences s uid-dead']);
});

test('foreground: dependents are deleted; the owner keeps its finalizer while a blocking dependent exists', () => {
  const owner = object('Processor', 'p', { deleting: true, finalizers: ['foregroundDeletion'] });
  const blocking = object('Stream', 'blocking', { ownerReferences: [ownedBy(owner, { blockOwnerDeletion: true })] });
  const loose = object('Stream', 'loose', { ownerReferences: [ownedBy(owner)] });
  assert.deepEqual(summary(planCollection([owner, blocking, loose], SCOPE).actions), ['delete blocking Background', 'delete loose Background']);
  // The blocking dependent is being deleted (its controller's finalizer holds it): the owner still waits, nothing to do.
  const held = { ...blocking, deleting: true, finalizers: ['streaming.tanzu.vmware.com/finalizer'] };
  assert.deepEqual(summary(planCollection([owner, held], SCOPE).actions), []);
  // Only non-blocking dependents left: the owner may go.
  assert.deepEqual(summary(planCollection([owner, loose], SCOPE).actions), ['delete loose Background', 'removeFinalizer p foregroundDeletion']);
  assert.deepEqual(summary(planCollection([owner], SCOPE).actions), ['removeFinalizer p foregroundDeletion']);
});

test('foreground propagates: a waited-for dependent with dependents of its own is deleted in the foreground too', () => {
  const owner = object('ClusterStream', 'cs', { deleting: true, finalizers: ['foregroundDeletion'] });
  const middle = object('Processor', 'middle', { ownerReferences: [ownedBy(owner, { blockOwnerDeletion: true })] });
  const leaf = object('Stream', 'leaf', { ownerReferences: [ownedBy(middle, { blockOwnerDeletion: true })] });
  assert.deepEqual(summary(planCollection([owner, middle, leaf], SCOPE).actions), ['delete middle Foreground']);
});

test('orphan: references to the owner are removed from every dependent, then its finalizer', () => {
  const owner = object('Processor', 'p', { deleting: true, finalizers: ['orphan', 'example.com/other'] });
  const a = object('Stream', 'a', { ownerReferences: [ownedBy(owner, { blockOwnerDeletion: true })] });
  const b = object('Stream', 'b', { ownerReferences: [ownedBy(owner), { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'uid-c' }] });
  assert.deepEqual(summary(planCollection([owner, a, b], SCOPE).actions), ['removeOwnerReferences a uid-p', 'removeOwnerReferences b uid-p']);
  const aFree = { ...a, ownerReferences: [] };
  const bFree = { ...b, ownerReferences: [b.ownerReferences[1]] };
  assert.deepEqual(summary(planCollection([owner, aFree, bFree], SCOPE).actions), ['removeFinalizer p orphan']);
});

test('an owner being deleted with other finalizers (a controller\'s) still owns: its dependents wait for it to go', () => {
  const owner = object('Processor', 'p', { deleting: true, finalizers: ['streaming.tanzu.vmware.com/finalizer'] });
  const dependent = object('Stream', 's', { ownerReferences: [ownedBy(owner)] });
  assert.deepEqual(summary(planCollection([owner, dependent], SCOPE).actions), []);
});

test('a dependent being deleted is left to its own finalizers; a collected dependent keeps the policy its finalizers ask', () => {
  const deleting = object('Stream', 'deleting', { deleting: true, finalizers: ['x.io/y'], ownerReferences: [{ apiVersion: `${G}/v1alpha1`, kind: 'Processor', name: 'gone', uid: 'uid-gone' }] });
  const orphaning = object('Stream', 'orphaning', { finalizers: ['orphan'], ownerReferences: [{ apiVersion: `${G}/v1alpha1`, kind: 'Processor', name: 'gone', uid: 'uid-gone' }] });
  assert.deepEqual(summary(planCollection([deleting, orphaning], SCOPE).actions), ['delete orphaning Orphan']);
});

test('references not ours (other groups, core kinds, malformed) keep the dependent; invalid ones are reported', () => {
  const foreign = object('Stream', 'foreign', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'uid-d' }] });
  const malformed = object('Stream', 'malformed', { ownerReferences: [{ apiVersion: `${G}/v1alpha1`, kind: 'Processor', name: 'p', uid: '' }] });
  const owner = object('Stream', 'owner');
  const clusterScoped = object('ClusterStream', 'cs', { ownerReferences: [ownedBy(owner)] });
  const plan = planCollection([foreign, malformed, owner, clusterScoped], SCOPE);
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.problems.length, 1);
  assert.match(plan.problems[0], /ClusterStream cs is cluster-scoped but names the namespaced Stream "owner"/);
});

test('cluster-scoped owners of namespaced dependents resolve; namespaced owners in another namespace count as absent', () => {
  const cs = object('ClusterStream', 'cs');
  const owned = object('Stream', 'owned', { ownerReferences: [ownedBy(cs)] });
  const elsewhere = object('Processor', 'p', { namespace: 'other' });
  const crossNamespace = object('Stream', 'cross', { ownerReferences: [ownedBy(elsewhere)] });
  const plan = planCollection([cs, owned, elsewhere, crossNamespace], SCOPE);
  assert.deepEqual(summary(plan.actions), ['delete cross Background']);
  assert.equal(plan.problems.length, 1);
  assert.match(plan.problems[0], /Stream ns\/cross names Processor other\/p of another namespace/);
});
