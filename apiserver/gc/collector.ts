// The garbage collector of the API server (what kube-controller-manager's garbage collector does in a cluster,
// here for ownerReferences between our own kinds only): driven by the watch cache, it plans from a consistent
// snapshot (graph.ts) and acts through the registry stores, so every change it makes is validated, versioned and
// watched like a client's. Level-triggered: each sweep looks at the whole current state, so nothing is lost across
// a restart (the first sweep after start finishes what was under way) or a missed event (a periodic resync).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WatchCache } from '../storage/watch-cache';
import type { CacheSubscription } from '../storage/watch-cache';
import type { JsonObject, StorageEvent } from '../storage/interface';
import { ApiError } from '../errors';
import type { ResourceStore } from '../registry/store';
import type { WriteOptions } from '../registry/options';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from '../registry/deletion';
import type { ObjectMeta, OwnerReference } from '../../crds/types';
import { planCollection, type Action, type GraphObject, type KindScope } from './graph';

export interface GarbageCollectorOptions {
  cache: WatchCache;
  /** The stores of the kinds collected (ClusterStream, Stream, Processor), all of one API group. */
  stores: readonly ResourceStore[];
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** A sweep follows a change after this delay, so a burst of changes costs one sweep. */
  debounceMs?: number;
  /** A sweep also runs this often, whatever happened (kube's resync). */
  resyncIntervalMs?: number;
  /** Where the collector reports that it runs and what its actions came to (the server's /metrics registry). */
  registry?: Registry;
}

const FIELD_MANAGER = 'garbage-collector';
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 60_000;

/** The object changed or went away since the snapshot: the next sweep sees what it is now. */
class ObjectReplaced extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether an object takes part in garbage collection at all (owned, or carrying one of our finalizers). */
function concernsCollector(object: JsonObject): boolean {
  const meta = isRecord(object.metadata) ? (object.metadata as ObjectMeta) : {};
  return (meta.ownerReferences ?? []).length > 0
    || (meta.finalizers ?? []).some((f) => f === ORPHAN_FINALIZER || f === FOREGROUND_FINALIZER);
}

function revisionOf(object: JsonObject): number {
  const meta = isRecord(object.metadata) ? object.metadata : {};
  return Number(meta.resourceVersion) || 0;
}

