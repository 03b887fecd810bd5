// RabbitMQ binder (amqplib 0.10) following Spring Cloud Stream's Rabbit binder conventions so Spring apps
// interoperate: a durable topic exchange named after the destination; consumer queue `<destination>.<group>` bound
// with `#`; partitioned output routes with `<destination>-<partition>`; partitioned input: one durable queue per
// partition, `<destination>.<group>-<p>` bound with `<destination>-<p>`, and instance i consumes every partition p
// with p % instanceCount == i (as the Kafka binder's assigner does), so fewer replicas than partitions lose nothing.
// Inputs use manual acks and a prefetch window; outputs use publisher confirms and resend whatever was not confirmed
// when a connection drops (duplicates are possible, loss is not). Outputs publish `mandatory`: a message no queue
// takes is returned by the broker before its confirm, and counts as not confirmed (retried with backoff, then
// rejected as undeliverable so the pipeline dead-letters it) — a confirm alone only says the exchange took it.
// Every published message carries a unique AMQP `messageId` (messageIdFor); inputs hand it on with the delivery.
import { randomBytes } from 'node:crypto';
import type * as amqp from 'amqplib';
import type { Logger } from 'pino';
import type { BindingConfig } from '../config';
import { Headers, headerValueToString, type Message } from '../message';
import { RabbitConnection, type BackoffOptions } from './rabbitmq-connection';
import {
  errorText,
  binderStatus,
  UndeliverableError,
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

/** The partitions instance `index` of `count` consumes: every p < partitionCount with p % count == index. Without a
 *  known partition count, the instance's own index only (Spring's one-partition-per-instance convention). */
export function instancePartitions(index: number, count: number, partitionCount: number | undefined): number[] {
  const total = partitionCount ?? index + 1;
  const mine: number[] = [];
  for (let p = index; p < total; p += Math.max(1, count)) mine.push(p);
  return mine;
}

/** The durable queue that keeps what is sent to a dead-letter or late destination until someone reads it: named
 *  after the destination itself (for the default dead-letter destination `<input>.<group>.dlq`, Spring's DLQ name)
 *  and bound with `#`. */
export async function declareRetainingQueue(channel: amqp.Channel, destination: string): Promise<string> {
  await channel.assertQueue(destination, { durable: true });
  await channel.bindQueue(destination, destination, '#');
  return destination;
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

/** The AMQP `timestamp` property as epoch ms. AMQP 0-9-1 defines it in seconds (Spring AMQP and the Java client write
 *  seconds); amqplib writes the number it is given, and JavaScript publishers pass `Date.now()`. So a value below 1e11
 *  is read as seconds (1e11 s is the year 5138; 1e11 ms is March 1973). */
export function amqpTimestampMs(value: unknown): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  return value < 1e11 ? value * 1000 : value;
}

export function inboundMessage(msg: amqp.ConsumeMessage): Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((msg.properties.headers ?? {}) as Record<string, unknown>)) {
    const text = headerValueToString(value);
    if (text !== undefined) headers[name] = text;
  }
  const contentType = msg.properties.contentType as string | undefined;
  if (contentType && headers[Headers.contentType] === undefined) headers[Headers.contentType] = contentType;
  return { payload: msg.content, headers };
}

/** A RabbitMQ delivery: the AMQP `messageId` property (absent when the publisher set none) and the broker's
 *  `redelivered` flag beside the message, not in its headers (a header would travel on with every message an SRP
 *  derives from it). Streaming SQL's exchange recognises a source message forwarded twice by its messageId. */
export interface AmqpDelivery extends InboundDelivery {
  messageId?: string;
  redelivered: boolean;
}

/** The per-process part of our messageIds: 64 random bits, so two processes (or one restarted) never collide. */
const MESSAGE_ID_PREFIX = `sr-${randomBytes(8).toString('hex')}-`;
let messageIds = 0;

/**
 * A messageId for a message published through this process, unique without coordination (a random per-process prefix
 * and a counter; cheaper than a UUID per message), as Spring AMQP publishers set `messageId`. It is chosen once per
 * `send()`: the binder's own resends of that message (after a lost confirm, a reconnect, an unroutable return) carry
 * the same id, so a reader can tell them apart from new messages. An incoming messageId is *not* carried over when a
 * processor forwards a message, even unchanged: one input may become several messages (a split, several outputs), and
 * equal ids on different messages would make a reader that deduplicates by id drop data. Streaming SQL's exchange
 * carries its source's identity in a header of its own instead (`sr-exchange-source`).
 */
export function messageIdFor(): string {
  return MESSAGE_ID_PREFIX + (messageIds++).toString(36);
}

