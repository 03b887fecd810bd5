// Stream: bind to spec.storage.clusterStream, or auto-provision `<name>-cluster-stream` (dev mode) with the
// Stream's protocol on the default server; refuse a protocol mismatch, a destination mismatch and a ClusterStream
// claimed by another namespace; copy the storage address; finalizer. A named ClusterStream the Stream was bound to
// and that was deleted is not created again (ClusterStreamLost).
// ClusterStreams are cluster-wide, Streams are not. Like a PersistentVolume bound to one claim, a ClusterStream
// serves the Streams of ONE namespace: the first Stream that binds it writes its namespace into the ClusterStream's
// claim label (with a resourceVersion precondition, so two namespaces racing cannot both win), and a Stream of
// another namespace is refused (`ClusterStreamClaimed`). An auto-provisioned ClusterStream keeps the original's name
// `<name>-cluster-stream` unless another namespace holds it (then `<name>-<namespace>-cluster-stream`), and keeps the
// Stream's spec.name as its topic/exchange unless a ClusterStream of another namespace (or an unclaimed one) already
// provides that destination on the same server (then `<namespace>.<spec.name>`): the same Stream in two namespaces
// never shares data. The destination a Processor uses is its Stream's ClusterStream's spec.name (claims.ts
// streamDestination).
import { createHash } from 'node:crypto';
import type { ClusterStream, Stream, StreamStatus } from '../../crds/types';
import { API_VERSION } from '../../crds/types';
import {
  AUTO_PROVISIONED_LABEL, CLAIM_NAMESPACE_LABEL, claimNamespace, clusterStreamProtocol, fits, namespaceOf, namespacedDestination, providesDestination,
} from '../claims';
import { errorText, findCondition, isReady } from '../conditions';
import { DONE, STREAM_FINALIZER, reportFailure, requeueAfter, setFinalizer, writeReady, type ControllerContext, type ReadyReport, type Reconciler } from '../context';
import { servedLocallyNote } from '../in-cluster';
import { isApiError } from '../kube/client';
import { schemaRegistryOf } from '../workload';

/** The name of a Stream's auto-provisioned ClusterStream: the original's `<name>-cluster-stream` when it is free or
 *  fits this Stream (claimed by its namespace, or unclaimed, and providing its destination); else
 *  `<name>-<namespace>-cluster-stream`; else (a leftover, Retain, of an earlier Stream of that name with another
 *  destination) the same with a hash of the destination. */
function autoClusterStreamName(ctx: ControllerContext, s: Stream): string {
  const ns = namespaceOf(s);
  const name = s.metadata.name ?? '';
  const candidates = [
    `${name}-cluster-stream`,
    `${name}-${ns}-cluster-stream`,
    `${name}-${ns}-${createHash('sha256').update(s.spec.name).digest('hex').slice(0, 8)}-cluster-stream`,
  ];
  for (const candidate of candidates) {
    const existing = ctx.clusterStreams.get(candidate);
    if (!existing || fits(existing, s)) return candidate;
  }
  return candidates[candidates.length - 1]; // taken by another namespace: refused below
}

/** Is `destination` provided on the default server of `protocol` by a ClusterStream that is not this namespace's
 *  (claimed by another, or unclaimed and so claimable by any namespace but this one's Streams do not name it)? */
function destinationTaken(ctx: ControllerContext, protocol: Stream['spec']['protocol'], destination: string, namespace: string): boolean {
  const server = ctx.brokers.endpoint(protocol, undefined)?.url;
  return ctx.clusterStreams.list().some((cs) => {
    if (cs.spec.name !== destination || cs.metadata.deletionTimestamp) return false;
    if (clusterStreamProtocol(cs) !== protocol || ctx.brokers.endpoint(protocol, cs.spec.storage?.server?.url)?.url !== server) return false;
    const owner = claimNamespace(cs);
    // An unclaimed one that a Stream of this namespace names is about to be this namespace's: share it, as the
    // user asked, rather than split one namespace's data over two topics depending on which Stream came first.
    if (owner === undefined) return !ctx.streams.list().some((s) => namespaceOf(s) === namespace && s.spec.storage?.clusterStream === cs.metadata.name);
    return owner !== namespace;
  });
}

