// Deletion as Kubernetes does it (k8s.io/apiserver's registry Store.Delete with its garbage-collection finalizers):
// DeleteOptions and their validation, and what a delete does to an object — which of the two garbage-collector
// finalizers it carries, and whether it goes at once or stays marked with deletionTimestamp until its finalizers
// are removed. The garbage collector (apiserver/gc) does the rest.
import { invalid, notSupported, type FieldIssue } from '../../crds/validation/field-issue';
import type { UpdateDecision, StoredObject } from '../storage/interface';
import { metaOf } from './object-meta';
import { nowRfc3339 } from './clock';

/** metav1.FinalizerOrphanDependents: the garbage collector removes the object's ownerReferences from its dependents. */
export const ORPHAN_FINALIZER = 'orphan';
/** metav1.FinalizerDeleteDependents: the object stays until its blocking dependents are gone. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
export const PROPAGATION_POLICIES: readonly PropagationPolicy[] = ['Foreground', 'Background', 'Orphan'];

export interface DeleteOptions {
  dryRun: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: PropagationPolicy;
  /** Deprecated (kube 1.7): true is Orphan, false is "not Orphan". */
  orphanDependents?: boolean;
  /** Accepted and validated; our kinds have no graceful deletion, so it changes nothing. */
  gracePeriodSeconds?: number;
}

/** What a DeleteOptions as decoded (any value) may hold: kube's ValidateDeleteOptions plus a non-negative grace period. */
export function validateDeleteOptions(options: { propagationPolicy?: unknown; orphanDependents?: unknown; gracePeriodSeconds?: unknown }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (options.orphanDependents !== undefined && options.propagationPolicy !== undefined) {
    issues.push(invalid('propagationPolicy', options.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set'));
  }
  if (options.propagationPolicy !== undefined && !PROPAGATION_POLICIES.includes(options.propagationPolicy as PropagationPolicy)) {
    issues.push(notSupported('propagationPolicy', options.propagationPolicy, [...PROPAGATION_POLICIES, 'nil']));
  }
  const grace = options.gracePeriodSeconds;
  if (grace !== undefined && typeof grace === 'number' && grace < 0) {
    issues.push(invalid('gracePeriodSeconds', grace, 'must be greater than or equal to 0'));
  }
  return issues;
}

/** Refuses an object carrying both garbage-collector finalizers (kube's ValidateFinalizers rule). */
export function validateDeletionFinalizers(finalizers: unknown): FieldIssue[] {
  if (Array.isArray(finalizers) && finalizers.includes(ORPHAN_FINALIZER) && finalizers.includes(FOREGROUND_FINALIZER)) {
    return [invalid('metadata.finalizers', finalizers, `finalizer ${ORPHAN_FINALIZER} and ${FOREGROUND_FINALIZER} cannot be both set`)];
  }
  return [];
}

/**
 * kube's shouldOrphanDependents / shouldDeleteDependents: an explicit option wins, then a finalizer the object
 * already carries (a second delete keeps what the first asked), then the kind's default, Background.
 */
export function effectivePolicy(options: DeleteOptions, finalizers: readonly string[]): PropagationPolicy {
  if (options.orphanDependents !== undefined) return options.orphanDependents ? 'Orphan' : 'Background';
  if (options.propagationPolicy !== undefined) return options.propagationPolicy;
  if (finalizers.includes(ORPHAN_FINALIZER)) return 'Orphan';
  if (finalizers.includes(FOREGROUND_FINALIZER)) return 'Foreground';
  return 'Background';
}

/** The object's finalizers once `policy` applies: at most one of the two garbage-collector finalizers. */
export function finalizersForPolicy(finalizers: readonly string[], policy: PropagationPolicy): string[] {
  const others = finalizers.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (policy === 'Orphan') return [...others, ORPHAN_FINALIZER];
  if (policy === 'Foreground') return [...others, FOREGROUND_FINALIZER];
  return others;
}

/**
 * What deleting `current` does: delete the key when no finalizer remains, else mark it (deletionTimestamp once,
 * generation moved once) with the finalizers the policy asks for. Preconditions are checked by the caller.
 */
export function deletionDecision(current: StoredObject, options: DeleteOptions): UpdateDecision {
  const meta = metaOf(structuredClone(current.object));
  const existing = meta.finalizers ?? [];
  const finalizers = finalizersForPolicy(existing, effectivePolicy(options, existing));
  if (finalizers.length === 0) return { kind: 'delete' };
  const unchangedFinalizers = finalizers.length === existing.length && finalizers.every((f, i) => f === existing[i]);
  if (meta.deletionTimestamp && unchangedFinalizers) return { kind: 'unchanged' };
  const next = structuredClone(current.object);
  const nmeta = metaOf(next);
  nmeta.finalizers = finalizers;
  if (!nmeta.deletionTimestamp) {
    nmeta.deletionTimestamp = nowRfc3339();
    nmeta.deletionGracePeriodSeconds = 0;
    nmeta.generation = (Number(nmeta.generation) || 0) + 1;
  }
  return { kind: 'put', object: next };
}
