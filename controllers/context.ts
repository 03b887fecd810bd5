// What every reconciler shares: the API client, the informers' caches, brokers, the runtime, options and the
// queues (to trigger other kinds). Built once by the manager.
import type { Logger } from 'pino';
import type { ClusterStream, Processor, Stream, StreamingResource, KindName } from '../crds/types';
import type { BrokerDirectory } from './brokers';
import type { StreamingClient } from './kube/client';
import type { Informer } from './kube/informer';
import type { Runtime } from './runtime/types';

export interface ControllerOptions {
  autoProvisionClusterStreams: boolean;
  autoProvisionStreams: boolean;
  /** Requeue delay while waiting on something outside the API (a broker that is down). */
  retryDelayMs: number;
}

export interface ControllerContext {
  client: StreamingClient;
  clusterStreams: Informer<ClusterStream>;
  streams: Informer<Stream>;
  processors: Informer<Processor>;
  brokers: BrokerDirectory;
  runtime: Runtime;
  options: ControllerOptions;
  log: Logger;
  enqueue(kind: KindName, key: string): void;
}

export const STREAM_FINALIZER = 'finalizer.streams.streaming.tanzu.vmware.com';
export const CLUSTER_STREAM_FINALIZER = 'finalizer.clusterstreams.streaming.tanzu.vmware.com';
export const FIELD_MANAGER = 'sr-controllers';

/** Adds or removes a finalizer with an optimistic-concurrency check, and caches the result. */
export async function setFinalizer<T extends StreamingResource>(ctx: ControllerContext, informer: Informer<T>, obj: T, finalizer: string, present: boolean): Promise<T> {
  const current = obj.metadata.finalizers ?? [];
  if (current.includes(finalizer) === present) return obj;
  const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
  const updated = await ctx.client.patch<T>(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '', {
    metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion },
  });
  // The last finalizer of a deleting object: the API server deletes it now; the watch reports that.
  if (!(obj.metadata.deletionTimestamp && finalizers.length === 0)) informer.observe(updated);
  return updated;
}

/** Writes status through the /status subresource when it differs from what is stored. */
export async function writeStatus<T extends StreamingResource>(ctx: ControllerContext, informer: Informer<T>, obj: T, status: NonNullable<T['status']>): Promise<T> {
  if (JSON.stringify(obj.status ?? {}) === JSON.stringify(status)) return obj;
  const updated = await ctx.client.patchStatus<T>(obj.kind, obj.metadata.namespace, obj.metadata.name ?? '', statusPatch(obj.status ?? {}, status));
  informer.observe(updated);
  return updated;
}

/** A merge patch from `before` to `after` at the top level of status (removed fields become null). */
function statusPatch(before: object, after: object): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...after };
  for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
  return patch;
}
