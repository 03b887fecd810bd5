// The ownership graph of one consistent snapshot of our kinds and what the garbage collector must do about it —
// kube-controller-manager's garbage collector (attemptToDeleteItem, processDeletingDependentsItem, orphanDependents)
// reduced to a pure function, so that the collector is level-triggered: whatever happened before, the same
// snapshot gives the same actions, and after a restart the first snapshot finishes what was under way.
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type PropagationPolicy } from '../registry/deletion';
import type { OwnerReference } from '../../crds/types';

/** One stored object of our kinds, as the collector sees it. */
export interface GraphObject {
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  deleting: boolean;
  finalizers: string[];
  ownerReferences: OwnerReference[];
}

export type ObjectRef = Pick<GraphObject, 'kind' | 'namespace' | 'name' | 'uid' | 'resourceVersion'>;

export type Action =
  /** Delete a dependent whose owners are all gone (or waiting for it), with the policy kube would use. */
  | { type: 'delete'; object: ObjectRef; policy: PropagationPolicy }
  /** Drop ownerReferences (by owner uid): orphaning, or references to gone owners when another owner remains. */
  | { type: 'removeOwnerReferences'; object: ObjectRef; ownerUids: string[] }
  /** Set blockOwnerDeletion to false on these ownerReferences (by owner uid): the owners, waiting in the
   *  foreground, stop waiting for this object, which breaks a cycle of owners waiting for each other. */
  | { type: 'unblockOwnerReferences'; object: ObjectRef; ownerUids: string[] }
  /** The garbage collector's part of a deletion is done. */
  | { type: 'removeFinalizer'; object: ObjectRef; finalizer: typeof ORPHAN_FINALIZER | typeof FOREGROUND_FINALIZER };

export interface Plan {
  actions: Action[];
  /** Owner references kube calls invalid (OwnerRefInvalidNamespace), one line each: logged, never acted on. */
  problems: string[];
}

export interface KindScope {
  /** The API group every kind below belongs to (owner references of other groups are not ours to resolve). */
  group: string;
  namespacedByKind: ReadonlyMap<string, boolean>;
}

/** solid: the owner exists and is not waiting for its dependents; waiting: it is being deleted in the foreground;
 *  dangling: it is gone (or another object now has its name); unresolvable: not ours to judge (another group's
 *  kind, a malformed reference, or a namespaced owner of a cluster-scoped dependent) — the dependent is kept. */
type OwnerState = { state: 'solid' | 'waiting'; owner: GraphObject } | { state: 'dangling' } | { state: 'unresolvable' };

function describe(o: { kind: string; namespace: string; name: string }): string {
  return o.namespace ? `${o.kind} ${o.namespace}/${o.name}` : `${o.kind} ${o.name}`;
}

function refOf(o: GraphObject): ObjectRef {
  return { kind: o.kind, namespace: o.namespace, name: o.name, uid: o.uid, resourceVersion: o.resourceVersion };
}