export interface RabbitInputOptions {
  binding: BindingConfig;
  group: string;
  instanceIndex: number;
  /** Replicas of the processor: a partitioned input consumes the partitions p with p % instanceCount == index. */
  instanceCount?: number;
  log: Logger;
  prefetch?: number;
  backoff?: BackoffOptions;
}

export class RabbitInput implements InputBinder {
  private readonly connection: RabbitConnection;
  private channel: amqp.Channel | undefined;
  /** One consumer per queue (a partitioned input may consume several partition queues). */
  private consumerTags: string[] = [];
  private queues: Array<{ queue: string; partition: number | undefined }> = [];
  private handler: DeliveryHandler = () => undefined;
  private paused = false;
  private inFlight = 0;
  private readonly prefetch: number;
  /** Partitioned input: the partitions this instance consumes; unpartitioned: undefined. */
  private readonly partitions: number[] | undefined;

  constructor(private readonly options: RabbitInputOptions) {
    this.prefetch = options.prefetch ?? options.binding.prefetch ?? DEFAULT_PREFETCH;
    this.partitions = options.binding.partitioned
      ? instancePartitions(options.instanceIndex, options.instanceCount ?? 1, options.binding.partitionCount)
      : undefined;
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
        this.consumerTags = [];
        this.inFlight = 0; // unacked deliveries of a closed channel are redelivered by the broker
        void this.connection.recycle();
      }
    });
    // Per consumer (RabbitMQ's non-global QoS; global QoS is deprecated): each partition queue this instance
    // consumes gets the whole window, which only ever allows more in flight, never a window too small to close.
    await channel.prefetch(this.prefetch);
    const { destination } = this.options.binding;
    await declareExchange(channel, destination);
    const queues: Array<{ queue: string; partition: number | undefined }> = [];
    if (this.partitions) {
      // One queue per partition (never one queue bound with several keys): a change of the replica count only
      // changes which instance consumes a queue, so no stale binding ever copies a partition into two queues.
      for (const p of this.partitions) queues.push({ queue: await declareGroupQueue(channel, destination, this.options.group, p), partition: p });
    } else {
      queues.push({ queue: await declareGroupQueue(channel, destination, this.options.group), partition: undefined });
    }
    this.queues = queues;
    this.channel = channel;
    this.consumerTags = [];
    if (!this.paused) await this.consume(channel);
  }

  private async consume(channel: amqp.Channel): Promise<void> {
    for (const { queue, partition } of this.queues) {
      const fallbackPartition = partition ?? 0;
      const reply = await channel.consume(queue, (msg) => {
        if (!msg) return; // consumer cancelled by the broker (queue deleted): the channel close path recovers
        const message = inboundMessage(msg);
        const headerPartition = Number(message.headers[Headers.partition]);
        // What the ack needs, without the content: open windows hold the ack until their release, and holding `msg`
        // would keep every payload in memory whatever the window state store.
        const ackHandle: amqp.Message = { fields: msg.fields, properties: msg.properties, content: EMPTY_CONTENT };
        let settled = false;
        this.inFlight++;
        const timestamp = amqpTimestampMs(msg.properties.timestamp);
        const messageId = msg.properties.messageId as unknown;
        const delivery: AmqpDelivery = {
          message,
          ...(typeof messageId === 'string' && messageId !== '' ? { messageId } : {}),
          redelivered: msg.fields.redelivered,
          // A partition queue's own partition is the truth (its binding routed the message there): a message carries
          // the `scst_partition` of whatever wrote it first, e.g. a source partition forwarded into another
          // partitioning (streaming SQL's exchange). One shared queue has only the header to go by.
          partition: partition === undefined && Number.isInteger(headerPartition) && message.headers[Headers.partition] !== undefined ? headerPartition : fallbackPartition,
          ...(timestamp !== undefined ? { timestamp } : {}),
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
      if (this.paused) {
        // Paused while the queues were being subscribed one by one: pause() cancelled only the tags it saw.
        await channel.cancel(reply.consumerTag).catch(() => undefined);
        return;
      }
      this.consumerTags.push(reply.consumerTag);
    }
  }

  async start(handler: DeliveryHandler): Promise<void> {
    this.handler = handler;
    await this.connection.open();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    const { channel } = this;
    const tags = this.consumerTags;
    this.consumerTags = [];
    if (channel) for (const tag of tags) void channel.cancel(tag).catch(() => undefined);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const channel = this.channel;
    if (channel && this.consumerTags.length === 0) {
      void this.consume(channel).catch((err: unknown) => this.options.log.warn({ err: errorText(err) }, 'resume failed'));
    }
  }

  async stop(): Promise<void> {
    const { channel } = this;
    const tags = this.consumerTags;
    this.consumerTags = [];
    if (channel) for (const tag of tags) await channel.cancel(tag).catch(() => undefined);
    this.channel = undefined;
    await this.connection.close();
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.connection.state,
      inFlight: this.inFlight,
      detail: {
        queue: this.queues.map((q) => q.queue).join(','),
        ...(this.partitions ? { partitions: this.partitions } : {}),
        prefetch: this.prefetch, paused: this.paused, connects: this.connection.connects,
      },
      ...(this.connection.lastError ? { lastError: this.connection.lastError } : {}),
    });
  }
}

