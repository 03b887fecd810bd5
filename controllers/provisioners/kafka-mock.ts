// The development Kafka cluster started by `sr up` (hack/bin/kafka-mock, librdkafka's mock) has no CreateTopics
// API; it pre-creates topics through its line-oriented control port (`create <topic> <n>` -> `ok`). Selected with
// `sr controllers --kafka-mock-control HOST:PORT` for ClusterStreams on that cluster's bootstrap servers; other
// Kafka servers still go through the real admin client.
// The partition count reported is the topic's real one (read back with a Metadata request), never the one asked for:
// the mock cannot grow a topic, and cannot delete one either (`remove` says so instead of pretending).
import { connect } from 'node:net';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kafkaBrokers } from './kafka';
import type { BrokerEndpoint, EnsureResult, Provisioner, RemoveResult } from './types';

export class KafkaMockProvisioner implements Provisioner {
  readonly protocol = 'kafka' as const;
  readonly cannotDelete = 'the development Kafka (kafka-mock) cannot delete topics';
  /** Real partition counts seen, so a steady state costs no request. */
  private readonly partitions = new Map<string, number>();
  private admin: Promise<Admin> | undefined;

  constructor(private readonly control: string) {}

  async ensure(endpoint: BrokerEndpoint, topic: string, partitions: number): Promise<EnsureResult> {
    const known = this.partitions.get(topic);
    if (known !== undefined && known >= partitions) return { partitions: known };
    const answer = await mockCommand(this.control, `create ${topic} ${partitions}`);
    // An existing topic keeps its partitions: the mock cannot grow topics (a limitation of the dev cluster).
    if (answer !== 'ok' && !/exist/i.test(answer)) throw new Error(`kafka-mock: create ${topic}: ${answer}`);
    const real = answer === 'ok' ? partitions : await this.partitionCount(endpoint, topic);
    this.partitions.set(topic, real);
    return { partitions: real };
  }

  async remove(_endpoint: BrokerEndpoint, topic: string): Promise<RemoveResult> {
    return { outcome: 'kept', reason: `${this.cannotDelete}: "${topic}" and its records stay until sr up restarts it` };
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await admin.then((a) => a.disconnect()).catch(() => undefined);
  }

  private async partitionCount(endpoint: BrokerEndpoint, topic: string): Promise<number> {
    if (!this.admin) {
      const a = new Kafka({ clientId: 'sr-controllers', brokers: kafkaBrokers(endpoint.url), logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
      this.admin = a.connect().then(() => a);
      this.admin.catch(() => { this.admin = undefined; });
    }
    const metadata = await (await this.admin).fetchTopicMetadata({ topics: [topic] });
    return metadata.topics[0]?.partitions.length ?? 0;
  }
}

export function mockCommand(control: string, line: string, timeoutMs = 5000): Promise<string> {
  const colon = control.lastIndexOf(':');
  const host = control.slice(0, colon);
  const port = Number(control.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const sock = connect(port, host, () => sock.write(line + '\n'));
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`kafka-mock control ${control}: no answer`)); }, timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); sock.end(); resolve(buf.slice(0, nl)); }
    });
    sock.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
}
