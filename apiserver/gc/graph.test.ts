// What the collector decides from a snapshot (kube's garbage-collector rules), without storage: owners solid,
// waiting or gone; blocking dependents; orphaning; cycles of blocking references under foreground deletion;
// invalid references logged and never acted on.
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

/**
 * Plans and carries out the plan as the collector and the store would (a delete with Foreground or Orphan leaves
 * that finalizer, an object marked deleted goes when its last finalizer does, a delete is pinned to the version
 * planned from), sweep after sweep, until nothing is left to do; answers what remains and every step taken.
 */
function settle(initial: GraphObject[], maxSweeps = 20): { remaining: string[]; steps: string[][] } {
  let objects = initial.map((o) => ({ ...o, finalizers: [...o.finalizers], ownerReferences: o.ownerReferences.map((r) => ({ ...r })) }));
  const steps: string[][] = [];
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    const { actions } = planCollection(objects, SCOPE);
    if (actions.length === 0) return { remaining: objects.map((o) => o.name).sort(), steps };
    steps.push(summary(actions));
    for (const action of actions) {
      const target = objects.find((o) => o.uid === action.object.uid);
      if (!target) continue;
      const written = (): void => { target.resourceVersion = String(++serial); };
      switch (action.type) {
        case 'delete':
          if (target.resourceVersion !== action.object.resourceVersion) continue; // changed since planned: 409
          if (action.policy === 'Foreground' && !target.finalizers.includes('foregroundDeletion')) target.finalizers.push('foregroundDeletion');
          if (action.policy === 'Orphan' && !target.finalizers.includes('orphan')) target.finalizers.push('orphan');
          target.deleting = true;
          written();
          break;
        case 'removeOwnerReferences':
          target.ownerReferences = target.ownerReferences.filter((r) => !action.ownerUids.includes(r.uid));
          written();
          break;
        case 'unblockOwnerReferences':
          target.ownerReferences = target.ownerReferences.map((r) => (action.ownerUids.includes(r.uid) ? { ...r, blockOwnerDeletion: false } : r));
          written();
          break;
        case 'removeFinalizer':
          target.finalizers = target.finalizers.filter((f) => f !== action.finalizer);
          written();
          break;
      }
      if (target.deleting && target.finalizers.length === 0) objects = objects.filter((o) => o !== target);
    }
  }
  assert.fail(`no end after ${maxSweeps} sweeps: ${JSON.stringify(steps.slice(-3))}`);
}

/** Makes each object own the next one (the last owns the first) with blocking references: a cycle. */
function cycle(...members: GraphObject[]): GraphObject[] {
  members.forEach((m, i) => { members[(i + 1) % members.length].ownerReferences.push(ownedBy(m, { blockOwnerDeletion: true })); });
  return members;
}

function deletedInForeground(o: GraphObject): GraphObject {
  return { ...o, deleting: true, finalizers: [...o.finalizers, 'foregroundDeletion'] };
}

test('foreground cycle, kube\'s guard: a dependent whose own dependent already waits unblocks its references before it is deleted in the foreground', () => {
  const [a, b] = cycle(object('Processor', 'a'), object('Stream', 'b'));
  const waitingA = deletedInForeground(a);
  // b's owner waits for it and b has a dependent (a) that waits: b first stops blocking a, and is not deleted yet.
  assert.deepEqual(summary(planCollection([waitingA, b], SCOPE).actions), ['unblockOwnerReferences b uid-a']);
  // From the next snapshot: a no longer waits for b, and b is deleted in the foreground (it has a dependent).
  const unblocked = { ...b, ownerReferences: [ownedBy(a, { blockOwnerDeletion: false })] };
  assert.deepEqual(summary(planCollection([waitingA, unblocked], SCOPE).actions), ['delete b Foreground', 'removeFinalizer a foregroundDeletion']);
  // The whole way: both go.
  assert.deepEqual(settle([waitingA, b]).remaining, []);
});

test('foreground cycles of every length end with every member deleted', () => {
  for (const length of [2, 3, 5]) {
    const members = cycle(...Array.from({ length }, (_, i) => object(i % 2 === 0 ? 'Processor' : 'Stream', `c${length}-${i}`)));
    members[0] = deletedInForeground(members[0]);
    const { remaining, steps } = settle(members);
    assert.deepEqual(remaining, [], `a cycle of ${length}`);
    // Kube's guard unblocked the member closing the cycle (whose dependent, the first, waits), and no other.
    const unblocks = steps.flat().filter((s) => s.startsWith('unblockOwnerReferences'));
    assert.deepEqual(unblocks, [`unblockOwnerReferences c${length}-${length - 1} uid-c${length}-${length - 2}`], `a cycle of ${length}`);
  }
});

test('cycles kube\'s guard cannot see are broken too: an owner waiting for itself, members deleted in the foreground together', () => {
  // A self-reference: the owner would wait for itself.
  const self = object('Processor', 'self');
  self.ownerReferences.push(ownedBy(self, { blockOwnerDeletion: true }));
  const waitingSelf = deletedInForeground(self);
  assert.deepEqual(summary(planCollection([waitingSelf], SCOPE).actions), ['unblockOwnerReferences self uid-self']);
  assert.deepEqual(settle([waitingSelf]).remaining, []);

  // Both members of a 2-cycle deleted in the foreground at once (`kubectl delete a b --cascade=foreground`), or a
  // cycle stuck before this rule existed: each waiting member unblocks its reference to the owner it waits for.
  const [a, b] = cycle(object('Processor', 'pa'), object('Processor', 'pb')).map(deletedInForeground);
  assert.deepEqual(summary(planCollection([a, b], SCOPE).actions), ['unblockOwnerReferences pa uid-pb', 'unblockOwnerReferences pb uid-pa']);
  assert.deepEqual(settle([a, b]).remaining, []);

  // A 3-cycle where the middle one was also deleted in the foreground.
  const three = cycle(object('Processor', 't0'), object('Stream', 't1'), object('Processor', 't2'));
  assert.deepEqual(settle([deletedInForeground(three[0]), deletedInForeground(three[1]), three[2]]).remaining, []);
});

test('waits that form no cycle are left alone: nothing is unblocked and the owner keeps waiting for a held dependent', () => {
  const owner = deletedInForeground(object('ClusterStream', 'cs'));
  const middle = deletedInForeground(object('Processor', 'middle', { ownerReferences: [ownedBy(owner, { blockOwnerDeletion: true })] }));
  const held = object('Stream', 'held', { deleting: true, finalizers: ['example.com/held'], ownerReferences: [ownedBy(middle, { blockOwnerDeletion: true })] });
  assert.deepEqual(summary(planCollection([owner, middle, held], SCOPE).actions), []);
  // A blocking dependent that owns the waiting owner through a solid object is no cycle of waits either: the
  // dependent is simply deleted in the foreground.
  const root = deletedInForeground(object('Processor', 'root'));
  const child = object('Stream', 'child', { ownerReferences: [ownedBy(root, { blockOwnerDeletion: true })] });
  const grandchild = object('Processor', 'grandchild', { ownerReferences: [ownedBy(child, { blockOwnerDeletion: true })] });
  assert.deepEqual(summary(planCollection([root, child, grandchild], SCOPE).actions), ['delete child Foreground']);
  assert.deepEqual(settle([root, child, grandchild]).remaining, []);
});