interface PendingPublish {
  message: Message;
  routingKey: string;
  /** The AMQP messageId, the same on every attempt. */
  messageId: string;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Bumped each time it is (re)published so a stale confirm callback is ignored. */
  attempt: number;
  /** The attempt the broker returned as unroutable (its confirm follows the return). */
  returnedAttempt: number;
  /** Attempts returned as unroutable so far. */
  unroutable: number;
  done: boolean;
}

/** Attempts of a message the broker returns as unroutable before the output gives up on it (then the pipeline
 *  dead-letters its input): the first publish plus retries after 100 ms, 200 ms, 400 ms, 800 ms — time for a
 *  consumer that is declaring its queue right now to finish. */
export const DEFAULT_UNROUTABLE_ATTEMPTS = 5;
const UNROUTABLE_BACKOFF_MS = 100;
const UNROUTABLE_BACKOFF_MAX_MS = 5000;

export interface RabbitOutputOptions {
  binding: BindingConfig;
  log: Logger;
  backoff?: BackoffOptions;
  /** Attempts of a returned (unroutable) message before `send` rejects with UndeliverableError; Infinity keeps
   *  retrying (the dead-letter destination: there is nowhere further to go). Default DEFAULT_UNROUTABLE_ATTEMPTS. */
  unroutableAttempts?: number;
  /** Declares a durable queue named after the destination, bound with `#` (dead-letter and late destinations
   *  without consumer groups), so what is sent there is kept until read. */
  retainQueue?: boolean;
}

export class RabbitOutput implements OutputBinder {
  private readonly connection: RabbitConnection;
  private channel: amqp.ConfirmChannel | undefined;
  /** Published, awaiting confirm; resent on the next channel if the current one closes. */
  private readonly unconfirmed = new Set<PendingPublish>();
  /** Waiting for a channel (disconnected) or for the channel to drain (flow control). */
  private backlog: PendingPublish[] = [];
  /** Returned as unroutable, waiting for their next attempt. */
  private readonly retrying = new Map<PendingPublish, NodeJS.Timeout>();
  private blocked = false;
  private stopped = false;
  private readonly unroutableAttempts: number;
  private returned = 0;
  private undeliverable = 0;
  private lastUndeliverable: { at: number; text: string } | undefined;

  constructor(private readonly options: RabbitOutputOptions) {
    this.unroutableAttempts = options.unroutableAttempts ?? DEFAULT_UNROUTABLE_ATTEMPTS;
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
    channel.on('return', (msg: amqp.Message) => this.onReturn(msg));
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
    if (this.options.retainQueue) await declareRetainingQueue(channel, destination);
    this.channel = channel;
    this.blocked = false;
    // Everything unconfirmed on the previous channel goes out again first.
    const resend = [...this.unconfirmed];
    this.unconfirmed.clear();
    this.backlog = [...resend, ...this.backlog];
    this.flushBacklog();
  }

  /** basic.return: the broker routed the message to no queue. It comes before the message's confirm, on the same
   *  channel and in publish order, so it belongs to the unconfirmed publish with its messageId (else the oldest one
   *  with that routing key and content that was not returned yet: two identical ones are interchangeable). */
  private onReturn(msg: amqp.Message): void {
    this.returned++;
    const messageId = msg.properties.messageId as unknown;
    for (const pending of this.unconfirmed) {
      if (pending.returnedAttempt === pending.attempt) continue;
      if (typeof messageId === 'string' && messageId !== pending.messageId) continue;
      if (pending.routingKey !== msg.fields.routingKey || !pending.message.payload.equals(msg.content)) continue;
      pending.returnedAttempt = pending.attempt;
      return;
    }
  }

  async start(): Promise<void> {
    await this.connection.open();
  }

