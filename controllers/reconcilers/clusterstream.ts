// ClusterStream: make the destination exist on the broker the spec names (spec.storage.server.url; the default
// server when unset), with enough partitions for every Stream that claims it and every consumer replica; publish
// the address without credentials; finalizer so `reclaimPolicy: Delete` removes the destination. On RabbitMQ it also
// declares the durable queue of every consumer group reading a claiming Stream (Spring's `requiredGroups`), so what
// is published before a reading Processor runs (replicas 0, still starting, restarting) is kept, not dropped by an
// exchange with no queue bound.
import type { ClusterStream, ClusterStreamStatus, Processor, Stream } from '../../crds/types';
import { protocolOf, publicAddress, redactCredentials } from '../brokers';
import { servedLocallyNote } from '../in-cluster';
import { errorText, setCondition } from '../conditions';
import { CLUSTER_STREAM_FINALIZER, setFinalizer, writeStatus, type ControllerContext } from '../context';
import { claimNamespace, isAutoProvisioned, providesDestination, streamClusterStreamName } from './stream';
import { consumerGroupOf, desiredReplicas, isPartitionedInput, isPartitionedStream, DEFAULT_PARTITION_COUNT } from '../workload';
import type { ConsumerGroup } from '../provisioners/types';
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
        const removed = await ctx.brokers.provisioner(protocol, endpoint).remove(endpoint, cs.spec.name);
        // The object goes away either way (a finalizer that never clears would block the delete forever), but not
        // silently: the log says the destination was kept, and the status said so while the object lived.
        if (removed?.outcome === 'kept') ctx.log.warn({ clusterStream: cs.metadata.name, destination: cs.spec.name }, `reclaimPolicy Delete: ${removed.reason}`);
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
  const provisioner = ctx.brokers.provisioner(protocol, endpoint);
  let real: number | undefined;
  try {
    real = (await provisioner.ensure(endpoint, cs.spec.name, partitions))?.partitions;
  } catch (err) {
    await fail(ctx, cs, 'ProvisioningFailed', `could not create ${protocol === 'kafka' ? 'topic' : 'exchange'} "${cs.spec.name}" on ${endpoint.url}: ${errorText(err)}`);
    throw err;
  }
  const groups = uniqueGroups(claims.flatMap((s) => consumerGroupsOf(ctx, s)));
  if (provisioner.ensureConsumerGroups && groups.length > 0) {
    try {
      await provisioner.ensureConsumerGroups(endpoint, cs.spec.name, groups);
    } catch (err) {
      await fail(ctx, cs, 'ProvisioningFailed', `could not declare the consumer group queues of "${cs.spec.name}" on ${endpoint.url}: ${errorText(err)}`);
      throw err;
    }
  }
  const address = publicAddress(protocol, endpoint.url);
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
  await writeStatus(ctx, ctx.clusterStreams, cs, {
    ...base,
    observedGeneration: generation,
    storageAddress: { server: { production: address } },
    conditions: setCondition(cs.status?.conditions, {
      status: ready ? 'True' : 'False', reason: ready ? 'ProtocolDeployed' : 'InsufficientPartitions',
      message: redactCredentials(`${protocol === 'kafka' ? `topic "${cs.spec.name}" (${plural(has)})` : `exchange "${cs.spec.name}"`} ${ready ? 'ready' : 'too small'} on ${endpoint.url}${endpoint.inCluster ? ` (${servedLocallyNote(protocol, endpoint.inCluster, endpoint.url)})` : ''}${shortfall}${reclaim}`),
      observedGeneration: generation,
    }),
  });
}

/** Streams bound to (or about to bind to) this ClusterStream: of its claim's namespace only (a Stream of another
 *  namespace naming it is refused, and must add neither partitions nor consumer-group queues). */
export function claimsOf(ctx: ControllerContext, cs: ClusterStream): Stream[] {
  const owner = claimNamespace(cs);
  return ctx.streams.list().filter((s) => !s.metadata.deletionTimestamp
    && (streamClusterStreamName(s) === cs.metadata.name || madeFor(cs, s))
    && (owner === undefined || (s.metadata.namespace ?? 'default') === owner));
}

/** An auto-provisioned ClusterStream is reconciled as soon as it is created, before the Stream it was made for has
 *  recorded its name (`status.clusterStreamName`; until then the Stream names the original's `<name>-cluster-stream`,
 *  not a per-namespace form). That Stream counts already, else the topic is created with one partition and a cluster
 *  that cannot grow topics (the dev Kafka) keeps it so. */
function madeFor(cs: ClusterStream, s: Stream): boolean {
  return isAutoProvisioned(cs) && !s.status?.clusterStreamName && !s.spec.storage?.clusterStream && providesDestination(cs, s)
    && claimNamespace(cs) === (s.metadata.namespace ?? 'default');
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

/** The consumer groups reading a Stream: one per Processor of its namespace that lists it as an input (group =
 *  workload.ts consumerGroupOf), with the Stream's partition count when that Processor's input is partitioned. */
export function consumerGroupsOf(ctx: ControllerContext, s: Stream): ConsumerGroup[] {
  return readersOf(ctx, s).filter((p) => !p.metadata.deletionTimestamp).map((p) => {
    const inputs = (p.spec.inputs ?? []).flatMap((i) => {
      const stream = ctx.streams.get(`${p.metadata.namespace ?? 'default'}/${i.name}`);
      return stream ? [stream] : [];
    });
    const group: ConsumerGroup = { group: consumerGroupOf(p.metadata.namespace ?? 'default', p.metadata.name ?? '') };
    if (isPartitionedInput(p, inputs)) group.partitions = s.spec.partitionCount ?? DEFAULT_PARTITION_COUNT;
    return group;
  });
}

function uniqueGroups(groups: ConsumerGroup[]): ConsumerGroup[] {
  const byKey = new Map<string, ConsumerGroup>();
  for (const g of groups) byKey.set(`${g.group}/${g.partitions ?? ''}`, g);
  return [...byKey.values()];
}

function readersOf(ctx: ControllerContext, s: Stream): Processor[] {
  return ctx.processors.list().filter((p) => p.metadata.namespace === s.metadata.namespace && (p.spec.inputs ?? []).some((i) => i.name === s.metadata.name));
}

async function fail(ctx: ControllerContext, cs: ClusterStream, reason: string, message: string): Promise<void> {
  await writeStatus(ctx, ctx.clusterStreams, cs, {
    ...(cs.status ?? {}),
    observedGeneration: cs.metadata.generation,
    conditions: setCondition(cs.status?.conditions, { status: 'False', reason, message: redactCredentials(message), observedGeneration: cs.metadata.generation }),
  }).catch((err: unknown) => ctx.log.warn({ err: errorText(err) }, 'could not write status'));
}

/** An error as status, events and logs show it: credentials a broker client may echo (a URL's user info) removed. */
