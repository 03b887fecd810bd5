// Stream: bind to spec.storage.clusterStream, or auto-provision `<name>-cluster-stream` (dev mode) with the
// Stream's protocol on the default server; refuse a protocol mismatch and a destination mismatch; copy the storage
// address; finalizer.
// ClusterStreams are cluster-wide, Streams are not: the auto-provisioned claim keeps the original's name
// `<name>-cluster-stream` unless that ClusterStream already belongs to another namespace's Stream (or is an
// administrator's for another destination); then it is `<name>-<namespace>-cluster-stream`. The name chosen is kept in
// status.clusterStreamName, so a Stream never moves to another ClusterStream by itself.
import { createHash } from 'node:crypto';
import type { ClusterStream, Stream, StreamStatus } from '../../crds/types';
import { API_VERSION } from '../../crds/types';
import { protocolOf } from '../brokers';
import { findCondition, isReady, setCondition } from '../conditions';
import { STREAM_FINALIZER, setFinalizer, writeStatus, type ControllerContext } from '../context';
import { errorText } from './clusterstream';
import { isApiError } from '../kube/client';
import type { ReconcileOutcome } from '../queue';
import { servedLocallyNote } from '../in-cluster';
import { schemaRegistryOf } from '../workload';

/** The ClusterStream a Stream binds: the one it names, else the one it was bound to (status), else the original's
 *  `<name>-cluster-stream` (reconcileStream may pick the per-namespace name instead: autoClusterStreamName). */
export function streamClusterStreamName(s: Stream): string {
  return s.spec.storage?.clusterStream || s.status?.clusterStreamName || `${s.metadata.name ?? ''}-cluster-stream`;
}

export const AUTO_PROVISIONED_LABEL = 'streaming.tanzu.vmware.com/auto-provisioned';

/** The name of a Stream's auto-provisioned ClusterStream: the original's `<name>-cluster-stream` when it is free or
 *  already this Stream's claim (auto-provisioned for this namespace and destination, or an administrator's
 *  ClusterStream for the same destination, as before); else `<name>-<namespace>-cluster-stream`, so the same Stream
 *  name in two namespaces never shares a claim; else (a leftover, Retain, of an earlier Stream of that name with
 *  another destination) the same with a hash of the destination. */
export function autoClusterStreamName(ctx: ControllerContext, s: Stream): string {
  const ns = s.metadata.namespace ?? 'default';
  const name = s.metadata.name ?? '';
  const candidates = [
    `${name}-cluster-stream`,
    `${name}-${ns}-cluster-stream`,
    `${name}-${ns}-${createHash('sha256').update(s.spec.name).digest('hex').slice(0, 8)}-cluster-stream`,
  ];
  for (const candidate of candidates) {
    const existing = ctx.clusterStreams.get(candidate);
    if (!existing) return candidate;
    const auto = existing.metadata.labels?.[AUTO_PROVISIONED_LABEL] === 'true';
    if (existing.spec.name !== s.spec.name) continue;
    if (!auto || existing.spec.storage?.attributes?.namespace === ns) return candidate;
  }
  return candidates[candidates.length - 1]; // taken by another namespace's same destination: refused as a mismatch
}

/** An auto-provisioned ClusterStream this Stream may bind: missing (to be created), or providing its destination
 *  and (auto-provisioned ones) made for its namespace. */
function claimable(ctx: ControllerContext, s: Stream, name: string): boolean {
  const cs = ctx.clusterStreams.get(name);
  if (!cs) return true;
  if (cs.spec.name !== s.spec.name) return false;
  return cs.metadata.labels?.[AUTO_PROVISIONED_LABEL] !== 'true' || cs.spec.storage?.attributes?.namespace === (s.metadata.namespace ?? 'default');
}

