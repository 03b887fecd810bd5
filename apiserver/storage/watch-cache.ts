// The watch cache (like k8s.io/apiserver's cacher): ONE etcd watch keeps an in-memory copy of every object under a
// prefix plus a window of recent events. Lists and watches are served from it; a watch can resume from any revision
// still in the window, older ones get 410 Expired.
import {
  CompactedError, type Storage, type StorageEvent, type StorageWatch, type StoredObject,
} from './interface';

export interface CacheListener {
  /** Events in revision order, already past the listener's starting revision. */
  onEvents(events: StorageEvent[]): void;
  /** The cache cannot continue this stream (history compacted / relisted): answer 410 and close. */
  onExpired(): void;
}

export interface CacheSubscription {
  /** Events after the requested revision that were already in the window (deliver before live ones). */
  backlog: StorageEvent[];
  unsubscribe(): void;
}

export interface WatchCacheOptions {
  /** Maximum number of recent events kept to resume watches. */
  windowSize?: number;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export class TooOldRevisionError extends Error {
  constructor(readonly requested: number, readonly oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

export class TooLargeRevisionError extends Error {}

/** The cache is (re)listing: it cannot tell what a new watch would start from. */
export class CacheNotReadyError extends Error {
  constructor() {
    super('storage is (re)initializing');
  }
}

interface Subscriber {
  prefix: string;
  listener: CacheListener;
}

export class WatchCache {
  private readonly objects = new Map<string, StoredObject>();
  private sortedKeys: string[] | undefined;
  /** The recent events are `window[windowHead..]`; the ones before windowHead have left the window. */
  private window: StorageEvent[] = [];
  private windowHead = 0;
  /** Events with revision > windowStart are all in the window. */
  private windowStart = 0;
  private currentRevision = 0;
  private readonly subscribers = new Set<Subscriber>();
  private revisionWaiters: { revision: number; resolve: () => void }[] = [];
  private etcdWatch: StorageWatch | undefined;
  private stopped = false;
  private readyFlag = false;
  private readonly windowSize: number;

  constructor(private readonly storage: Storage, private readonly prefix: string, private readonly options: WatchCacheOptions = {}) {
    this.windowSize = options.windowSize ?? 20_000;
  }

  get revision(): number {
    return this.currentRevision;
  }

  get ready(): boolean {
    return this.readyFlag;
  }

  get oldestResumableRevision(): number {
    return this.windowStart;
  }

  /** Lists everything once, then follows the etcd watch. Retries until etcd answers. */
  async start(): Promise<void> {
    for (;;) {
      try {
        await this.relist();
        return;
      } catch (err) {
        if (this.stopped) return;
        this.options.logger?.warn({ err: String(err) }, 'watch cache: initial list failed, retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async relist(): Promise<void> {
    const revision = await this.storage.currentRevision();
    const items: StoredObject[] = [];
    let startKey: string | undefined;
    for (;;) {
      const page = await this.storage.list(this.prefix, { revision, startKey, limit: 5000 });
      items.push(...page.items);
      if (!page.more || page.items.length === 0) break;
      startKey = page.items[page.items.length - 1].key + '\x00';
    }
    this.objects.clear();
    for (const item of items) this.objects.set(item.key, item);
    this.sortedKeys = undefined;
    this.window = [];
    this.windowHead = 0;
    this.windowStart = revision;
    this.currentRevision = revision;
    this.readyFlag = true;
    this.follow(revision);
    this.releaseWaiters();
  }

  private follow(fromRevision: number): void {
    this.etcdWatch?.stop();
    this.etcdWatch = this.storage.watch(this.prefix, fromRevision, {
      onEvents: (events, headerRevision) => this.apply(events, headerRevision),
      onError: (err) => this.options.logger?.warn({ err: String(err), revision: this.currentRevision }, 'watch cache: etcd watch interrupted, resuming'),
      onCompacted: (compactRevision) => {
        // We fell behind the compacted history (e.g. etcd was compacted by another server while we could not reach
        // it): what changed meanwhile is lost, so every open watch ends with 410 and its client relists. Until our
        // own relist is done the cache is not ready: new watches wait for it (or get 503), and none can be
        // subscribed to a cache that would skip from the old revision to the new one.
        this.options.logger?.warn({ revision: this.currentRevision, compactRevision }, 'watch cache: history compacted under us, relisting');
        this.readyFlag = false;
        this.expireAll();
        void this.start();
      },
    });
  }

  private apply(events: StorageEvent[], headerRevision: number): void {
    for (const event of events) {
      if (event.type === 'DELETED') {
        this.objects.delete(event.key);
        this.sortedKeys = undefined;
      } else {
        if (!this.objects.has(event.key)) this.sortedKeys = undefined;
        this.objects.set(event.key, { key: event.key, object: event.object, revision: event.revision });
      }
      this.window.push(event);
      this.currentRevision = Math.max(this.currentRevision, event.revision);
    }
    // A watch response with no events for us still proves we have seen everything up to its header revision
    // only when it carries no events at all (progress); with events, the last event revision is what we know.
    if (events.length === 0 && headerRevision > this.currentRevision) this.currentRevision = headerRevision;
    if (this.window.length - this.windowHead > this.windowSize) {
      this.windowHead = this.window.length - this.windowSize;
      this.windowStart = this.window[this.windowHead - 1].revision;
      // Copied out in chunks of a quarter window, not on every write: once the window was full, a copy per write
      // (20,000 entries, 160 KB of garbage) cost more than the rest of the watch cache's work per write.
      if (this.windowHead >= this.windowSize / 4) {
        this.window = this.window.slice(this.windowHead);
        this.windowHead = 0;
      }
    }
    if (events.length > 0) {
      for (const sub of this.subscribers) {
        const mine = events.filter((e) => e.key.startsWith(sub.prefix));
        if (mine.length > 0) {
          try { sub.listener.onEvents(mine); } catch { /* a broken listener must not stop the others */ }
        }
      }
    }
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    if (this.revisionWaiters.length === 0) return;
    const still: typeof this.revisionWaiters = [];
    for (const w of this.revisionWaiters) {
      if (this.readyFlag && this.currentRevision >= w.revision) w.resolve(); else still.push(w);
    }
    this.revisionWaiters = still;
  }

  /** Resolves once the cache has seen `revision` (0: once it is ready); false after `timeoutMs`. */
  waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.readyFlag && this.currentRevision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { revision, resolve: () => { clearTimeout(timer); resolve(true); } };
      const timer = setTimeout(() => {
        this.revisionWaiters = this.revisionWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.revisionWaiters.push(waiter);
    });
  }

  /** Every object under `prefix`, sorted by key, at `revision`. */
  snapshot(prefix: string): { items: StoredObject[]; revision: number } {
    if (!this.sortedKeys) this.sortedKeys = Array.from(this.objects.keys()).sort();
    const keys = this.sortedKeys;
    // Binary search for the first key >= prefix, then walk while keys share it.
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < prefix) lo = mid + 1; else hi = mid;
    }
    const items: StoredObject[] = [];
    for (let i = lo; i < keys.length && keys[i].startsWith(prefix); i++) {
      const item = this.objects.get(keys[i]);
      if (item) items.push(item);
    }
    return { items, revision: this.currentRevision };
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  /**
   * Subscribes to changes under `prefix` after `afterRevision`. Throws TooOldRevisionError when that revision is
   * no longer in the window.
   */
  subscribe(prefix: string, afterRevision: number, listener: CacheListener): CacheSubscription {
    if (!this.readyFlag) throw new CacheNotReadyError();
    if (afterRevision < this.windowStart) throw new TooOldRevisionError(afterRevision, this.windowStart);
    const backlog = afterRevision >= this.currentRevision
      ? []
      : this.window.slice(this.windowHead).filter((e) => e.revision > afterRevision && e.key.startsWith(prefix));
    const sub: Subscriber = { prefix, listener };
    this.subscribers.add(sub);
    return { backlog, unsubscribe: () => { this.subscribers.delete(sub); } };
  }

  get watcherCount(): number {
    return this.subscribers.size;
  }

  /** etcd history up to `revision` was compacted: watches can no longer resume from before it. */
  compacted(revision: number): void {
    if (revision <= this.windowStart) return;
    this.window = this.window.slice(this.windowHead).filter((e) => e.revision > revision);
    this.windowHead = 0;
    this.windowStart = Math.min(revision, this.currentRevision);
  }

  private expireAll(): void {
    for (const sub of Array.from(this.subscribers)) {
      this.subscribers.delete(sub);
      try { sub.listener.onExpired(); } catch { /* ignore */ }
    }
  }

  stop(): void {
    this.stopped = true;
    this.etcdWatch?.stop();
    this.expireAll();
  }
}

export { CompactedError };