/** Auto-provisioning decisions (name, destination, create, cache) one at a time: only the leader reconciles, so this
 *  in-process lock is enough for two namespaces' Streams reconciled at once never to pick the same destination. */
let provisioning: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = provisioning.then(work, work);
  provisioning = run.catch(() => undefined);
  return run;
}

export const reconcileStream: Reconciler = async (ctx, key) => {
  let stream = ctx.streams.get(key);
  if (!stream) return DONE;
  if (stream.metadata.deletionTimestamp) {
    await setFinalizer(ctx, ctx.streams, stream, STREAM_FINALIZER, false);
    return DONE;
  }
  stream = await setFinalizer(ctx, ctx.streams, stream, STREAM_FINALIZER, true);
  const ns = namespaceOf(stream);
  // Named, else the one it was bound to while that still fits (a name recorded before another namespace's Stream
  // won the same name is chosen again), else a fresh choice.
  const previous = stream.status?.clusterStreamName;
  const chooseName = (s: Stream): string => {
    const bound = previous ? ctx.clusterStreams.get(previous) : undefined;
    return s.spec.storage?.clusterStream || (previous && (!bound || fits(bound, s)) ? previous : autoClusterStreamName(ctx, s));
  };
  let csName = chooseName(stream);
  const fields = (extra: Partial<StreamStatus> = {}): Omit<StreamStatus, 'conditions' | 'observedGeneration'> => ({ clusterStreamName: csName, ...extra });
  const report = async (ready: ReadyReport, extra?: Partial<StreamStatus>): Promise<void> => {
    await writeReady(ctx, ctx.streams, stream!, ready, fields(extra));
  };

  let cs = ctx.clusterStreams.get(csName);
  if (!cs && stream.spec.storage?.clusterStream && previous === csName && wasBound(stream)) {
    // The ClusterStream this Stream names and was bound to is gone: someone deleted it. Creating it again would undo
    // their deletion (and race the wait of their `kubectl delete`, which would find a new object under the name):
    // the claim is Lost, as a PersistentVolumeClaim's is when its volume goes, until the ClusterStream is back.
    await report({ status: 'False', reason: 'ClusterStreamLost', message: `ClusterStream "${csName}" this Stream was bound to was deleted; create it again, or name another in spec.storage.clusterStream (or leave it out for an auto-provisioned one)` });
    return DONE;
  }
  if (!cs) {
    if (!ctx.options.autoProvisionClusterStreams) {
      await report({ status: 'False', reason: 'NoClusterStreamFound', message: `ClusterStream "${csName}" does not exist and auto-provisioning is off` });
      return DONE;
    }
    const s = stream;
    const outcome = await oneAtATime(async (): Promise<'created' | 'exists' | 'conflict'> => {
      csName = chooseName(s); // what others created meanwhile is in the cache now
      if (ctx.clusterStreams.get(csName)) return 'exists';
      const destination = destinationTaken(ctx, s.spec.protocol, s.spec.name, ns) ? namespacedDestination(ns, s.spec.name) : s.spec.name;
      try {
        ctx.clusterStreams.observe(await ctx.client.create<ClusterStream>(autoClusterStream(s, csName, destination)));
        return 'created';
      } catch (err) {
        if (isApiError(err, 409)) return 'conflict';
        throw err;
      }
    }).catch((err: unknown) => reportFailure(ctx, ctx.streams, s, { reason: 'AutoProvisionFailed', message: `could not create ClusterStream "${csName}": ${errorText(err)}` }, fields(), err));
    // Created meanwhile by someone else (an administrator, another controller): look again once the informer has
    // it, rather than recording a name that may not be ours.
    if (outcome === 'conflict') return requeueAfter(200);
    if (outcome === 'created') {
      const made = ctx.clusterStreams.get(csName);
      await report({ status: 'False', reason: 'AutoProvisionClusterStream', message: `created ClusterStream "${csName}" (${made?.spec.name ?? stream.spec.name}); waiting for it to be ready` });
      return DONE;
    }
    cs = ctx.clusterStreams.get(csName)!;
  }
  // One namespace per ClusterStream: the first Stream to bind it claims it for its namespace (the precondition makes
  // a race between two namespaces end with one 409).
  const owner = claimNamespace(cs);
  if (owner !== undefined && owner !== ns) {
    await report({ status: 'False', reason: 'ClusterStreamClaimed', message: `ClusterStream "${csName}" is claimed by namespace "${owner}" (a ClusterStream serves the Streams of one namespace); name another in spec.storage.clusterStream, or leave it out to get one of this namespace's own` });
    return DONE;
  }
  if (clusterStreamProtocol(cs) !== stream.spec.protocol) {
    await report({ status: 'False', reason: 'ProtocolMismatch', message: `Stream protocol "${stream.spec.protocol}" does not match ClusterStream "${csName}" protocol "${cs.spec.storage?.server?.protocol ?? ''}"` });
    return DONE;
  }
  // The Stream's spec.name is the destination its Processors use: bound to a ClusterStream that provides another
  // topic/exchange, they would read and write a destination nobody provisioned.
  if (!providesDestination(cs, stream)) {
    await report({ status: 'False', reason: 'DestinationMismatch', message: `Stream spec.name "${stream.spec.name}" differs from ClusterStream "${csName}" spec.name "${cs.spec.name ?? ''}" (the topic/exchange it provides)` });
    return DONE;
  }
  if (owner === undefined) {
    try {
      cs = await ctx.client.patch<ClusterStream>('ClusterStream', undefined, csName, {
        metadata: { labels: { [CLAIM_NAMESPACE_LABEL]: ns }, resourceVersion: cs.metadata.resourceVersion },
      });
      ctx.clusterStreams.observe(cs);
    } catch (err) {
      if (isApiError(err, 409)) return requeueAfter(200); // changed meanwhile (maybe claimed): look again
      throw err;
    }
  }
  if (!isReady(cs.status?.conditions)) {
    const why = findCondition(cs.status?.conditions);
    await report({ status: 'False', reason: 'ClusterStreamNotReady', message: `ClusterStream "${csName}" is not ready${why?.message ? `: ${why.message}` : ''}` });
    return DONE;
  }
  // A registry the Stream names at an in-cluster address is served locally (sr up): say so where users look.
  const registry = schemaRegistryOf(stream);
  const served = registry ? ctx.brokers.schemaRegistry(registry) : undefined;
  const note = served?.inCluster ? `; ${servedLocallyNote('schema-registry', served.inCluster, ctx.brokers.defaultSchemaRegistry() ?? served.url)}` : '';
  const renamed = cs.spec.name !== stream.spec.name ? ` (per namespace: "${stream.spec.name}" is another namespace's)` : '';
  await report(
    { status: 'True', reason: 'StreamDeployed', message: `bound to ClusterStream "${csName}" (${stream.spec.protocol === 'rabbitmq' ? 'exchange' : 'topic'} "${cs.spec.name}"${renamed})${note}` },
    cs.status?.storageAddress ? { storageAddress: cs.status.storageAddress } : {},
  );
  return DONE;
};

/** Did this Stream bind its recorded ClusterStream (claim it, so it existed and was this namespace's)? The reasons
 *  below are only written after the claim. */
function wasBound(stream: Stream): boolean {
  const reason = findCondition(stream.status?.conditions)?.reason;
  return reason === 'StreamDeployed' || reason === 'ClusterStreamNotReady' || reason === 'ClusterStreamLost';
}

function autoClusterStream(stream: Stream, name: string, destination: string): ClusterStream {
  const attributes: Record<string, string> = { namespace: namespaceOf(stream) };
  const adapter = stream.spec.attributes?.protocolAdapterName;
  if (adapter) attributes.protocolAdapterName = adapter;
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterStream',
    metadata: { name, labels: { [AUTO_PROVISIONED_LABEL]: 'true', [CLAIM_NAMESPACE_LABEL]: namespaceOf(stream) } },
    spec: {
      name: destination,
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