export async function reconcileStream(ctx: ControllerContext, key: string): Promise<ReconcileOutcome | void> {
  let stream = ctx.streams.get(key);
  if (!stream) return;
  if (stream.metadata.deletionTimestamp) {
    await setFinalizer(ctx, ctx.streams, stream, STREAM_FINALIZER, false);
    return;
  }
  stream = await setFinalizer(ctx, ctx.streams, stream, STREAM_FINALIZER, true);
  const generation = stream.metadata.generation;
  // Named, else the one it was bound to while that still fits (a name recorded before another namespace's Stream
  // won the same name is chosen again), else a fresh choice.
  const previous = stream.status?.clusterStreamName;
  const csName = stream.spec.storage?.clusterStream || (previous && claimable(ctx, stream, previous) ? previous : autoClusterStreamName(ctx, stream));
  const set = async (status: 'True' | 'False' | 'Unknown', reason: string, message: string, extra: Partial<StreamStatus> = {}): Promise<void> => {
    const s = stream!;
    await writeStatus(ctx, ctx.streams, s, {
      observedGeneration: generation,
      clusterStreamName: csName,
      ...extra,
      conditions: setCondition(s.status?.conditions, { status, reason, message, observedGeneration: generation }),
    });
  };

  const cs = ctx.clusterStreams.get(csName);
  if (!cs) {
    if (!ctx.options.autoProvisionClusterStreams) {
      await set('False', 'NoClusterStreamFound', `ClusterStream "${csName}" does not exist and auto-provisioning is off`);
      return;
    }
    try {
      const created = await ctx.client.create<ClusterStream>(autoClusterStream(stream, csName));
      ctx.clusterStreams.observe(created);
    } catch (err) {
      if (!isApiError(err, 409)) {
        await set('False', 'AutoProvisionFailed', `could not create ClusterStream "${csName}": ${errorText(err)}`);
        throw err;
      }
      // Created meanwhile by someone else (another namespace's Stream of the same name, reconciled at the same
      // time): look again once the informer has it, rather than recording a name that may not be ours.
      return { requeueAfterMs: 200 };
    }
    await set('False', 'AutoProvisionClusterStream', `created ClusterStream "${csName}"; waiting for it to be ready`);
    return;
  }
  const csProtocol = protocolOf(cs.spec.storage?.server?.protocol, cs.spec.storage?.attributes?.protocolAdapterName);
  if (csProtocol !== stream.spec.protocol) {
    await set('False', 'ProtocolMismatch', `Stream protocol "${stream.spec.protocol}" does not match ClusterStream "${csName}" protocol "${cs.spec.storage?.server?.protocol ?? ''}"`);
    return;
  }
  // The Stream's spec.name is the destination its Processors use: bound to a ClusterStream that provides another
  // topic/exchange, they would read and write a destination nobody provisioned.
  if (cs.spec.name !== stream.spec.name) {
    await set('False', 'DestinationMismatch', `Stream spec.name "${stream.spec.name}" differs from ClusterStream "${csName}" spec.name "${cs.spec.name ?? ''}" (the topic/exchange it provides)`);
    return;
  }
  if (!isReady(cs.status?.conditions)) {
    const why = findCondition(cs.status?.conditions);
    await set('False', 'ClusterStreamNotReady', `ClusterStream "${csName}" is not ready${why?.message ? `: ${why.message}` : ''}`);
    return;
  }
  // A registry the Stream names at an in-cluster address is served locally (sr up): say so where users look.
  const registry = schemaRegistryOf(stream);
  const served = registry ? ctx.brokers.schemaRegistry(registry) : undefined;
  const note = served?.inCluster ? `; ${servedLocallyNote('schema-registry', served.inCluster, ctx.brokers.defaultSchemaRegistry() ?? served.url)}` : '';
  await set('True', 'StreamDeployed', `bound to ClusterStream "${csName}" (${cs.spec.name})${note}`, cs.status?.storageAddress ? { storageAddress: cs.status.storageAddress } : {});
}

function autoClusterStream(stream: Stream, name: string): ClusterStream {
  const attributes: Record<string, string> = { namespace: stream.metadata.namespace ?? 'default' };
  const adapter = stream.spec.attributes?.protocolAdapterName;
  if (adapter) attributes.protocolAdapterName = adapter;
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterStream',
    metadata: { name, labels: { [AUTO_PROVISIONED_LABEL]: 'true' } },
    spec: {
      name: stream.spec.name,
      ...(stream.spec.keys ? { keys: stream.spec.keys } : {}),
      streamModes: stream.spec.streamMode ?? ['read'],
      storage: {
        // No url: "the default server for this protocol", resolved at each reconcile (the original wrote "empty"),
        // so a dev cluster that comes back on other ports (sr up's kafka-mock) is followed.
        server: { protocol: stream.spec.protocol, ...(stream.spec.binding ? { binding: stream.spec.binding } : {}) },
        attributes,
        reclaimPolicy: 'Retain',
      },
    },
  };
}
