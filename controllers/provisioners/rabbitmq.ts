// RabbitMQ destinations: a durable topic exchange per ClusterStream (the exchange type Spring Cloud Stream's
// Rabbit binder and our processor use). One connection per server, re-opened after failures.
import amqp from 'amqplib';
import type { BrokerEndpoint, ConsumerGroup, Provisioner } from './types';

type Connection = Awaited<ReturnType<typeof amqp.connect>>;

export class RabbitMqProvisioner implements Provisioner {
  readonly protocol = 'rabbitmq' as const;
  private readonly connections = new Map<string, Promise<Connection>>();

  async ensure(endpoint: BrokerEndpoint, exchange: string): Promise<void> {
    await this.withChannel(endpoint, async (ch) => { await ch.assertExchange(exchange, 'topic', { durable: true }); });
  }

  async ensureConsumerGroups(endpoint: BrokerEndpoint, exchange: string, groups: ConsumerGroup[]): Promise<void> {
    if (groups.length === 0) return;
    // The processor's binder (processor/binders/rabbitmq.ts) declares the same queues with the same arguments.
    await this.withChannel(endpoint, async (ch) => {
      await ch.assertExchange(exchange, 'topic', { durable: true });
      for (const { group, partitions } of groups) {
        const bindings = partitions === undefined
          ? [{ queue: `${exchange}.${group}`, key: '#' }]
          : Array.from({ length: partitions }, (_, p) => ({ queue: `${exchange}.${group}-${p}`, key: `${exchange}-${p}` }));
        for (const { queue, key } of bindings) {
          await ch.assertQueue(queue, { durable: true });
          await ch.bindQueue(queue, exchange, key);
        }
      }
    });
  }

  async remove(endpoint: BrokerEndpoint, exchange: string): Promise<void> {
    await this.withChannel(endpoint, async (ch) => { await ch.deleteExchange(exchange); });
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(all.map(async (c) => (await c).close()));
  }

  private async withChannel(endpoint: BrokerEndpoint, work: (ch: amqp.Channel) => Promise<void>): Promise<void> {
    const conn = await this.connection(endpoint);
    // A channel per operation: a failed operation closes only its channel, never the shared connection.
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try { await work(ch); } finally { await ch.close().catch(() => undefined); }
  }

  private connection(endpoint: BrokerEndpoint): Promise<Connection> {
    const url = amqpUrlWithCredentials(endpoint);
    let conn = this.connections.get(url);
    if (!conn) {
      conn = amqp.connect(url).then((c) => {
        const forget = (): void => { this.connections.delete(url); };
        c.on('close', forget);
        c.on('error', forget);
        return c;
      });
      conn.catch(() => this.connections.delete(url));
      this.connections.set(url, conn);
    }
    return conn;
  }
}

/** `host:port` or `amqp://host:port/vhost` plus credentials -> a connectable AMQP URL. */
export function amqpUrlWithCredentials(endpoint: BrokerEndpoint): string {
  const base = /^amqps?:\/\//.test(endpoint.url) ? endpoint.url : `amqp://${endpoint.url}`;
  const url = new URL(base);
  if (endpoint.credentials) {
    url.username = encodeURIComponent(endpoint.credentials.username);
    url.password = encodeURIComponent(endpoint.credentials.password);
  }
  return url.toString().replace(/\/$/, '');
}
