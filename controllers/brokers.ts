// Where brokers are and how to reach them. The default server per protocol (`--kafka-brokers`,
// `--rabbitmq-url`) serves auto-provisioned ClusterStreams. Credentials are never published: URLs in status
// are stripped of user info; credentials come from the URL given to the controllers (the default servers), the
// ClusterStream's URL user info, or (in a cluster) the `binding` Secret.
import { addressCredentials, kafkaBrokers, normalAddress, redactCredentials } from '../crds/addresses';
import type { Protocol, StorageServerAddress } from '../crds/types';
import { mapInClusterAddress } from './in-cluster';
import { KafkaAdminProvisioner } from './provisioners/kafka';
import { KafkaMockProvisioner } from './provisioners/kafka-mock';
import { RabbitMqProvisioner } from './provisioners/rabbitmq';
import type { BrokerEndpoint, Provisioner } from './provisioners/types';

export interface BrokerDefaults {
  kafka?: string;
  rabbitmq?: string;
  /** Control address of the dev kafka-mock cluster (then `kafka` is its bootstrap list). */
  kafkaMockControl?: string;
  /** The default schema registry (`sr up`'s development registry or `--schema-registry-url`). */
  schemaRegistry?: string;
  /** Local runtime: in-cluster addresses (`*.svc`, `*.svc.cluster.local`) are served by the defaults (in-cluster.ts). */
  mapInClusterAddresses?: boolean;
}

export const SUPPORTED_PROTOCOLS: readonly Protocol[] = ['kafka', 'rabbitmq'];

/** The protocol a ClusterStream speaks: server.protocol, or the original's adapter names. */
export function protocolOf(protocol: string | undefined, adapter?: string): Protocol | undefined {
  const p = (adapter ?? protocol ?? '').toLowerCase();
  if (p === 'kafka') return 'kafka';
  if (p === 'rabbitmq' || p === 'rabbitmq-operator' || p === 'amqp') return 'rabbitmq';
  return undefined;
}

export class BrokerDirectory {
  private readonly kafkaAdmin = new KafkaAdminProvisioner();
  private readonly kafkaMock: KafkaMockProvisioner | undefined;
  private readonly rabbit = new RabbitMqProvisioner();

  constructor(private readonly defaults: BrokerDefaults) {
    this.kafkaMock = defaults.kafkaMockControl ? new KafkaMockProvisioner(defaults.kafkaMockControl) : undefined;
  }

  /** The default server URL for a protocol, without credentials (goes into auto-provisioned specs). */
  defaultUrl(protocol: Protocol): string | undefined {
    const url = protocol === 'kafka' ? this.defaults.kafka : this.defaults.rabbitmq;
    return url ? stripCredentials(protocol, url) : undefined;
  }

  /** The endpoint to connect to for a ClusterStream URL; unset/"empty" (the original's placeholder) = default. */
  endpoint(protocol: Protocol, specUrl: string | undefined): BrokerEndpoint | undefined {
    const fallback = protocol === 'kafka' ? this.defaults.kafka : this.defaults.rabbitmq;
    const mapped = specUrl && specUrl !== 'empty' ? mapInClusterAddress(protocol, specUrl, fallback, !!this.defaults.mapInClusterAddresses) : undefined;
    const url = mapped ? mapped.address : fallback;
    if (!url) return undefined;
    const credentials = credentialsOf(protocol, url) ?? this.defaultCredentialsFor(protocol, url);
    // inCluster is shown in Ready messages: the address as written, minus its user info.
    return { url: stripCredentials(protocol, url), ...(credentials ? { credentials } : {}), ...(mapped?.inCluster ? { inCluster: redactCredentials(mapped.inCluster) } : {}) };
  }

  /** The registry to use for a registry (or schema) URL a Stream names: the default one for an in-cluster address
   *  on the local runtime, else the URL as written. */
  schemaRegistry(url: string): { url: string; inCluster?: string } {
    const mapped = mapInClusterAddress('schema-registry', url, this.defaults.schemaRegistry, !!this.defaults.mapInClusterAddresses);
    return { url: mapped.address, ...(mapped.inCluster ? { inCluster: redactCredentials(mapped.inCluster) } : {}) };
  }

  /** The default schema registry's URL, if any. */
  defaultSchemaRegistry(): string | undefined {
    return this.defaults.schemaRegistry;
  }

  provisioner(protocol: Protocol, endpoint: BrokerEndpoint): Provisioner {
    if (protocol === 'rabbitmq') return this.rabbit;
    if (this.kafkaMock && this.defaults.kafka && sameKafkaCluster(endpoint.url, this.defaults.kafka)) return this.kafkaMock;
    return this.kafkaAdmin;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.kafkaAdmin.close(), this.rabbit.close(), this.kafkaMock?.close()]);
  }

  private defaultCredentialsFor(protocol: Protocol, url: string): BrokerEndpoint['credentials'] {
    const def = protocol === 'kafka' ? this.defaults.kafka : this.defaults.rabbitmq;
    if (!def) return undefined;
    return stripCredentials(protocol, def) === stripCredentials(protocol, url) ? credentialsOf(protocol, def) : undefined;
  }
}

export function sameKafkaCluster(a: string, b: string): boolean {
  const set = new Set(kafkaBrokers(b));
  return kafkaBrokers(a).some((x) => set.has(x));
}

function credentialsOf(protocol: Protocol, url: string): BrokerEndpoint['credentials'] {
  return addressCredentials(protocol, url);
}

/** Normal form of a server URL without user info (crds/addresses.ts): Kafka `h:p,h2:p`; RabbitMQ `amqp://h:p[/vhost]`. */
export const stripCredentials = normalAddress;

/** Any text about addresses without the user info of the URLs in it (crds/addresses.ts). */
export { redactCredentials };

/** The public address written to status.storageAddress.server (no credentials, ever). */
export function publicAddress(protocol: Protocol, url: string): StorageServerAddress {
  if (protocol === 'kafka') {
    return { url, protocol: 'kafka', variables: { brokers: url } };
  }
  const u = new URL(url);
  return { url, protocol: 'rabbitmq', protocolVersion: '0.9.1', variables: { host: u.hostname, port: u.port || '5672' } };
}