export function planCollection(objects: readonly GraphObject[], scope: KindScope): Plan {
  const byCoordinates = new Map<string, GraphObject>();
  const byUid = new Map<string, GraphObject>();
  for (const o of objects) {
    byCoordinates.set(`${o.kind}/${o.namespace}/${o.name}`, o);
    byUid.set(o.uid, o);
  }
  const problems: string[] = [];

  const resolve = (dependent: GraphObject, ref: OwnerReference): OwnerState => {
    const group = typeof ref.apiVersion === 'string' && ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.indexOf('/')) : '';
    const ownerNamespaced = scope.namespacedByKind.get(ref.kind);
    if (!ref.uid || !ref.name || group !== scope.group || ownerNamespaced === undefined) return { state: 'unresolvable' };
    if (dependent.namespace === '' && ownerNamespaced) {
      problems.push(`${describe(dependent)} is cluster-scoped but names the namespaced ${ref.kind} ${JSON.stringify(ref.name)} as its owner: such a reference is invalid and never resolved`);
      return { state: 'unresolvable' };
    }
    const owner = byCoordinates.get(`${ref.kind}/${ownerNamespaced ? dependent.namespace : ''}/${ref.name}`);
    if (!owner || owner.uid !== ref.uid) {
      const elsewhere = byUid.get(ref.uid);
      if (elsewhere && ownerNamespaced && elsewhere.namespace !== dependent.namespace) {
        problems.push(`${describe(dependent)} names ${describe(elsewhere)} of another namespace as its owner: owners must be in the dependent's namespace, so the owner counts as absent`);
      }
      return { state: 'dangling' };
    }
    return owner.deleting && owner.finalizers.includes(FOREGROUND_FINALIZER) ? { state: 'waiting', owner } : { state: 'solid', owner };
  };

  // Every owner reference resolved once: the dependents of each owner, and each dependent's view of its owners.
  const dependentsOf = new Map<string, { dependent: GraphObject; ref: OwnerReference }[]>();
  const ownersOf = new Map<GraphObject, { ref: OwnerReference; resolved: OwnerState }[]>();
  for (const dependent of objects) {
    const resolvedRefs = (dependent.ownerReferences ?? []).map((ref) => ({ ref, resolved: resolve(dependent, ref) }));
    if (resolvedRefs.length > 0) ownersOf.set(dependent, resolvedRefs);
    for (const { ref, resolved } of resolvedRefs) {
      if (resolved.state === 'solid' || resolved.state === 'waiting') {
        const list = dependentsOf.get(resolved.owner.uid) ?? [];
        list.push({ dependent, ref });
        dependentsOf.set(resolved.owner.uid, list);
      }
    }
  }

  const actions: Action[] = [];
  const waitsInForeground = (o: GraphObject): boolean => o.deleting && o.finalizers.includes(FOREGROUND_FINALIZER);
  /** The dependents an owner waiting in the foreground waits for: those whose reference to it blocks. */
  const blockingDependentsOf = (owner: GraphObject): GraphObject[] =>
    (dependentsOf.get(owner.uid) ?? []).filter(({ ref }) => ref.blockOwnerDeletion === true).map(({ dependent }) => dependent);

  for (const owner of objects) {
    if (!owner.deleting) continue;
    const dependents = dependentsOf.get(owner.uid) ?? [];
    if (owner.finalizers.includes(ORPHAN_FINALIZER)) {
      if (dependents.length > 0) {
        for (const { dependent } of dependents) actions.push({ type: 'removeOwnerReferences', object: refOf(dependent), ownerUids: [owner.uid] });
      } else {
        actions.push({ type: 'removeFinalizer', object: refOf(owner), finalizer: ORPHAN_FINALIZER });
      }
    }
    // Foreground: the owner waits only for dependents that block it (blockOwnerDeletion), as in kube; the others
    // are deleted all the same (below), possibly after it.
    if (owner.finalizers.includes(FOREGROUND_FINALIZER) && blockingDependentsOf(owner).length === 0) {
      actions.push({ type: 'removeFinalizer', object: refOf(owner), finalizer: FOREGROUND_FINALIZER });
    }
  }

  // Owners waiting in the foreground for each other, round a cycle of blocking references, would wait forever.
  // Kube prevents most such cycles as it deletes (below: a dependent whose own dependent already waits unblocks its
  // references first); what it leaves stuck is broken here: a self-reference (an owner waiting for itself), owners
  // that were deleted in the foreground together, or a cycle stuck before this rule existed. A waiting object that
  // blocks a waiting owner it itself waits for, directly or through others, unblocks its reference to that owner —
  // every reference on a cycle of waits, and no other.
  const waitingFor = (o: GraphObject): GraphObject[] => (waitsInForeground(o) ? blockingDependentsOf(o).filter(waitsInForeground) : []);
  const waitsTransitivelyFor = (from: GraphObject, target: GraphObject): boolean => {
    const seen = new Set<GraphObject>([from]);
    const queue = [from];
    while (queue.length > 0) {
      const next = queue.pop()!;
      if (next === target) return true;
      for (const d of waitingFor(next)) if (!seen.has(d)) { seen.add(d); queue.push(d); }
    }
    return false;
  };
  for (const [dependent, owners] of ownersOf) {
    if (!waitsInForeground(dependent)) continue;
    const onCycle = owners.filter(({ ref, resolved }) => ref.blockOwnerDeletion === true && resolved.state === 'waiting' && waitsTransitivelyFor(dependent, resolved.owner));
    if (onCycle.length > 0) actions.push({ type: 'unblockOwnerReferences', object: refOf(dependent), ownerUids: onCycle.map(({ ref }) => ref.uid) });
  }

  for (const [dependent, owners] of ownersOf) {
    // Being deleted is a one-way trip: its own finalizers (controllers', or ours above) decide when it goes.
    if (dependent.deleting) continue;
    const kept = owners.filter(({ resolved }) => resolved.state === 'solid' || resolved.state === 'unresolvable');
    const gone = owners.filter(({ resolved }) => resolved.state === 'dangling' || resolved.state === 'waiting');
    if (gone.length === 0) continue;
    if (kept.length > 0) {
      // Another owner remains: only the references to gone owners go (and to owners waiting for this dependent,
      // which would otherwise wait forever).
      actions.push({ type: 'removeOwnerReferences', object: refOf(dependent), ownerUids: gone.map(({ ref }) => ref.uid) });
      continue;
    }
    const waitedFor = gone.some(({ resolved }) => resolved.state === 'waiting');
    const ownDependents = dependentsOf.get(dependent.uid) ?? [];
    let policy: PropagationPolicy;
    if (waitedFor && ownDependents.length > 0) {
      // Kube's cycle guard (attemptToDeleteItem): deleted in the foreground, this object will wait for its
      // dependents; if one of them already waits (for its own dependents, maybe for this object's owner), the two
      // could wait for each other forever. So first nobody waits for this object: its references stop blocking.
      // Its deletion follows from the next snapshot, which shows the references unblocked.
      const blocking = owners.filter(({ ref }) => ref.blockOwnerDeletion === true);
      if (blocking.length > 0 && ownDependents.some(({ dependent: d }) => waitsInForeground(d))) {
        actions.push({ type: 'unblockOwnerReferences', object: refOf(dependent), ownerUids: blocking.map(({ ref }) => ref.uid) });
        continue;
      }
      policy = 'Foreground';
    } else if (dependent.finalizers.includes(ORPHAN_FINALIZER)) policy = 'Orphan';
    else if (dependent.finalizers.includes(FOREGROUND_FINALIZER)) policy = 'Foreground';
    else policy = 'Background';
    actions.push({ type: 'delete', object: refOf(dependent), policy });
  }
  return { actions, problems };
}
