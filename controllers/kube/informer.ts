// An informer: list, then watch from the list's resourceVersion, keeping a local cache. It resumes the watch from
// the last resourceVersion it saw (events and bookmarks), relists on 410 Gone (compaction), and reconnects with
// backoff when the API server or etcd goes away. Handlers get the key of every object that changed; reconcilers
// read the cache (level-triggered), never the event.
import type { Logger } from 'pino';
import type { KindName, StreamingResource } from '../../crds/types';
import { ApiError, objectKey, type StatusBody, type StreamingClient, type WatchEvent } from './client';

/** `local` = an object this process just wrote (observe()), delivered before the watch echoes it back, so
 *  cross-kind triggers fire on the transition; handlers need not requeue the object itself for it. */
export type ChangeOrigin = 'watch' | 'local';
export type ChangeHandler<T> = (key: string, current: T | undefined, previous: T | undefined, origin: ChangeOrigin) => void;

export class Informer<T extends StreamingResource> {
  private readonly cache = new Map<string, T>();
  /** resourceVersion at which a key was deleted: a late answer to our own write must not resurrect it. */
  private readonly tombstones = new Map<string, number>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private resourceVersion = '';
  private stopped = false;
  private current: { abort(): void } | undefined;
  private retryDelayMs = 200;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  /** Counters for tests and logs. */
  readonly stats = { lists: 0, watches: 0, events: 0, bookmarks: 0, gone: 0 };

  constructor(private readonly client: StreamingClient, readonly kind: KindName, private readonly log: Logger) {}

  onChange(handler: ChangeHandler<T>): void { this.handlers.push(handler); }

  get(key: string): T | undefined { return this.cache.get(key); }

  list(): T[] { return [...this.cache.values()]; }

  keys(): string[] { return [...this.cache.keys()]; }

  hasSynced(): boolean { return this.synced; }

  async waitForSync(): Promise<void> {
    if (this.synced) return;
    await new Promise<void>((r) => this.syncWaiters.push(r));
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.current?.abort();
  }

  /** Writes an object we just received from the API (e.g. our own update) so the next reconcile sees it even
   *  before the watch delivers it. Older versions never overwrite newer ones. */
  observe(obj: T): void {
    const key = objectKey(obj.metadata);
    const prev = this.cache.get(key);
    const rv = Number(obj.metadata.resourceVersion);
    if (prev && Number(prev.metadata.resourceVersion) >= rv) return;
    if ((this.tombstones.get(key) ?? -1) >= rv) return;
    this.cache.set(key, obj);
    this.emit(key, obj, prev, 'local');
  }

  private emit(key: string, current: T | undefined, previous: T | undefined, origin: ChangeOrigin = 'watch'): void {
    for (const h of this.handlers) {
      try { h(key, current, previous, origin); } catch (err) { this.log.error({ err, key }, 'informer handler failed'); }
    }
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stats.lists++;
      const { items, resourceVersion } = await this.client.list<T>(this.kind);
      const seen = new Set<string>();
      for (const item of items) {
        const key = objectKey(item.metadata);
        seen.add(key);
        const prev = this.cache.get(key);
        this.cache.set(key, item);
        this.emit(key, item, prev);
      }
      // Objects deleted while we were not watching: a relist is the only way to learn about them.
      for (const [key, prev] of [...this.cache]) {
        if (!seen.has(key)) { this.cache.delete(key); this.emit(key, undefined, prev); }
      }
      this.resourceVersion = resourceVersion;
      this.retryDelayMs = 200;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
      await this.watch();
    } catch (err) {
      this.log.warn({ kind: this.kind, err: String(err) }, 'list failed; retrying');
      this.retryLater(() => this.relist());
    }
  }

  private retryLater(fn: () => Promise<void>): void {
    if (this.stopped) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(5000, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => { void fn(); }, delay);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    let sawEvent = false;
    this.stats.watches++;
    const onEvent = (event: WatchEvent<T>): void => {
      if (event.type === 'ERROR') {
        const status = event.object as StatusBody;
        if (status.code === 410) gone = true;
        else this.log.warn({ kind: this.kind, status }, 'watch error event');
        return;
      }
      sawEvent = true;
      const obj = event.object as T;
      const rv = obj.metadata?.resourceVersion;
      if (event.type === 'BOOKMARK') {
        this.stats.bookmarks++;
        if (rv) this.resourceVersion = rv;
        return;
      }
      this.stats.events++;
      const key = objectKey(obj.metadata);
      const prev = this.cache.get(key);
      if (event.type === 'DELETED') {
        this.cache.delete(key);
        this.tombstones.set(key, Number(rv));
        if (this.tombstones.size > 10_000) this.tombstones.delete(this.tombstones.keys().next().value as string);
      } else {
        this.cache.set(key, obj);
        this.tombstones.delete(key);
      }
      if (rv) this.resourceVersion = rv;
      this.emit(key, event.type === 'DELETED' ? undefined : obj, prev);
    };
    const done = (err: unknown): void => {
      this.current = undefined;
      if (this.stopped) return;
      if (gone || (err instanceof ApiError && err.code === 410)) {
        this.stats.gone++;
        this.log.info({ kind: this.kind }, 'watch expired (410 Gone); relisting');
        void this.relist();
        return;
      }
      if (err) this.log.warn({ kind: this.kind, err: String(err) }, 'watch failed; resuming');
      if (sawEvent || !err) this.retryDelayMs = 200;
      this.retryLater(() => this.watch());
    };
    try {
      this.current = await this.client.watch<T>(this.kind, this.resourceVersion, onEvent, done);
      if (this.stopped) this.current?.abort();
    } catch (err) {
      done(err);
    }
  }
}
