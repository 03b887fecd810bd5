// A rate-limited work queue in the shape of client-go's workqueue: keys (not objects) are queued, a key is never
// processed by two workers at once (a key added while it is being processed is re-queued once it finishes),
// duplicates collapse, and failures come back after an exponential per-key backoff. Reconcilers are
// level-triggered, so losing intermediate events is fine: only "this key needs a look" matters.

export interface WorkQueueOptions {
  /** First retry delay after a failure. */
  baseDelayMs?: number;
  /** Cap of the per-key exponential backoff. */
  maxDelayMs?: number;
  /** Workers processing keys concurrently (different keys only). */
  workers?: number;
}

export type KeyHandler = (key: string) => Promise<ReconcileOutcome | void>;

/** What a handler may ask for besides success: look again after a delay (e.g. waiting for a dependency). */
export interface ReconcileOutcome {
  requeueAfterMs?: number;
}

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while processing: re-queued when their current run ends (per-key serialization). */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly workers: number;
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly handler: KeyHandler, opts: WorkQueueOptions = {}, private readonly onError: (key: string, err: unknown) => void = () => undefined) {
    this.baseDelayMs = opts.baseDelayMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.workers = opts.workers ?? 4;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) { this.dirty.add(key); return; }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
  }

  /** Adds the key after a delay; an earlier pending delayed add for the same key wins if it is sooner. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) { this.add(key); return; }
    const due = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => { this.timers.delete(key); this.add(key); }, delayMs);
    timer.unref();
    this.timers.set(key, { timer, due });
  }

  /** The backoff the next failure of this key would wait (exposed for tests and logs). */
  backoffFor(key: string): number {
    const n = this.failures.get(key) ?? 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
  }

  get length(): number { return this.pending.length; }

  /** Resolves when nothing is queued, processing or waiting on a short timer. */
  async drained(): Promise<void> {
    if (this.isIdle()) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.pending.length = 0;
    this.queued.clear();
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.processing.size === 0;
  }

  private pump(): void {
    while (!this.stopped && this.active < this.workers && this.pending.length > 0) {
      const key = this.pending.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.run(key);
    }
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string): Promise<void> {
    try {
      const outcome = await this.handler(key);
      this.failures.delete(key);
      if (outcome && outcome.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    } catch (err) {
      const delay = this.backoffFor(key);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      this.onError(key, err);
      this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
