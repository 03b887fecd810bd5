// Data in and out of the brokers for end-to-end tests: the tutorials' users ({id, fullName, team, email, score,
// score_time}, as their data generator writes them), produced to Kafka, and probes that collect what comes out of
// a Kafka topic (only messages written after a mark) or a RabbitMQ exchange (a queue bound before producing).
import amqp from 'amqplib';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { waitFor } from './ports';
import { rabbitUrl } from './rabbitmq';

export interface User { id: string; fullName: string; team: string; email: string; score: number; score_time: number }

export const TEAMS = ['red', 'blue', 'green'];

export function users(count: number, opts: { run?: string; time?: (i: number) => number; team?: (i: number) => string; score?: (i: number) => number } = {}): User[] {
  const run = opts.run ?? randomBytes(3).toString('hex');
  return Array.from({ length: count }, (_, i) => ({
    id: `${run}-${i}`,
    fullName: `${run}-user${i % 3}`,
    team: opts.team?.(i) ?? TEAMS[i % 3],
    email: `${run}-${i}@example.com`,
    score: opts.score?.(i) ?? (i * 7) % 100,
    score_time: opts.time?.(i) ?? Date.now(),
  }));
}

/** `timestamp`: Kafka, the record's CreateTime (when its producer sent it); RabbitMQ, when the probe received it. */
export interface OutMessage { partition: number; offset: number; value: string; headers: Record<string, string>; timestamp: number }

export class KafkaData {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private admin: Admin | undefined;

  constructor(bootstrap: string) {
    // Generous connection timeouts and retries: the end-to-end files share two cores with a whole `sr up` (the
    // samples sweep with some 130 processes), where kafkajs' 1 s connection timeout is missed.
    this.kafka = new Kafka({ clientId: 'sr-e2e', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 10_000, retry: { retries: 10 } });
  }

  async produce(topic: string, values: object[], headers: Record<string, string> = {}, partition?: number): Promise<void> {
    const messages = values.map((v) => ({ value: JSON.stringify(v), headers: { contentType: 'application/json', ...headers }, ...(partition !== undefined ? { partition } : {}) }));
    try {
      await (await this.connectedProducer()).send({ topic, messages });
    } catch (err) {
      // A producer whose connection was dropped (a request timed out under load) stays disconnected: a new one.
      if (!/disconnected/i.test(err instanceof Error ? err.message : String(err))) throw err;
      this.producer = undefined;
      await (await this.connectedProducer()).send({ topic, messages });
    }
  }

  private async connectedProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer();
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  /** The next offset of every partition: messages at or after it were written after this call. */
  async mark(topic: string): Promise<Map<number, number>> {
    if (!this.admin) { this.admin = this.kafka.admin(); await this.admin.connect(); }
    try {
      const offsets = await this.admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } catch { return new Map(); }
  }

  /** Reads the topic from the mark until `done(messages)` holds. */
  async collect(topic: string, mark: Map<number, number>, done: (messages: OutMessage[]) => boolean, timeoutMs = 60_000): Promise<OutMessage[]> {
    // A fresh group (3 s first join on the dev Kafka). Short fetch waits: the mock answers a fetch only when its
    // wait is over, even if data arrived meanwhile, and disconnect waits for the fetch in flight. A long session: a
    // heartbeat missed on a loaded machine would otherwise restart the group, and the mock waits `session - 1 s`
    // before it completes any rebalance after the first.
    const consumer = this.kafka.consumer({ groupId: `sr-e2e-${randomBytes(4).toString('hex')}`, sessionTimeout: 30_000, rebalanceTimeout: 30_000, heartbeatInterval: 3000, maxWaitTimeInMs: 100 });
    const messages: OutMessage[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (Number(message.offset) < (mark.get(partition) ?? 0)) return;
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
          messages.push({ partition, offset: Number(message.offset), value: message.value?.toString() ?? '', headers, timestamp: Number(message.timestamp) });
        },
      });
      await waitFor(`messages on ${topic}`, () => done(messages), timeoutMs, 100).catch((err: unknown) => {
        throw new Error(`${String(err)}; got ${messages.length}: ${messages.slice(0, 5).map((m) => m.value).join(' | ')}`);
      });
      return messages;
    } finally { await consumer.disconnect(); }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
    await this.admin?.disconnect();
  }
}

/** A queue bound to a RabbitMQ exchange (all routing keys) that collects what is published after binding. */
export async function rabbitProbe(exchange: string): Promise<{ messages: OutMessage[]; close(): Promise<void> }> {
  const conn = await amqp.connect(rabbitUrl());
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: true });
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(q.queue, exchange, '#');
  const messages: OutMessage[] = [];
  await ch.consume(q.queue, (m) => {
    if (!m) return;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((m.properties.headers ?? {}) as Record<string, unknown>)) headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
    headers.routingKey = m.fields.routingKey;
    messages.push({ partition: 0, offset: messages.length, value: m.content.toString(), headers, timestamp: Date.now() });
  }, { noAck: true });
  return { messages, close: async () => { await conn.close().catch(() => undefined); } };
}

/** Java's String.hashCode, for checking Spring Cloud Stream partition selection. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}
