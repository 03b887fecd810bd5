// Kubernetes condition conventions: one entry per type; lastTransitionTime changes only when status changes;
// reason is CamelCase; message is for humans; observedGeneration says which spec the condition describes.
import { redactCredentials } from '../crds/addresses';
import type { Condition, ConditionStatus } from '../crds/types';

export const READY = 'Ready';

export interface ConditionInput {
  type?: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** Returns a new condition list with `input` set, keeping lastTransitionTime when the status did not change. */
export function setCondition(existing: Condition[] | undefined, input: ConditionInput, now: Date = new Date()): Condition[] {
  const type = input.type ?? READY;
  const list = (existing ?? []).filter((c) => c.type !== type);
  const previous = (existing ?? []).find((c) => c.type === type);
  const lastTransitionTime = previous && previous.status === input.status && previous.lastTransitionTime
    ? previous.lastTransitionTime
    : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition: Condition = { type, status: input.status, reason: input.reason, message: input.message, lastTransitionTime };
  if (input.observedGeneration !== undefined) condition.observedGeneration = input.observedGeneration;
  return [...list, condition];
}

export function findCondition(conditions: Condition[] | undefined, type = READY): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isReady(conditions: Condition[] | undefined): boolean {
  return findCondition(conditions)?.status === 'True';
}

/** An error as a condition message or log line may show it: its text, without credentials of any address in it. */
export function errorText(err: unknown): string {
  return redactCredentials(err instanceof Error ? err.message : String(err));
}
