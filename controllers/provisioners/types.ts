// The seam between the ClusterStream reconciler and the brokers: make sure a destination (Kafka topic, RabbitMQ
// exchange) exists with enough partitions, or remove it. One implementation per broker kind.
import type { Protocol } from '../../crds/types';

export interface BrokerEndpoint {
  /** Kafka: bootstrap `host:port,...`; RabbitMQ: `amqp://host:port[/vhost]` (no credentials). */
  url: string;
  credentials?: { username: string; password: string };
  /** The in-cluster address the ClusterStream wrote, when the local runtime serves it locally (in-cluster.ts). */
  inCluster?: string;
}

export interface Provisioner {
  readonly protocol: Protocol;
  /** Idempotent: creates the destination if missing; Kafka partitions only ever grow. Kafka: resolves with the
   *  partitions the topic really has afterwards (fewer than asked when the cluster cannot grow it), so status tells
   *  the truth. */
  ensure(endpoint: BrokerEndpoint, destination: string, partitions: number): Promise<EnsureResult | void>;
  /** Set when `remove` cannot delete anything on this broker: why (shown on ClusterStreams with reclaimPolicy Delete). */
  readonly cannotDelete?: string;
  /** Idempotent: a missing destination is not an error. Resolves `kept` (with why) when the broker cannot delete it. */
  remove(endpoint: BrokerEndpoint, destination: string): Promise<RemoveResult | void>;
  /** RabbitMQ: declares the durable queue of each consumer group (`<destination>.<group>` bound with `#`; a
   *  partitioned group one queue per partition, `<destination>.<group>-<p>` bound with `<destination>-<p>`), as
   *  Spring Cloud Stream's `requiredGroups` does, so what is published before a consumer runs is kept. Kafka has no
   *  need: a topic keeps its records and a new group reads from the earliest offset. */
  ensureConsumerGroups?(endpoint: BrokerEndpoint, destination: string, groups: ConsumerGroup[]): Promise<void>;
  close(): Promise<void>;
}

/** A Processor reading a Stream: its consumer group (the Processor's name) and, for a partitioned input, the
 *  Stream's partition count. */
export interface ConsumerGroup {
  group: string;
  partitions?: number;
}

export interface EnsureResult {
  /** The partitions the topic has now. */
  partitions: number;
}

export type RemoveResult = { outcome: 'deleted' } | { outcome: 'kept'; reason: string };
