// The development Kafka cluster started by `sr up` (hack/bin/kafka-mock, librdkafka's mock) has no CreateTopics
// API; it pre-creates topics through its line-oriented control port (`create <topic> <n>` -> `ok`). Selected with
// `sr controllers --kafka-mock-control HOST:PORT` for ClusterStreams on that cluster's bootstrap servers; other
// Kafka servers still go through the real admin client.
import { connect } from 'node:net';
import type { BrokerEndpoint, Provisioner } from './types';

export class KafkaMockProvisioner implements Provisioner {
  readonly protocol = 'kafka' as const;
  private readonly created = new Map<string, number>();

  constructor(private readonly control: string) {}

  async ensure(_endpoint: BrokerEndpoint, topic: string, partitions: number): Promise<void> {
    if ((this.created.get(topic) ?? 0) >= partitions) return;
    const answer = await mockCommand(this.control, `create ${topic} ${partitions}`);
    // An existing topic keeps its partitions: the mock cannot grow topics (a limitation of the dev cluster).
    if (answer !== 'ok' && !/exist/i.test(answer)) throw new Error(`kafka-mock: create ${topic}: ${answer}`);
    this.created.set(topic, partitions);
  }

  async remove(): Promise<void> {
    // The mock cannot delete topics; on the dev cluster reclaimPolicy Delete only forgets it.
  }

  async close(): Promise<void> {}
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
