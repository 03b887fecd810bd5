// Kafka topics through the kafkajs admin client (CreateTopics / CreatePartitions / DeleteTopics), for real
// Kafka clusters. One admin connection per bootstrap list, reused across reconciles.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { BrokerEndpoint, EnsureResult, Provisioner, RemoveResult } from './types';
import { kafkaBrokers } from '../../crds/addresses';

export class KafkaAdminProvisioner implements Provisioner {
  readonly protocol = 'kafka' as const;
  private readonly admins = new Map<string, Promise<Admin>>();

  async ensure(endpoint: BrokerEndpoint, topic: string, partitions: number): Promise<EnsureResult> {
    const admin = await this.admin(endpoint);
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    if (created) return { partitions };
    // It already existed: grow it if a new claim needs more partitions (Kafka cannot shrink a topic).
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    const current = metadata.topics[0]?.partitions.length ?? 0;
    if (current < partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
      return { partitions };
    }
    return { partitions: current };
  }

  async remove(endpoint: BrokerEndpoint, topic: string): Promise<RemoveResult> {
    const admin = await this.admin(endpoint);
    const existing = await admin.listTopics();
    if (existing.includes(topic)) await admin.deleteTopics({ topics: [topic] });
    return { outcome: 'deleted' };
  }

  async close(): Promise<void> {
    const all = [...this.admins.values()];
    this.admins.clear();
    await Promise.allSettled(all.map(async (a) => (await a).disconnect()));
  }

  private admin(endpoint: BrokerEndpoint): Promise<Admin> {
    const key = endpoint.url;
    let admin = this.admins.get(key);
    if (!admin) {
      const kafka = new Kafka({
        clientId: 'sr-controllers',
        brokers: kafkaBrokers(endpoint.url),
        logLevel: logLevel.NOTHING,
        ...(endpoint.credentials ? { sasl: { mechanism: 'plain' as const, ...endpoint.credentials } } : {}),
        retry: { retries: 2 },
      });
      const a = kafka.admin();
      admin = a.connect().then(() => a);
      admin.catch(() => this.admins.delete(key));
      this.admins.set(key, admin);
    }
    return admin;
  }
}

/** The bootstrap list of a Kafka address (crds/addresses.ts). */
export { kafkaBrokers };
