// In-flight limits (`--max-requests-inflight`, `--max-mutating-requests-inflight`): like kube-apiserver's
// MaxInFlightLimit filter, read-only and mutating requests have separate budgets; a request over budget is answered
// 429 at once (never queued); long-running requests (watches) and system:masters are not counted; 0 means no limit.
export const DEFAULT_MAX_REQUESTS_INFLIGHT = 400;
export const DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT = 200;

export interface InflightLimiter {
  /** A release function when the request fits in its budget, otherwise undefined. */
  tryAcquire(mutating: boolean): (() => void) | undefined;
  inflight(): { readOnly: number; mutating: number };
}

export function inflightLimiter(maxReadOnly: number, maxMutating: number): InflightLimiter {
  const counts = { readOnly: 0, mutating: 0 };
  return {
    tryAcquire(mutating) {
      const key = mutating ? 'mutating' : 'readOnly';
      const limit = mutating ? maxMutating : maxReadOnly;
      if (limit > 0 && counts[key] >= limit) return undefined;
      counts[key]++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        counts[key]--;
      };
    },
    inflight: () => ({ ...counts }),
  };
}
