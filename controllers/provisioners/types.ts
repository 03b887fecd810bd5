// The seam between the ClusterStream reconciler and the brokers: make sure a destination (Kafka topic, RabbitMQ
// exchange) exists with enough partitions, or remove it. One implementation per broker kind.
import type { Protocol } from '../../crds/types';

export interface BrokerEndpoint {
  /** Kafka: bootstrap `host:port,...`; RabbitMQ: `amqp://host:port[/vhost]` (no credentials). */
  url: string;
  credentials?: { username: string; password: string };
}

export interface Provisioner {
  readonly protocol: Protocol;
  /** Idempotent: creates the destination if missing; Kafka partitions only ever grow. */
  ensure(endpoint: BrokerEndpoint, destination: string, partitions: number): Promise<void>;
  /** Idempotent: a missing destination is not an error. */
  remove(endpoint: BrokerEndpoint, destination: string): Promise<void>;
  close(): Promise<void>;
}
