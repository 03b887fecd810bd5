// RabbitMQ binder (amqplib 0.10) following Spring Cloud Stream's Rabbit binder conventions so Spring apps
// interoperate: a durable topic exchange named after the destination; consumer queue `<destination>.<group>` bound
// with `#`; partitioned output routes with `<destination>-<partition>`; partitioned input consumes the queue
// `<destination>.<group>-<instanceIndex>` bound with `<destination>-<instanceIndex>`.
// Inputs use manual acks and a prefetch window; outputs use publisher confirms and resend whatever was not confirmed
// when a connection drops (duplicates are possible, loss is not).
import type * as amqp from 'amqplib';
import type { Logger } from 'pino';
import type { BindingConfig } from '../config';
import { Headers, headerValueToString, type Message } from '../message';
import { RabbitConnection, type BackoffOptions } from './rabbitmq-connection';
import {
  errorText,
  binderStatus,
  type BinderStatus,
  type DeliveryHandler,
  type InboundDelivery,
  type InputBinder,
  type OutputBinder,
} from './types';

const EMPTY_CONTENT = Buffer.alloc(0);

export const DEFAULT_PREFETCH = 500;

export function consumerQueueName(destination: string, group: string, partitionIndex?: number): string {
  return partitionIndex === undefined ? `${destination}.${group}` : `${destination}.${group}-${partitionIndex}`;
}

export function partitionRoutingKey(destination: string, partition: number): string {
  return `${destination}-${partition}`;
}

async function declareExchange(channel: amqp.Channel, destination: string): Promise<void> {
  await channel.assertExchange(destination, 'topic', { durable: true });
}

/** Declares a consumer queue of a group and binds it the Spring way; returns the queue name. */
export async function declareGroupQueue(
  channel: amqp.Channel,
  destination: string,
  group: string,
  partitionIndex?: number,
): Promise<string> {
  const queue = consumerQueueName(destination, group, partitionIndex);
  await channel.assertQueue(queue, { durable: true });
  const bindingKey = partitionIndex === undefined ? '#' : partitionRoutingKey(destination, partitionIndex);
  await channel.bindQueue(queue, destination, bindingKey);
  return queue;
}

function inboundMessage(msg: amqp.ConsumeMessage): Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((msg.properties.headers ?? {}) as Record<string, unknown>)) {
    const text = headerValueToString(value);
    if (text !== undefined) headers[name] = text;
  }
  const contentType = msg.properties.contentType as string | undefined;
  if (contentType && headers[Headers.contentType] === undefined) headers[Headers.contentType] = contentType;
  return { payload: msg.content, headers };
}

export interface RabbitInputOptions {
  binding: BindingConfig;
  group: string;
  instanceIndex: number;
  log: Logger;
  prefetch?: number;
  backoff?: BackoffOptions;
}

export class RabbitInput implements InputBinder {
  private readonly connection: RabbitConnection;
  private channel: amqp.Channel | undefined;
  private consumerTag: string | undefined;
  private queue = '';
  private handler: DeliveryHandler = () => undefined;
  private paused = false;
  private inFlight = 0;
  private readonly prefetch: number;
  private readonly partitionIndex: number | undefined;

  constructor(private readonly options: RabbitInputOptions) {
    this.prefetch = options.prefetch ?? options.binding.prefetch ?? DEFAULT_PREFETCH;
    this.partitionIndex = options.binding.partitioned ? options.instanceIndex : undefined;
    this.connection = new RabbitConnection(
      options.binding.server,
      options.log.child({ input: options.binding.stream }),
      (connection) => this.setUp(connection),
      options.backoff,
    );
  }

  private async setUp(connection: amqp.ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // the connection's close handler reconnects
    channel.on('close', () => {
      if (this.channel === channel) {
        this.channel = undefined;
        this.inFlight = 0; // unacked deliveries of a closed channel are redelivered by the broker
        void this.connection.recycle();
      }
    });
    await channel.prefetch(this.prefetch);
    const { destination } = this.options.binding;
    await declareExchange(channel, destination);
    this.queue = await declareGroupQueue(channel, destination, this.options.group, this.partitionIndex);
    this.channel = channel;
    if (!this.paused) await this.consume(channel);
  }

  private async consume(channel: amqp.Channel): Promise<void> {
    const fallbackPartition = this.partitionIndex ?? 0;
    const reply = await channel.consume(this.queue, (msg) => {
      if (!msg) return; // consumer cancelled by the broker (queue deleted): the channel close path recovers
      const message = inboundMessage(msg);
      const headerPartition = Number(message.headers[Headers.partition]);
      // What the ack needs, without the content: open windows hold the ack until their release, and holding `msg`
      // would keep every payload in memory whatever the window state store.
      const ackHandle: amqp.Message = { fields: msg.fields, properties: msg.properties, content: EMPTY_CONTENT };
      let settled = false;
      this.inFlight++;
      const delivery: InboundDelivery = {
        message,
        partition: Number.isInteger(headerPartition) && message.headers[Headers.partition] !== undefined ? headerPartition : fallbackPartition,
        ack: () => {
          if (settled) return;
          settled = true;
          // A delivery tag is only valid on the channel that delivered it; after a reconnect it will be redelivered.
          if (this.channel !== channel) return;
          this.inFlight--;
          try { channel.ack(ackHandle); } catch { /* channel closing: redelivered */ }
        },
      };
      this.handler(delivery);
    }, { noAck: false });
    this.consumerTag = reply.consumerTag;
  }

