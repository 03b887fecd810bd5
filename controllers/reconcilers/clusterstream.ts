// ClusterStream: make the destination exist on the broker the spec names (spec.storage.server.url; the default
// server when unset), with enough partitions for every Stream that claims it and every consumer replica; publish
// the address without credentials; finalizer so `reclaimPolicy: Delete` removes the destination.
import type { ClusterStream, ClusterStreamStatus, Processor, Stream } from '../../crds/types';
import { protocolOf, publicAddress } from '../brokers';
import { setCondition } from '../conditions';
import { CLUSTER_STREAM_FINALIZER, setFinalizer, writeStatus, type ControllerContext } from '../context';
import { streamClusterStreamName } from './stream';
import { desiredReplicas, isPartitionedStream, DEFAULT_PARTITION_COUNT } from '../workload';
import type { ReconcileOutcome } from '../queue';

export async function reconcileClusterStream(ctx: ControllerContext, key: string): Promise<ReconcileOutcome | void> {
  let cs = ctx.clusterStreams.get(key);
  if (!cs) return;
  const generation = cs.metadata.generation;
  const storage = cs.spec.storage ?? {};
  const protocol = protocolOf(storage.server?.protocol, storage.attributes?.protocolAdapterName);
  const endpoint = protocol ? ctx.brokers.endpoint(protocol, storage.server?.url) : undefined;

  if (cs.metadata.deletionTimestamp) {
    if (!cs.metadata.finalizers?.includes(CLUSTER_STREAM_FINALIZER)) return;
    if (storage.reclaimPolicy === 'Delete' && protocol && endpoint) {
      try {
        await ctx.brokers.provisioner(protocol, endpoint).remove(endpoint, cs.spec.name);
      } catch (err) {
        await fail(ctx, cs, 'ReclaimFailed', `could not delete ${cs.spec.name} on ${endpoint.url}: ${errorText(err)}`);
        throw err;
      }
    }
    await setFinalizer(ctx, ctx.clusterStreams, cs, CLUSTER_STREAM_FINALIZER, false);
    return;
  }

  cs = await setFinalizer(ctx, ctx.clusterStreams, cs, CLUSTER_STREAM_FINALIZER, true);
  const claims = claimsOf(ctx, cs);
  const base: ClusterStreamStatus = {
    ...(storage.server?.binding ? { binding: { name: storage.server.binding } } : {}),
    claimRefs: claims.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort(),
  };
  if (!protocol) {
    await writeStatus(ctx, ctx.clusterStreams, cs, {
      ...base, observedGeneration: generation,
      conditions: setCondition(cs.status?.conditions, { status: 'False', reason: 'UnsupportedProtocol', message: `protocol "${storage.server?.protocol ?? ''}" is not supported; use kafka or rabbitmq`, observedGeneration: generation }),
    });
    return;
  }
  if (!endpoint) {
    await writeStatus(ctx, ctx.clusterStreams, cs, {
      ...base, observedGeneration: generation,
      conditions: setCondition(cs.status?.conditions, { status: 'False', reason: 'NoServer', message: `spec.storage.server.url is empty and no default ${protocol} server is configured (--${protocol === 'kafka' ? 'kafka-brokers' : 'rabbitmq-url'})`, observedGeneration: generation }),
    });
    return;
  }
  const partitions = partitionsNeeded(ctx, claims);
  try {
    await ctx.brokers.provisioner(protocol, endpoint).ensure(endpoint, cs.spec.name, partitions);
  } catch (err) {
    await fail(ctx, cs, 'ProvisioningFailed', `could not create ${protocol === 'kafka' ? 'topic' : 'exchange'} "${cs.spec.name}" on ${endpoint.url}: ${errorText(err)}`);
    throw err;
  }
  const address = publicAddress(protocol, endpoint.url);
  await writeStatus(ctx, ctx.clusterStreams, cs, {
    ...base,
    observedGeneration: generation,
    storageAddress: { server: { production: address } },
    conditions: setCondition(cs.status?.conditions, {
      status: 'True', reason: 'ProtocolDeployed',
      message: `${protocol === 'kafka' ? `topic "${cs.spec.name}" (${partitions} partition${partitions === 1 ? '' : 's'})` : `exchange "${cs.spec.name}"`} ready on ${endpoint.url}`,
      observedGeneration: generation,
    }),
  });
}

/** Streams bound to (or about to bind to) this ClusterStream. */
export function claimsOf(ctx: ControllerContext, cs: ClusterStream): Stream[] {
  return ctx.streams.list().filter((s) => !s.metadata.deletionTimestamp && streamClusterStreamName(s) === cs.metadata.name);
}

/** Enough partitions for the claiming Streams' partitionCount and for every replica of the Processors reading them. */
function partitionsNeeded(ctx: ControllerContext, claims: Stream[]): number {
  let needed = 1;
  for (const s of claims) {
    if (isPartitionedStream(s) || s.spec.partitionCount) needed = Math.max(needed, s.spec.partitionCount ?? DEFAULT_PARTITION_COUNT);
    for (const p of readersOf(ctx, s)) needed = Math.max(needed, desiredReplicas(p));
  }
  return needed;
}

function readersOf(ctx: ControllerContext, s: Stream): Processor[] {
  return ctx.processors.list().filter((p) => p.metadata.namespace === s.metadata.namespace && (p.spec.inputs ?? []).some((i) => i.name === s.metadata.name));
}

async function fail(ctx: ControllerContext, cs: ClusterStream, reason: string, message: string): Promise<void> {
  await writeStatus(ctx, ctx.clusterStreams, cs, {
    ...(cs.status ?? {}),
    observedGeneration: cs.metadata.generation,
    conditions: setCondition(cs.status?.conditions, { status: 'False', reason, message, observedGeneration: cs.metadata.generation }),
  }).catch((err: unknown) => ctx.log.warn({ err: errorText(err) }, 'could not write status'));
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
