// Stream: bind to spec.storage.clusterStream, or auto-provision `<name>-cluster-stream` (dev mode) with the
// Stream's protocol on the default server; refuse a protocol mismatch; copy the storage address; finalizer.
import type { ClusterStream, Stream, StreamStatus } from '../../crds/types';
import { API_VERSION } from '../../crds/types';
import { protocolOf } from '../brokers';
import { findCondition, isReady, setCondition } from '../conditions';
import { STREAM_FINALIZER, setFinalizer, writeStatus, type ControllerContext } from '../context';
import { errorText } from './clusterstream';
import { isApiError } from '../kube/client';
import { servedLocallyNote } from '../in-cluster';
import { schemaRegistryOf } from '../workload';

export function streamClusterStreamName(s: Stream): string {
  return s.spec.storage?.clusterStream || `${s.metadata.name ?? ''}-cluster-stream`;
}

export async function reconcileStream(ctx: ControllerContext, key: string): Promise<void> {
  let stream = ctx.streams.get(key);
  if (!stream) return;
  if (stream.metadata.deletionTimestamp) {
    await setFinalizer(ctx, ctx.streams, stream, STREAM_FINALIZER, false);
    return;
  }
  stream = await setFinalizer(ctx, ctx.streams, stream, STREAM_FINALIZER, true);
  const generation = stream.metadata.generation;
  const csName = streamClusterStreamName(stream);
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
    }
    await set('False', 'AutoProvisionClusterStream', `created ClusterStream "${csName}"; waiting for it to be ready`);
    return;
  }
  const csProtocol = protocolOf(cs.spec.storage?.server?.protocol, cs.spec.storage?.attributes?.protocolAdapterName);
  if (csProtocol !== stream.spec.protocol) {
    await set('False', 'ProtocolMismatch', `Stream protocol "${stream.spec.protocol}" does not match ClusterStream "${csName}" protocol "${cs.spec.storage?.server?.protocol ?? ''}"`);
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
    metadata: { name, labels: { 'streaming.tanzu.vmware.com/auto-provisioned': 'true' } },
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