  send(message: Message, partition?: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('output stopped'));
    const { destination } = this.options.binding;
    const routingKey = partition === undefined ? destination : partitionRoutingKey(destination, partition);
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = { message, routingKey, messageId: messageIdFor(), resolve, reject, attempt: 0, returnedAttempt: 0, unroutable: 0, done: false };
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
    const options: amqp.Options.Publish = { headers: message.headers, persistent: true, mandatory: true, messageId: pending.messageId };
    const contentType = message.headers[Headers.contentType];
    if (contentType) options.contentType = contentType;
    this.unconfirmed.add(pending);
    let accepted: boolean;
    try {
      accepted = channel.publish(this.options.binding.destination, pending.routingKey, message.payload, options, (err) => {
        if (pending.done || pending.attempt !== attempt) return;
        this.unconfirmed.delete(pending);
        if (err) {
          // Nacked or channel closed: publish again. Deferred, never from inside amqplib's callback: on a closing
          // channel the callbacks run before our close handler, and republishing there would loop on a dead channel.
          this.backlog.push(pending);
          this.scheduleFlush();
          return;
        }
        if (pending.returnedAttempt === attempt) {
          this.unroutableAgain(pending);
          return;
        }
        pending.done = true;
        pending.resolve();
      });
    } catch {
      // The channel is closing: setUp() of the next connection resends everything unconfirmed.
      this.blocked = true;
      return;
    }
    if (!accepted) this.blocked = true;
  }

  /** A confirmed but returned publish: no queue took it. Retry with backoff (a consumer may be declaring its queue
   *  right now), then give up with UndeliverableError. */
  private unroutableAgain(pending: PendingPublish): void {
    pending.unroutable++;
    const { destination } = this.options.binding;
    const text = `unroutable: no queue is bound to exchange "${destination}" for routing key "${pending.routingKey}"`;
    if (pending.unroutable >= this.unroutableAttempts) {
      pending.done = true;
      this.undeliverable++;
      this.lastUndeliverable = { at: Date.now(), text };
      this.options.log.warn({ output: this.options.binding.stream, routingKey: pending.routingKey, attempts: pending.unroutable }, 'message unroutable after every attempt');
      pending.reject(new UndeliverableError(`${text} (${pending.unroutable} attempts)`, 'unroutable'));
      return;
    }
    if (pending.unroutable === 1 || !Number.isFinite(this.unroutableAttempts)) {
      this.options.log.warn({ output: this.options.binding.stream, routingKey: pending.routingKey, attempt: pending.unroutable }, 'message returned as unroutable; retrying');
    }
    const delay = Math.min(UNROUTABLE_BACKOFF_MAX_MS, UNROUTABLE_BACKOFF_MS * 2 ** (pending.unroutable - 1));
    const timer = setTimeout(() => {
      this.retrying.delete(pending);
      if (pending.done) return;
      if (this.channel && !this.blocked && this.backlog.length === 0) this.publish(pending);
      else this.backlog.push(pending);
    }, delay);
    this.retrying.set(pending, timer);
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.unconfirmed.size > 0 || this.backlog.length > 0 || this.retrying.size > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopped = true;
    for (const [pending, timer] of this.retrying) {
      clearTimeout(timer);
      this.backlog.push(pending);
    }
    this.retrying.clear();
    for (const pending of [...this.unconfirmed, ...this.backlog]) {
      pending.done = true;
      pending.reject(new Error('output stopped before the broker confirmed'));
    }
    this.unconfirmed.clear();
    this.backlog = [];
    await this.connection.close();
  }

  /** For /readyz: messages the broker is returning as unroutable right now. Only while it lasts: a message given up
   *  on is dead-lettered and shows in /debug/state and the metrics, but must not keep the processor unready (an
   *  output Stream nobody reads yet would hold a whole pipeline's rollout back). */
  deliveryProblem(): string | undefined {
    if (this.retrying.size === 0) return undefined;
    return `${this.retrying.size} message(s) returned as unroutable (no queue bound to exchange "${this.options.binding.destination}"); retrying before dead-lettering`;
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.connection.state,
      inFlight: this.unconfirmed.size + this.backlog.length + this.retrying.size,
      detail: {
        connects: this.connection.connects, blocked: this.blocked,
        returned: this.returned, retryingUnroutable: this.retrying.size, undeliverable: this.undeliverable,
        ...(this.lastUndeliverable ? { lastUndeliverable: { at: new Date(this.lastUndeliverable.at).toISOString(), error: this.lastUndeliverable.text } } : {}),
        ...(this.options.retainQueue ? { retainingQueue: this.options.binding.destination } : {}),
      },
      ...(this.connection.lastError ? { lastError: this.connection.lastError } : {}),
    });
  }
}
