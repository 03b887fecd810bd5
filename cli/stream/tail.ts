// Reading a Stream without taking anything from the processors that read it.
//  - Kafka: a consumer in a group of its own (`sr-tail-<random>`, never a Processor's name), which commits nothing:
//    the processors' groups and offsets are untouched, and the group leaves no offsets behind.
//  - RabbitMQ: an exclusive, auto-deleted, server-named queue bound to the Stream's exchange with `#` (every routing
//    key: the destination for unpartitioned output, `<destination>-<p>` for partitioned output). The exchange copies
//    each message into it as well as into the processors' queues; it disappears with the connection.
//  - The existing contents of a durable queue (a Processor's dead-letter or late queue on RabbitMQ): fetched with
//    `basic.get` without acknowledging, then all handed back at once (`nack` with requeue): RabbitMQ puts them back
//    in their places, marked `redelivered`, so nothing is removed and the order is kept.
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import type { Consumer } from 'kafkajs';
import type { BindingConfig } from '../../processor/config';
import { Headers, type Message } from '../../processor/message';
import { kafkaBrokers, kafkaClient, toMessage } from '../../processor/binders/kafka';
import { inboundMessage } from '../../processor/binders/rabbitmq';
import { amqpUrl } from '../../processor/binders/rabbitmq-connection';
import { redactServer } from '../../processor/binders/types';
import { anyListening, brokerLog, within } from './broker-log';

export interface TailRecord {
  message: Message;
  partition?: number;
  /** Kafka: the record's offset. */
  offset?: string;
  /** Kafka: the record timestamp, epoch ms. */
  timestamp?: number;
  /** RabbitMQ: the routing key it was published with. */
  routingKey?: string;
  /** Read from the existing contents of a durable queue (and left there), not as it passed. */
  kept?: boolean;
  redelivered?: boolean;
}

export type OnRecord = (record: TailRecord) => void;

export interface Tail {
  /** Resolves once records published from now on will be seen; says what it reads. */
  start(onRecord: OnRecord): Promise<string>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 20_000;

export class KafkaTail implements Tail {
  readonly groupId = `sr-tail-${randomBytes(4).toString('hex')}`;
  private consumer: Consumer | undefined;

  constructor(private readonly binding: BindingConfig, private readonly fromBeginning: boolean, private readonly connectTimeoutMs = CONNECT_TIMEOUT_MS) {}

  async start(onRecord: OnRecord): Promise<string> {
    const { binding } = this;
    const where = `Kafka ${redactServer(binding.server.url)}`;
    await anyListening(kafkaBrokers(binding.server), 5000, where);
    const logs = brokerLog();
    const consumer = kafkaClient(binding.server, this.groupId, logs.log).consumer({
      groupId: this.groupId,
      // Short fetch waits: the dev Kafka always waits the full time, even when data arrived.
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    // After the first fetch the group has joined and every partition's start offset is resolved: anything
    // published from then on is read.
    const fetching = new Promise<void>((resolve) => { consumer.on(consumer.events.FETCH, () => resolve()); });
    await within((async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [binding.destination], fromBeginning: this.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          onRecord({ message: toMessage(message.headers, message.value, message.key), partition, offset: message.offset, timestamp: Number(message.timestamp) });
        },
      });
      await fetching;
    })(), this.connectTimeoutMs, `cannot read topic "${binding.destination}" from ${where}`, logs);
    return `${where}, topic ${binding.destination} (group ${this.groupId}, nothing committed, ${this.fromBeginning ? 'from the beginning' : 'from the end'})`;
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/** The partition of a message on RabbitMQ: its `scst_partition` header, else the routing key's `-<p>` suffix. */
export function rabbitPartition(destination: string, routingKey: string, message: Message): number | undefined {
  const header = message.headers[Headers.partition];
  if (header !== undefined && /^\d+$/.test(header)) return Number(header);
  const suffix = routingKey.startsWith(`${destination}-`) ? routingKey.slice(destination.length + 1) : '';
  return /^\d+$/.test(suffix) ? Number(suffix) : undefined;
}

export class RabbitTail implements Tail {
  private connection: amqp.ChannelModel | undefined;

  /** `keptQueue`: a durable queue whose existing contents are shown first (and left in it), at most `maxKept`. */
  constructor(private readonly binding: BindingConfig, private readonly keptQueue?: string, private readonly maxKept = Infinity) {}

  async start(onRecord: OnRecord): Promise<string> {
    const { destination, server } = this.binding;
    const where = `RabbitMQ ${redactServer(server.url)}`;
    try {
      this.connection = await amqp.connect(amqpUrl(server), { timeout: 10_000 });
    } catch (err) {
      throw new Error(`cannot reach ${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.connection.on('error', () => undefined);
    const channel = await this.channel();
    try {
      await channel.checkExchange(destination);
    } catch {
      throw new Error(`exchange "${destination}" does not exist on ${where} (has the Stream been provisioned?)`);
    }
    // Bound before the kept contents are read: a message arriving meanwhile is shown (maybe twice), never missed.
    const live = await this.channel();
    const { queue } = await live.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await live.bindQueue(queue, destination, '#');
    let kept = 0;
    if (this.keptQueue) kept = await this.readKept(this.keptQueue, onRecord);
    await live.consume(queue, (msg) => {
      if (!msg) return;
      const message = inboundMessage(msg);
      onRecord({ message, routingKey: msg.fields.routingKey, partition: rabbitPartition(destination, msg.fields.routingKey, message) });
    }, { noAck: true });
    return `${where}, exchange ${destination} (own exclusive queue ${queue} bound with #${this.keptQueue ? `; ${kept} message(s) kept in queue ${this.keptQueue} shown and left there` : ''})`;
  }

  private async channel(): Promise<amqp.Channel> {
    const channel = await this.connection!.createChannel();
    channel.on('error', () => undefined);
    return channel;
  }

  /** Shows what a durable queue holds without removing it; returns how many were shown. */
  private async readKept(queue: string, onRecord: OnRecord): Promise<number> {
    const channel = await this.channel();
    let count: number;
    try {
      count = (await channel.checkQueue(queue)).messageCount;
    } catch {
      return 0; // never declared: nothing was ever kept
    }
    let shown = 0;
    try {
      // Only what was there when we looked: later arrivals come through the live queue.
      while (shown < Math.min(count, this.maxKept)) {
        const msg = await channel.get(queue, { noAck: false });
        if (!msg) break;
        // The same headers and properties as a consumed message; only the delivery fields differ.
        const message = inboundMessage({ ...msg, fields: { ...msg.fields, consumerTag: '' } });
        onRecord({ message, routingKey: msg.fields.routingKey, partition: rabbitPartition(this.binding.destination, msg.fields.routingKey, message), kept: true, redelivered: msg.fields.redelivered });
        shown++;
      }
    } finally {
      channel.nackAll(true);
      await channel.close().catch(() => undefined);
    }
    return shown;
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }
}
