// ClusterStream: make the destination exist on the broker the spec names (spec.storage.server.url; the default
// server when unset), with enough partitions for every Stream that claims it and every consumer replica; publish
// the address without credentials; finalizer so `reclaimPolicy: Delete` removes the destination. On RabbitMQ it also
// declares the durable queue of every consumer group reading a claiming Stream (Spring's `requiredGroups`), so what
// is published before a reading Processor runs (replicas 0, still starting, restarting) is kept, not dropped by an
// exchange with no queue bound. A destination another ClusterStream holds on the same broker (claims.ts
// destinationHeldBy) is not provisioned: two namespaces would share its data (`DestinationInUse`).
import type { ClusterStream, ClusterStreamStatus, Stream } from '../../crds/types';
import { publicAddress } from '../brokers';
import { claimNamespace, claimsOf, clusterStreamProtocol, consumerGroupsOf, destinationHeldBy, destinationUsedByOthers, readersOf } from '../claims';
import { errorText } from '../conditions';
import { CLUSTER_STREAM_FINALIZER, DONE, reportFailure, setFinalizer, writeReady, type ControllerContext, type Reconciler, type StatusFields } from '../context';
import { servedLocallyNote } from '../in-cluster';
import type { ConsumerGroup } from '../provisioners/types';
import { desiredReplicas, isPartitionedStream, DEFAULT_PARTITION_COUNT } from '../workload';

