// Claims and destinations, shared by the three reconcilers and the manager's triggers. A ClusterStream serves the
// Streams of ONE namespace (its claim, like a PersistentVolume bound to one claim); a Stream binds one ClusterStream
// and its Processors use that ClusterStream's destination (topic/exchange); and a destination on a broker belongs to
// ONE ClusterStream (the first created), or to several claimed by one namespace, never to two namespaces.
import type { ClusterStream, Processor, Protocol, Stream } from '../crds/types';
import { protocolOf, sameKafkaCluster } from './brokers';
import type { ControllerContext } from './context';
import type { BrokerEndpoint, ConsumerGroup } from './provisioners/types';
import { consumerGroupOf, isPartitionedInput, DEFAULT_PARTITION_COUNT } from './workload';

export const AUTO_PROVISIONED_LABEL = 'streaming.tanzu.vmware.com/auto-provisioned';
/** The namespace whose Streams a ClusterStream serves (its claim), written by the first Stream that binds it. */
export const CLAIM_NAMESPACE_LABEL = 'streaming.tanzu.vmware.com/claim-namespace';

export function namespaceOf(o: Stream | Processor): string {
  return o.metadata.namespace ?? 'default';
}

/** The ClusterStream a Stream binds: the one it names, else the one it was bound to (status), else the original's
 *  `<name>-cluster-stream` (the Stream reconciler may pick the per-namespace name instead: autoClusterStreamName). */
export function streamClusterStreamName(s: Stream): string {
  return s.spec.storage?.clusterStream || s.status?.clusterStreamName || `${s.metadata.name ?? ''}-cluster-stream`;
}

export function isAutoProvisioned(cs: ClusterStream): boolean {
  return cs.metadata.labels?.[AUTO_PROVISIONED_LABEL] === 'true';
}

/** The protocol a ClusterStream speaks (server.protocol, or the original's adapter names); undefined = unsupported. */
export function clusterStreamProtocol(cs: ClusterStream): Protocol | undefined {
  return protocolOf(cs.spec.storage?.server?.protocol, cs.spec.storage?.attributes?.protocolAdapterName);
}

/** The namespace a ClusterStream is claimed by: its label, else (auto-provisioned before the label existed) the
 *  namespace it was made for; undefined = free. */
export function claimNamespace(cs: ClusterStream): string | undefined {
  return cs.metadata.labels?.[CLAIM_NAMESPACE_LABEL] ?? (isAutoProvisioned(cs) ? cs.spec.storage?.attributes?.namespace : undefined);
}

