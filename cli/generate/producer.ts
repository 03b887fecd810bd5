// Where records go: a Kafka topic (kafkajs, acks from all in-sync replicas), a RabbitMQ exchange (amqplib, publisher
// confirms, the routing key our processors bind non-partitioned destinations with: the destination's name), or
// standard output (`--dry-run`: one JSON line per record, nothing produced).
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';

export interface OutMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** The record before encoding (for --dry-run). */
  record?: Record<string, unknown>;
}

export interface Sink {
  readonly description: string;
  send(destination: string, messages: OutMessage[]): Promise<void>;
  close(): Promise<void>;
}

export class KafkaSink implements Sink {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(readonly brokers: string) {
    const kafka = new Kafka({ clientId: 'sr-generate', brokers: brokers.split(',').map((b) => b.trim()), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
    this.producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  }

  get description(): string {
    return `Kafka ${this.brokers}`;
  }

  async send(topic: string, messages: OutMessage[]): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }
}

export class RabbitSink implements Sink {
  private channel: Promise<amqp.ConfirmChannel> | undefined;
  private connection: amqp.ChannelModel | undefined;

  /** `url` with credentials (never shown). */
  constructor(private readonly url: string) {}

  get description(): string {
    return `RabbitMQ ${this.url.replace(/\/\/[^@/]*@/, '//')}`;
  }

  async send(exchange: string, messages: OutMessage[]): Promise<void> {
    this.channel ??= (async () => {
      this.connection = await amqp.connect(this.url);
      return this.connection.createConfirmChannel();
    })();
    const channel = await this.channel;
    for (const m of messages) {
      channel.publish(exchange, exchange, m.value, {
        persistent: true, messageId: randomUUID(), headers: { ...m.headers, key: m.key },
        ...(m.headers.contentType ? { contentType: m.headers.contentType } : {}),
      });
    }
    await channel.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }
}

/** `--dry-run`: the records as JSON lines on standard output. */
export class StdoutSink implements Sink {
  readonly description = 'standard output (dry run)';

  constructor(private readonly write: (line: string) => void) {}

  async send(destination: string, messages: OutMessage[]): Promise<void> {
    for (const m of messages) this.write(`${JSON.stringify({ destination, key: m.key, value: m.record ?? m.value.toString('utf8') })}\n`);
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
