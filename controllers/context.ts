// What every reconciler shares: its shape (`Reconciler`), what it reads and writes through (the API, the informers'
// caches, brokers, the runtime, options, the queues of other kinds) and the one way status and finalizers are
// written. The context is built once by the manager; the seams are interfaces so the reconcilers' unit tests can give
// them in-memory stand-ins (reconcilers/test-support.ts).
import type { Logger } from 'pino';
import type { ClusterStream, ConditionStatus, KindName, Processor, Stream, StreamingResource } from '../crds/types';
import type { BrokerDirectory } from './brokers';
import { redactCredentials } from '../crds/addresses';
import { errorText, setCondition } from './conditions';
import type { StreamingClient } from './kube/client';
import type { ReconcileOutcome } from './queue';
import type { Runtime } from './runtime/types';

export type { ReconcileOutcome } from './queue';

export interface ControllerOptions {
  autoProvisionClusterStreams: boolean;
  autoProvisionStreams: boolean;
  /** Requeue delay while waiting on something outside the API (a broker that is down). */
  retryDelayMs: number;
}

/** The writes reconcilers make to the API server. */
export type ApiWriter = Pick<StreamingClient, 'create' | 'patch' | 'patchStatus'>;

/** What reconcilers read of an informer: its cache, plus `observe` to put their own writes in it at once. */
export interface ObjectCache<T extends StreamingResource> {
  get(key: string): T | undefined;
  list(): T[];
  observe(obj: T): void;
}

/** What reconcilers ask of the broker directory (brokers.ts): where a server is, and who provisions on it. */
export type BrokerLookup = Pick<BrokerDirectory, 'endpoint' | 'provisioner' | 'schemaRegistry' | 'defaultSchemaRegistry'>;

export interface ControllerContext {
  client: ApiWriter;
  clusterStreams: ObjectCache<ClusterStream>;
  streams: ObjectCache<Stream>;
  processors: ObjectCache<Processor>;
  brokers: BrokerLookup;
  runtime: Runtime;
  options: ControllerOptions;
  log: Logger;
  enqueue(kind: KindName, key: string): void;
}

/** One reconciler per kind, all of this shape: level-triggered on the key (`namespace/name`, or the name of a
 *  cluster-scoped object); a rejection is retried with backoff by the work queue, after the reconciler has written
 *  what went wrong into status (reportFailure). */
export type Reconciler = (ctx: ControllerContext, key: string) => Promise<ReconcileOutcome>;

/** Nothing more to do until something changes. */
export const DONE: ReconcileOutcome = Object.freeze({});

/** Look again after `ms`, e.g. while waiting for something no event announces. */
export function requeueAfter(ms: number): ReconcileOutcome {
  return { requeueAfterMs: ms };
}

export const STREAM_FINALIZER = 'finalizer.streams.streaming.tanzu.vmware.com';
export const CLUSTER_STREAM_FINALIZER = 'finalizer.clusterstreams.streaming.tanzu.vmware.com';
export const FIELD_MANAGER = 'sr-controllers';

/** Adds or removes a finalizer with an optimistic-concurrency check, and caches the result. */
export async function setFinalizer<T extends StreamingResource>(ctx: ControllerContext, cache: ObjectCache<T>, obj: T, finalizer: string, present: boolean): Promise<T> {
  const current = obj.metadata.finalizers ?? [];
  if (current.includes(finalizer) === present) return obj;
  const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
  const updated = await ctx.client.patch<T>(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '', {
    metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
  });
  // The last finalizer of a deleting object: the API server deletes it now; the watch reports that.
  if (!(obj.metadata.deletionTimestamp && finalizers.length === 0)) cache.observe(updated);
  return updated;
}

/** Writes status through the /status subresource when it differs from what is stored (in content: the API server
 *  keeps the order of fields it already had, so a field added later comes last there). */
export async function writeStatus<T extends StreamingResource>(ctx: ControllerContext, cache: ObjectCache<T>, obj: T, status: NonNullable<T['status']>): Promise<T> {
  if (canonicalJson(obj.status ?? {}) === canonicalJson(status)) return obj;
  const updated = await ctx.client.patchStatus<T>(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '', statusPatch(obj.status ?? {}, status));
  cache.observe(updated);
  return updated;
}

/** The Ready condition a reconciler reports: the message is for humans and is written without credentials. */
export interface ReadyReport {
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** A kind's status fields besides the two every status carries (conditions, observedGeneration). */
export type StatusFields<T extends StreamingResource> = Omit<NonNullable<T['status']>, 'conditions' | 'observedGeneration'>;

/** THE way reconcilers write status: `fields`, the object's generation as observedGeneration, and the Ready condition
 *  for that generation (lastTransitionTime kept while its status stays), credentials removed from the message. */
export async function writeReady<T extends StreamingResource>(ctx: ControllerContext, cache: ObjectCache<T>, obj: T, ready: ReadyReport, fields: StatusFields<T>): Promise<T> {
  const generation = obj.metadata.generation;
  const status = {
    ...fields,
    observedGeneration: generation,
    conditions: setCondition(obj.status?.conditions, { status: ready.status, reason: ready.reason, message: redactCredentials(ready.message), observedGeneration: generation }),
  } as NonNullable<T['status']>;
  return writeStatus(ctx, cache, obj, status);
}

/** A reconcile that fails on something outside the API (a broker, the runtime): says why in status, then rejects with
 *  the original error so the work queue retries with backoff. A status write that fails too is only logged: the
 *  error worth retrying on is the first. */
export async function reportFailure<T extends StreamingResource>(ctx: ControllerContext, cache: ObjectCache<T>, obj: T, ready: Omit<ReadyReport, 'status'>, fields: StatusFields<T>, err: unknown): Promise<never> {
  await writeReady(ctx, cache, obj, { status: 'False', ...ready }, fields)
    .catch((writeErr: unknown) => ctx.log.warn({ kind: obj.kind, name: obj.metadata.name, err: errorText(writeErr) }, 'could not write status'));
  throw err;
}

/** JSON with every object's keys sorted: equal for equal content whatever the order of fields. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/** A merge patch from `before` to `after` at the top level of status (removed fields become null). */
function statusPatch(before: object, after: object): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...after };
  for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
  return patch;
}