  async start(handler: DeliveryHandler): Promise<void> {
    this.handler = handler;
    await this.connection.open();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    const { channel, consumerTag } = this;
    this.consumerTag = undefined;
    if (channel && consumerTag) void channel.cancel(consumerTag).catch(() => undefined);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const channel = this.channel;
    if (channel && !this.consumerTag) {
      void this.consume(channel).catch((err: unknown) => this.options.log.warn({ err: errorText(err) }, 'resume failed'));
    }
  }

  async stop(): Promise<void> {
    const { channel, consumerTag } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    this.channel = undefined;
    await this.connection.close();
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.connection.state,
      inFlight: this.inFlight,
      detail: { queue: this.queue, prefetch: this.prefetch, paused: this.paused, connects: this.connection.connects },
      ...(this.connection.lastError ? { lastError: this.connection.lastError } : {}),
    });
  }
}

interface PendingPublish {
  message: Message;
  routingKey: string;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Bumped each time it is (re)published so a stale confirm callback is ignored. */
  attempt: number;
  done: boolean;
}

export interface RabbitOutputOptions {
  binding: BindingConfig;
  log: Logger;
  backoff?: BackoffOptions;
}

export class RabbitOutput implements OutputBinder {
  private readonly connection: RabbitConnection;
  private channel: amqp.ConfirmChannel | undefined;
  /** Published, awaiting confirm; resent on the next channel if the current one closes. */
  private readonly unconfirmed = new Set<PendingPublish>();
  /** Waiting for a channel (disconnected) or for the channel to drain (flow control). */
  private backlog: PendingPublish[] = [];
  private blocked = false;
  private stopped = false;

  constructor(private readonly options: RabbitOutputOptions) {
    this.connection = new RabbitConnection(
      options.binding.server,
      options.log.child({ output: options.binding.stream }),
      (connection) => this.setUp(connection),
      options.backoff,
    );
  }

  private async setUp(connection: amqp.ChannelModel): Promise<void> {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      void this.connection.recycle();
    });
    channel.on('drain', () => {
      this.blocked = false;
      this.flushBacklog();
    });
    const { destination, requiredGroups, partitioning } = this.options.binding;
    await declareExchange(channel, destination);
    // Like Spring's requiredGroups: queues that must exist before anything is published, so nothing is lost
    // while their consumers are not yet running.
    for (const group of requiredGroups ?? []) {
      if (partitioning) {
        for (let p = 0; p < partitioning.partitionCount; p++) await declareGroupQueue(channel, destination, group, p);
      } else {
        await declareGroupQueue(channel, destination, group);
      }
    }
    this.channel = channel;
    this.blocked = false;
    // Everything unconfirmed on the previous channel goes out again first.
    const resend = [...this.unconfirmed];
    this.unconfirmed.clear();
    this.backlog = [...resend, ...this.backlog];
    this.flushBacklog();
  }

  async start(): Promise<void> {
    await this.connection.open();
  }

  send(message: Message, partition?: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('output stopped'));
    const { destination } = this.options.binding;
    const routingKey = partition === undefined ? destination : partitionRoutingKey(destination, partition);
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = { message, routingKey, resolve, reject, attempt: 0, done: false };
      if (this.channel && !this.blocked && this.backlog.length === 0) this.publish(pending);
      else this.backlog.push(pending);
    });
  }

  private flushScheduled = false;

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushBacklog();
    });
  }

  private flushBacklog(): void {
    while (this.channel && !this.blocked && this.backlog.length > 0) {
      this.publish(this.backlog.shift() as PendingPublish);
    }
  }

  private publish(pending: PendingPublish): void {
    const channel = this.channel;
    if (!channel) {
      this.backlog.push(pending);
      return;
    }
    const attempt = ++pending.attempt;
    const { message } = pending;
    const options: amqp.Options.Publish = { headers: message.headers, persistent: true };
    const contentType = message.headers[Headers.contentType];
    if (contentType) options.contentType = contentType;
    this.unconfirmed.add(pending);
    let accepted: boolean;
    try {
      accepted = channel.publish(this.options.binding.destination, pending.routingKey, message.payload, options, (err) => {
        if (pending.done || pending.attempt !== attempt) return;
        if (err) {
          // Nacked or channel closed: publish again. Deferred, never from inside amqplib's callback: on a closing
          // channel the callbacks run before our close handler, and republishing there would loop on a dead channel.
          this.unconfirmed.delete(pending);
          this.backlog.push(pending);
          this.scheduleFlush();
          return;
        }
        pending.done = true;
        this.unconfirmed.delete(pending);
        pending.resolve();
      });
    } catch {
      // The channel is closing: setUp() of the next connection resends everything unconfirmed.
      this.blocked = true;
      return;
    }
    if (!accepted) this.blocked = true;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.unconfirmed.size > 0 || this.backlog.length > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopped = true;
    for (const pending of [...this.unconfirmed, ...this.backlog]) {
      pending.done = true;
      pending.reject(new Error('output stopped before the broker confirmed'));
    }
    this.unconfirmed.clear();
    this.backlog = [];
    await this.connection.close();
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.connection.state,
      inFlight: this.unconfirmed.size + this.backlog.length,
      detail: { connects: this.connection.connects, blocked: this.blocked },
      ...(this.connection.lastError ? { lastError: this.connection.lastError } : {}),
    });
  }
}