function commonPrefix(values: readonly string[]): string {
  if (values.length === 0) return '';
  let prefix = values[0];
  for (const v of values) while (!v.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

export class GarbageCollector {
  private readonly storesByKind: Map<string, ResourceStore>;
  private readonly scope: KindScope;
  private readonly prefix: string;
  private subscription: CacheSubscription | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;
  private dirty = false;
  private stopped = true;
  /** True when the last sweep saw an object that concerns the collector: then every change may matter. */
  private anyConcerned = true;
  private readonly failures = new Map<string, { count: number; notBefore: number }>();
  private readonly reported = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private readonly runningGauge: Gauge | undefined;
  private readonly actionsTotal: Counter<'action' | 'outcome'> | undefined;

  constructor(private readonly options: GarbageCollectorOptions) {
    this.storesByKind = new Map(options.stores.map((s) => [s.definition.kind, s]));
    const groups = new Set(options.stores.map((s) => s.definition.group));
    if (groups.size !== 1) throw new Error('the garbage collector serves the kinds of one API group');
    this.scope = {
      group: [...groups][0],
      namespacedByKind: new Map(options.stores.map((s) => [s.definition.kind, s.namespaced])),
    };
    this.prefix = commonPrefix(options.stores.map((s) => s.keyPrefix('')));
    if (options.registry) {
      // Summed over `--workers N` by /metrics: exactly one collector should run per etcd prefix.
      this.runningGauge = new Gauge({ name: 'apiserver_garbage_collector_running', help: 'Garbage collectors running in this server (1 or 0; summed over workers, the number of collectors).', registers: [options.registry] });
      this.actionsTotal = new Counter({
        name: 'apiserver_garbage_collector_actions_total',
        help: 'Actions of the garbage collector by kind (delete, removeOwnerReferences, unblockOwnerReferences, removeFinalizer) and outcome: done, changed (the object changed meanwhile: 404/409, planned again) or failed (retried).',
        labelNames: ['action', 'outcome'],
        registers: [options.registry],
      });
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.follow();
    this.resyncTimer = setInterval(() => this.kick(), this.options.resyncIntervalMs ?? 30_000);
    this.resyncTimer.unref();
    this.runningGauge?.set(1);
    this.options.logger.info({}, 'garbage collector started');
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.sweepTimer = undefined;
    this.runningGauge?.set(0);
    this.releaseIdleWaiters();
  }

  /** Resolves once a sweep found nothing left to do (for tests and orderly shutdowns). */
  whenIdle(): Promise<void> {
    this.kick();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Follows the watch cache from its current state; when the cache relists (its watchers expire), again. */
  private follow(): void {
    if (this.stopped) return;
    const { cache } = this.options;
    if (!cache.ready) {
      setTimeout(() => this.follow(), 200).unref();
      return;
    }
    try {
      this.subscription = cache.subscribe(this.prefix, cache.revision, {
        onEvents: (events: StorageEvent[]) => {
          if (this.anyConcerned || events.some((e) => concernsCollector(e.object))) this.kick();
        },
        onExpired: () => {
          this.subscription = undefined;
          setTimeout(() => this.follow(), 200).unref();
        },
      });
    } catch {
      setTimeout(() => this.follow(), 200).unref();
      return;
    }
    this.anyConcerned = true;
    this.kick();
  }

  private kick(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.running || this.sweepTimer) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      void this.run();
    }, this.options.debounceMs ?? 20);
    this.sweepTimer.unref();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        if (!this.options.cache.ready) break;
        const pass = await this.sweep();
        if (pass.wroteUpTo > pass.revision) {
          // Plan the next step from a snapshot that includes what this pass wrote, not from a stale one.
          await this.options.cache.waitForRevision(pass.wroteUpTo, 3000);
          this.dirty = true;
        } else if (!pass.planned && !this.dirty) {
          this.releaseIdleWaiters();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private releaseIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** One pass over the current state: whether it planned anything, and the highest revision it wrote. */
  private async sweep(): Promise<{ planned: boolean; revision: number; wroteUpTo: number }> {
    const revision = this.options.cache.revision;
    const objects = this.snapshot();
    this.anyConcerned = objects.length > 0;
    if (objects.length === 0) return { planned: false, revision, wroteUpTo: 0 };
    const plan = planCollection(objects, this.scope);
    for (const problem of plan.problems) {
      if (this.reported.has(problem)) continue;
      this.reported.add(problem);
      this.options.logger.warn({ reason: 'OwnerRefInvalidNamespace' }, problem);
    }
    let wroteUpTo = 0;
    const now = Date.now();
    for (const action of plan.actions) {
      if (this.stopped) break;
      const key = this.actionKey(action);
      const failed = this.failures.get(key);
      if (failed && failed.notBefore > now) continue;
      try {
        wroteUpTo = Math.max(wroteUpTo, await this.perform(action));
        this.failures.delete(key);
        this.actionsTotal?.inc({ action: action.type, outcome: 'done' });
      } catch (err) {
        if (err instanceof ObjectReplaced || (err instanceof ApiError && (err.code === 404 || err.code === 409))) {
          this.actionsTotal?.inc({ action: action.type, outcome: 'changed' });
          continue;
        }
        this.actionsTotal?.inc({ action: action.type, outcome: 'failed' });
        const count = (failed?.count ?? 0) + 1;
        const delay = Math.min(RETRY_FIRST_MS * 2 ** (count - 1), RETRY_MAX_MS);
        this.failures.set(key, { count, notBefore: Date.now() + delay });
        setTimeout(() => this.kick(), delay).unref();
        this.options.logger.warn({ action: key, attempt: count, err: err instanceof Error ? err.message : String(err) }, 'garbage collector: action failed, will retry');
      }
    }
    // Forget failures of actions no longer planned (their object changed or went).
    const planned = new Set(plan.actions.map((a) => this.actionKey(a)));
    for (const key of this.failures.keys()) if (!planned.has(key)) this.failures.delete(key);
    return { planned: plan.actions.length > 0, revision, wroteUpTo };
  }

  /** The objects of our kinds that concern the collector, plus every possible owner. */
  private snapshot(): GraphObject[] {
    const all: GraphObject[] = [];
    let concerned = false;
    for (const store of this.options.stores) {
      for (const item of this.options.cache.snapshot(store.keyPrefix('')).items) {
        const meta = isRecord(item.object.metadata) ? (item.object.metadata as ObjectMeta) : undefined;
        if (!meta || typeof meta.uid !== 'string' || typeof meta.name !== 'string') continue;
        if (!concerned && concernsCollector(item.object)) concerned = true;
        all.push({
          kind: store.definition.kind,
          namespace: store.namespaced ? String(meta.namespace ?? '') : '',
          name: meta.name,
          uid: meta.uid,
          resourceVersion: String(item.revision),
          deleting: Boolean(meta.deletionTimestamp),
          finalizers: Array.isArray(meta.finalizers) ? meta.finalizers.filter((f): f is string => typeof f === 'string') : [],
          ownerReferences: Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter((r): r is OwnerReference => isRecord(r)) : [],
        });
      }
    }
    // Nothing owned and no deletion of ours under way: nothing to collect.
    return concerned ? all : [];
  }

  private actionKey(action: Action): string {
    const o = action.object;
    const detail = action.type === 'delete' ? action.policy : action.type === 'removeFinalizer' ? action.finalizer : action.ownerUids.join(',');
    return `${action.type}:${o.kind}:${o.namespace}/${o.name}:${o.uid}:${detail}`;
  }

  private writeOptions(): WriteOptions {
    return { dryRun: false, fieldManager: FIELD_MANAGER, fieldValidation: 'Ignore', warnings: [] };
  }

  /** Carries out one action; answers the revision the object is at afterwards. */
  private async perform(action: Action): Promise<number> {
    const store = this.storesByKind.get(action.object.kind);
    if (!store) return 0;
    const { namespace, name, uid } = action.object;
    const sameObject = (current: JsonObject): Record<string, unknown> & ObjectMeta => {
      const meta = (isRecord(current.metadata) ? current.metadata : {}) as Record<string, unknown> & ObjectMeta;
      if (meta.uid !== uid) throw new ObjectReplaced();
      return meta;
    };
    switch (action.type) {
      case 'delete': {
        // Pinned to the version planned from: if the object changed since (a new owner, say), it is planned again.
        const deleted = await store.delete(namespace, name, { dryRun: false, propagationPolicy: action.policy, preconditions: { uid, resourceVersion: action.object.resourceVersion } });
        this.options.logger.info({ kind: action.object.kind, namespace, name, policy: action.policy }, 'garbage collector: deleted a dependent whose owners are gone');
        return revisionOf(deleted);
      }
      case 'removeOwnerReferences': {
        const updated = await store.updateWith(namespace, name, this.writeOptions(), (current) => {
          const meta = sameObject(current);
          const kept = (meta.ownerReferences ?? []).filter((r) => !action.ownerUids.includes(r.uid));
          if (kept.length > 0) meta.ownerReferences = kept; else delete meta.ownerReferences;
          return current;
        });
        if (revisionOf(updated) > Number(action.object.resourceVersion)) {
          this.options.logger.info({ kind: action.object.kind, namespace, name, owners: action.ownerUids }, 'garbage collector: removed owner references');
        }
        return revisionOf(updated);
      }
      case 'unblockOwnerReferences': {
        const updated = await store.updateWith(namespace, name, this.writeOptions(), (current) => {
          const meta = sameObject(current);
          if (meta.ownerReferences) meta.ownerReferences = meta.ownerReferences.map((r) => (action.ownerUids.includes(r.uid) && r.blockOwnerDeletion === true ? { ...r, blockOwnerDeletion: false } : r));
          return current;
        });
        if (revisionOf(updated) > Number(action.object.resourceVersion)) {
          this.options.logger.info({ kind: action.object.kind, namespace, name, owners: action.ownerUids }, 'garbage collector: owner references no longer block their owners, which waited for each other');
        }
        return revisionOf(updated);
      }
      case 'removeFinalizer': {
        const updated = await store.updateWith(namespace, name, this.writeOptions(), (current) => {
          const meta = sameObject(current);
          const kept = (meta.finalizers ?? []).filter((f) => f !== action.finalizer);
          if (kept.length > 0) meta.finalizers = kept; else delete meta.finalizers;
          return current;
        });
        if (revisionOf(updated) > Number(action.object.resourceVersion)) {
          this.options.logger.info({ kind: action.object.kind, namespace, name, finalizer: action.finalizer }, 'garbage collector: removed its finalizer');
        }
        return revisionOf(updated);
      }
    }
  }
}