/** The per-namespace destination of an auto-provisioned claim whose spec.name another namespace already uses. */
export function namespacedDestination(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/** Does this ClusterStream provide the Stream's destination: its spec.name, or (auto-provisioned for the Stream's
 *  namespace) the per-namespace form of it? */
export function providesDestination(cs: ClusterStream, s: Stream): boolean {
  return cs.spec.name === s.spec.name || (isAutoProvisioned(cs) && cs.spec.name === namespacedDestination(namespaceOf(s), s.spec.name));
}

/** A ClusterStream this Stream may bind: unclaimed or claimed by its namespace, and providing its destination. */
export function fits(cs: ClusterStream, s: Stream): boolean {
  const owner = claimNamespace(cs);
  return (owner === undefined || owner === namespaceOf(s)) && providesDestination(cs, s);
}

/** The topic/exchange a Stream's Processors read and write: the spec.name of the ClusterStream it is bound to
 *  (the per-namespace `<namespace>.<spec.name>` for a second namespace), else its own spec.name. */
export function streamDestination(ctx: ControllerContext, s: Stream): string {
  const bound = s.status?.clusterStreamName ? ctx.clusterStreams.get(s.status.clusterStreamName) : undefined;
  return bound && fits(bound, s) ? bound.spec.name : s.spec.name;
}

/** Streams bound to (or about to bind to) this ClusterStream: of its claim's namespace only (a Stream of another
 *  namespace naming it is refused, and must add neither partitions nor consumer-group queues). */
export function claimsOf(ctx: ControllerContext, cs: ClusterStream): Stream[] {
  const owner = claimNamespace(cs);
  return ctx.streams.list().filter((s) => !s.metadata.deletionTimestamp
    && (streamClusterStreamName(s) === cs.metadata.name || madeFor(cs, s))
    && (owner === undefined || namespaceOf(s) === owner));
}

/** An auto-provisioned ClusterStream is reconciled as soon as it is created, before the Stream it was made for has
 *  recorded its name (`status.clusterStreamName`; until then the Stream names the original's `<name>-cluster-stream`,
 *  not a per-namespace form). That Stream counts already, else the topic is created with one partition and a cluster
 *  that cannot grow topics (the dev Kafka) keeps it so. */
function madeFor(cs: ClusterStream, s: Stream): boolean {
  return isAutoProvisioned(cs) && !s.status?.clusterStreamName && !s.spec.storage?.clusterStream && providesDestination(cs, s)
    && claimNamespace(cs) === namespaceOf(s);
}

/** The Processors of a Stream's namespace that list it as an input. */
export function readersOf(ctx: ControllerContext, s: Stream): Processor[] {
  return ctx.processors.list().filter((p) => p.metadata.namespace === s.metadata.namespace && (p.spec.inputs ?? []).some((i) => i.name === s.metadata.name));
}

/** The consumer groups reading a Stream: one per Processor of its namespace that lists it as an input (group =
 *  workload.ts consumerGroupOf), with the Stream's partition count when that Processor's input is partitioned. */
export function consumerGroupsOf(ctx: ControllerContext, s: Stream): ConsumerGroup[] {
  return readersOf(ctx, s).filter((p) => !p.metadata.deletionTimestamp).map((p) => {
    const inputs = (p.spec.inputs ?? []).flatMap((i) => {
      const stream = ctx.streams.get(`${namespaceOf(p)}/${i.name}`);
      return stream ? [stream] : [];
    });
    const group: ConsumerGroup = { group: consumerGroupOf(namespaceOf(p), p.metadata.name ?? '') };
    if (isPartitionedInput(p, inputs)) group.partitions = s.spec.partitionCount ?? DEFAULT_PARTITION_COUNT;
    return group;
  });
}

/** One broker for two endpoints of a protocol, compared as the BrokerDirectory does (brokers.ts): Kafka bootstrap
 *  lists naming a broker in common, RabbitMQ the same normal address (host, port, vhost; no credentials). */
export function sameBroker(protocol: Protocol, a: BrokerEndpoint, b: BrokerEndpoint): boolean {
  return protocol === 'kafka' ? sameKafkaCluster(a.url, b.url) : a.url === b.url;
}

/** The ClusterStreams, this one included, that provide its destination: same protocol, same broker, same spec.name.
 *  Empty when it names no broker (unsupported protocol, no server). Deleting ones count until they are gone: one
 *  with `reclaimPolicy: Delete` is still removing the destination. */
function providersOfDestination(ctx: ControllerContext, cs: ClusterStream): ClusterStream[] {
  const protocol = clusterStreamProtocol(cs);
  const endpoint = protocol ? ctx.brokers.endpoint(protocol, cs.spec.storage?.server?.url) : undefined;
  if (!protocol || !endpoint) return [];
  return ctx.clusterStreams.list().filter((other) => {
    if (other.spec.name !== cs.spec.name || clusterStreamProtocol(other) !== protocol) return false;
    const at = ctx.brokers.endpoint(protocol, other.spec.storage?.server?.url);
    return !!at && sameBroker(protocol, endpoint, at);
  });
}

/** Created first: the earlier creationTimestamp, then (created in the same second) the smaller name. */
function createdFirst(a: ClusterStream, b: ClusterStream): ClusterStream {
  const at = (cs: ClusterStream): number => Date.parse(cs.metadata.creationTimestamp ?? '') || 0;
  if (at(a) !== at(b)) return at(a) < at(b) ? a : b;
  return (a.metadata.name ?? '') <= (b.metadata.name ?? '') ? a : b;
}

/** The ClusterStream that holds this one's destination (`DestinationInUse`), if another does: of the ClusterStreams
 *  providing it on the same broker, the one created first, unless that is this one or both are claimed by one
 *  namespace (its Streams may share a topic as they ask; two namespaces must not). */
export function destinationHeldBy(ctx: ControllerContext, cs: ClusterStream): ClusterStream | undefined {
  const providers = providersOfDestination(ctx, cs);
  if (providers.length < 2) return undefined;
  const first = providers.reduce(createdFirst);
  if (first.metadata.name === cs.metadata.name) return undefined;
  const claim = claimNamespace(cs);
  return claim !== undefined && claim === claimNamespace(first) ? undefined : first;
}

/** Does a ClusterStream leaving delete data another one uses? True when it never held the destination, or another
 *  ClusterStream that stays (not being deleted) uses it too; then `reclaimPolicy: Delete` must keep it. */
export function destinationUsedByOthers(ctx: ControllerContext, cs: ClusterStream): boolean {
  if (destinationHeldBy(ctx, cs)) return true;
  return providersOfDestination(ctx, cs).some((other) => other.metadata.name !== cs.metadata.name && !other.metadata.deletionTimestamp
    && destinationHeldBy(ctx, other) === undefined);
}