export const reconcileClusterStream: Reconciler = async (ctx, key) => {
  let cs = ctx.clusterStreams.get(key);
  if (!cs) return DONE;
  const storage = cs.spec.storage ?? {};
  const protocol = clusterStreamProtocol(cs);
  const endpoint = protocol ? ctx.brokers.endpoint(protocol, storage.server?.url) : undefined;
  const what = protocol === 'kafka' ? 'topic' : 'exchange';

  if (cs.metadata.deletionTimestamp) {
    if (!cs.metadata.finalizers?.includes(CLUSTER_STREAM_FINALIZER)) return DONE;
    if (storage.reclaimPolicy === 'Delete' && protocol && endpoint) {
      if (destinationUsedByOthers(ctx, cs)) {
        // Another ClusterStream's data (it holds the destination, or shares it within its namespace): not ours to delete.
        ctx.log.warn({ clusterStream: cs.metadata.name, destination: cs.spec.name }, 'reclaimPolicy Delete: kept, another ClusterStream uses this destination');
      } else {
        try {
          const removed = await ctx.brokers.provisioner(protocol, endpoint).remove(endpoint, cs.spec.name);
          // The object goes away either way (a finalizer that never clears would block the delete forever), but not
          // silently: the log says the destination was kept, and the status said so while the object lived.
          if (removed?.outcome === 'kept') ctx.log.warn({ clusterStream: cs.metadata.name, destination: cs.spec.name }, `reclaimPolicy Delete: ${removed.reason}`);
        } catch (err) {
          return reportFailure(ctx, ctx.clusterStreams, cs, { reason: 'ReclaimFailed', message: `could not delete ${cs.spec.name} on ${endpoint.url}: ${errorText(err)}` }, keptFields(cs), err);
        }
      }
    }
    await setFinalizer(ctx, ctx.clusterStreams, cs, CLUSTER_STREAM_FINALIZER, false);
    return DONE;
  }

  cs = await setFinalizer(ctx, ctx.clusterStreams, cs, CLUSTER_STREAM_FINALIZER, true);
  const claims = claimsOf(ctx, cs);
  const base: StatusFields<ClusterStream> = {
    ...(storage.server?.binding ? { binding: { name: storage.server.binding } } : {}),
    claimRefs: claims.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort(),
  };
  if (!protocol) {
    await writeReady(ctx, ctx.clusterStreams, cs, { status: 'False', reason: 'UnsupportedProtocol', message: `protocol "${storage.server?.protocol ?? ''}" is not supported; use kafka or rabbitmq` }, base);
    return DONE;
  }
  if (!endpoint) {
    await writeReady(ctx, ctx.clusterStreams, cs, { status: 'False', reason: 'NoServer', message: `spec.storage.server.url is empty and no default ${protocol} server is configured (--${protocol === 'kafka' ? 'kafka-brokers' : 'rabbitmq-url'})` }, base);
    return DONE;
  }
  const holder = destinationHeldBy(ctx, cs);
  if (holder) {
    const claim = claimNamespace(holder);
    await writeReady(ctx, ctx.clusterStreams, cs, {
      status: 'False', reason: 'DestinationInUse',
      message: `${what} "${cs.spec.name}" on ${endpoint.url} is ClusterStream "${holder.metadata.name ?? ''}"'s (created first${claim ? `, claimed by namespace "${claim}"` : ''}): two ClusterStreams providing one destination would let two namespaces share its data; give this one another spec.name, or delete the other`,
    }, base);
    return DONE;
  }
  const partitions = partitionsNeeded(ctx, claims);
  const provisioner = ctx.brokers.provisioner(protocol, endpoint);
  let real: number | undefined;
  try {
    real = (await provisioner.ensure(endpoint, cs.spec.name, partitions))?.partitions;
  } catch (err) {
    return reportFailure(ctx, ctx.clusterStreams, cs, { reason: 'ProvisioningFailed', message: `could not create ${what} "${cs.spec.name}" on ${endpoint.url}: ${errorText(err)}` }, keptFields(cs), err);
  }
  const groups = uniqueGroups(claims.flatMap((s) => consumerGroupsOf(ctx, s)));
  if (provisioner.ensureConsumerGroups && groups.length > 0) {
    try {
      await provisioner.ensureConsumerGroups(endpoint, cs.spec.name, groups);
    } catch (err) {
      return reportFailure(ctx, ctx.clusterStreams, cs, { reason: 'ProvisioningFailed', message: `could not declare the consumer group queues of "${cs.spec.name}" on ${endpoint.url}: ${errorText(err)}` }, keptFields(cs), err);
    }
  }
  // The partitions the topic really has: a cluster that cannot grow topics (the dev Kafka) may have fewer.
  const has = real ?? partitions;
  const plural = (n: number): string => `${n} partition${n === 1 ? '' : 's'}`;
  // Producers of a partitioned claim write to every p < partitionCount: fewer partitions than that lose records.
  const written = Math.max(0, ...claims.filter((s) => isPartitionedStream(s) || s.spec.partitionCount).map((s) => s.spec.partitionCount ?? DEFAULT_PARTITION_COUNT));
  const shortfall = protocol === 'kafka' && has < partitions
    ? `; it has ${plural(has)}, ${partitions} wanted (${has < written ? 'partitioned producers write to' : 'replicas of its readers need'} ${partitions}) and this cluster did not add them`
    : '';
  const reclaim = storage.reclaimPolicy === 'Delete' && provisioner.cannotDelete
    ? `; reclaimPolicy Delete will keep it: ${provisioner.cannotDelete}`
    : '';
  const ready = !(protocol === 'kafka' && has < written);
  await writeReady(ctx, ctx.clusterStreams, cs, {
    status: ready ? 'True' : 'False', reason: ready ? 'ProtocolDeployed' : 'InsufficientPartitions',
    message: `${protocol === 'kafka' ? `topic "${cs.spec.name}" (${plural(has)})` : `exchange "${cs.spec.name}"`} ${ready ? 'ready' : 'too small'} on ${endpoint.url}${endpoint.inCluster ? ` (${servedLocallyNote(protocol, endpoint.inCluster, endpoint.url)})` : ''}${shortfall}${reclaim}`,
  }, { ...base, storageAddress: { server: { production: publicAddress(protocol, endpoint.url) } } });
  return DONE;
};

/** A failure keeps what status said besides Ready (the address, claims) until a reconcile succeeds again. */
function keptFields(cs: ClusterStream): StatusFields<ClusterStream> {
  const { conditions: _conditions, observedGeneration: _generation, ...fields }: ClusterStreamStatus = cs.status ?? {};
  return fields;
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

function uniqueGroups(groups: ConsumerGroup[]): ConsumerGroup[] {
  const byKey = new Map<string, ConsumerGroup>();
  for (const g of groups) byKey.set(`${g.group}/${g.partitions ?? ''}`, g);
  return [...byKey.values()];
}
