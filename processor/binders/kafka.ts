// Kafka binder (kafkajs). Consumer group = the processor's group; keys and headers carried both ways; a partitioned
// input takes only partitions p with p % instanceCount == instanceIndex (a custom partition assigner, so several
// replicas of one index still share the work); the producer waits for all in-sync replicas (acks -1).
// Offsets are committed only up to the lowest not-yet-completed message of each partition (delivery/offset-tracker),
// so completion may happen out of order without ever committing past an unfinished message.
import {
  AssignerProtocol,
  Kafka,
  logLevel,
  PartitionAssigners,
  Partitioners,
  type Consumer,
  type EachBatchPayload,
  type GroupMemberAssignment,
  type IHeaders,
  type KafkaConfig,
  type LogEntry,
  type PartitionAssigner,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { BindingConfig, BrokerServer } from '../config';
import { OffsetTracker } from '../delivery/offset-tracker';
import { headerValueToString, type Message } from '../message';
import {
  errorText,
  binderStatus,
  type BinderStatus,
  type ConnectionState,
  type DeliveryHandler,
  type InputBinder,
  type OutputBinder,
} from './types';

export const DEFAULT_MAX_IN_FLIGHT = 500;
const COMMIT_INTERVAL_MS = 200;

export function kafkaBrokers(server: BrokerServer): string[] {
  return server.url
    .split(',')
    .map((b) => b.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, ''))
    .filter((b) => b.length > 0);
}

export function kafkaClient(server: BrokerServer, clientId: string, log: Logger): Kafka {
  const config: KafkaConfig = {
    clientId,
    brokers: kafkaBrokers(server),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      // kafkajs is chatty about retriable conditions we already handle; keep them at debug.
      log.debug({ kafka: entry.namespace, ...entry.log }, entry.log.message);
    },
  };
  if (server.credentials) {
    config.sasl = { mechanism: 'plain', username: server.credentials.username, password: server.credentials.password };
  }
  return new Kafka(config);
}

function toMessage(headers: IHeaders | undefined, value: Buffer | null, key: Buffer | null): Message {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const text = headerValueToString(raw);
    if (text !== undefined) out[name] = text;
  }
  const message: Message = { payload: value ?? Buffer.alloc(0), headers: out };
  if (key) message.key = key;
  return message;
}

/** The assigner of a partitioned input: partition p goes to a member whose instance index is p % instanceCount
 *  (round-robin among members with that index); partitions whose instance is absent stay unassigned, as with
 *  Spring's static partition assignment. Each member announces its index and count in the group metadata. */
export function instancePartitionAssigner(instanceIndex: number, instanceCount: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'sr-instance-index',
    version: 1,
    protocol: ({ topics }) => ({
      name: 'sr-instance-index',
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.from(JSON.stringify({ instanceIndex, instanceCount })),
      }),
    }),
    assign: async ({ members, topics }) => {
      const byIndex = new Map<number, string[]>();
      let count = instanceCount;
      for (const member of [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))) {
        const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
        let index = 0;
        try {
          const data = JSON.parse(metadata?.userData.toString() ?? '{}') as { instanceIndex?: number; instanceCount?: number };
          index = data.instanceIndex ?? 0;
          count = data.instanceCount ?? count;
        } catch { /* a member without our metadata counts as index 0 */ }
        byIndex.set(index, [...(byIndex.get(index) ?? []), member.memberId]);
      }
      const assignment = new Map<string, Record<string, number[]>>();
      for (const member of members) assignment.set(member.memberId, {});
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
        const turn = new Map<number, number>();
        for (const partition of partitions) {
          const owners = byIndex.get(partition % Math.max(1, count));
          if (!owners) continue;
          const t = turn.get(partition % count) ?? 0;
          turn.set(partition % count, t + 1);
          const memberId = owners[t % owners.length];
          const mine = assignment.get(memberId) as Record<string, number[]>;
          (mine[topic] ??= []).push(partition);
        }
      }
      const result: GroupMemberAssignment[] = [];
      for (const [memberId, perTopic] of assignment) {
        result.push({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: perTopic, userData: Buffer.alloc(0) }),
        });
      }
      return result;
    },
  });
}

export interface KafkaInputOptions {
  binding: BindingConfig;
  group: string;
  instanceIndex: number;
  instanceCount: number;
  log: Logger;
  clientId?: string;
  maxInFlight?: number;
}

export class KafkaInput implements InputBinder {
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private readonly tracker = new OffsetTracker();
  private state: ConnectionState = 'connecting';
  private lastError: string | undefined;
  private assigned: number[] = [];
  private inFlight = 0;
  /** Bumped by every rebalance: acknowledgements of messages handed out before it no longer count as in flight. */
  private generation = 0;
  private readonly maxInFlight: number;
  private drained: (() => void) | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> = Promise.resolve();
  private stopping = false;
  private paused = false;

  constructor(private readonly options: KafkaInputOptions) {
    this.maxInFlight = options.maxInFlight ?? options.binding.prefetch ?? DEFAULT_MAX_IN_FLIGHT;
    this.kafka = kafkaClient(options.binding.server, options.clientId ?? `sr-${options.group}`, options.log.child({ input: options.binding.stream }));
  }

  async start(handler: DeliveryHandler): Promise<void> {
    const { binding, group, instanceIndex, instanceCount } = this.options;
    const consumer = this.kafka.consumer({
      groupId: group,
      partitionAssigners: binding.partitioned
        ? [instancePartitionAssigner(instanceIndex, instanceCount)]
        : [PartitionAssigners.roundRobin],
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 100,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.tracker.reset();
      this.generation++;
      this.inFlight = 0;
      this.wake();
      this.assigned = event.payload.memberAssignment[binding.destination] ?? [];
      this.state = 'connected';
      this.lastError = undefined;
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.lastError = errorText(event.payload.error);
      if (!this.stopping) this.state = 'reconnecting';
    });
    consumer.on(consumer.events.DISCONNECT, () => { if (!this.stopping) this.state = 'reconnecting'; });
    // A successful fetch proves the connection is back (after a crash-restart that kept the assignment there is no
    // new GROUP_JOIN).
    consumer.on(consumer.events.FETCH, () => { if (!this.stopping && this.state !== 'connected') this.state = 'connected'; });

    // The first connect retries until the broker answers (like the RabbitMQ binder): a processor may start first.
    for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await consumer.connect();
        await consumer.subscribe({ topics: [binding.destination], fromBeginning: true });
        break;
      } catch (err) {
        if (this.stopping) return;
        this.lastError = errorText(err);
        this.options.log.warn({ err: this.lastError }, 'kafka consumer connect failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.eachBatch(payload, handler),
    });
    this.commitTimer = setInterval(() => { void this.commit(); }, COMMIT_INTERVAL_MS);
  }

  private async eachBatch(payload: EachBatchPayload, handler: DeliveryHandler): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const partition = batch.partition;
    let lastHeartbeat = Date.now();
    for (const record of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) return;
      while (this.inFlight >= this.maxInFlight && !this.stopping) {
        await new Promise<void>((r) => { this.drained = r; setTimeout(r, 500); });
        if (Date.now() - lastHeartbeat > 1000) { await heartbeat(); lastHeartbeat = Date.now(); }
        if (!isRunning() || isStale()) return;
      }
      const offset = Number(record.offset);
      const progress = this.tracker.progress(partition);
      progress.track(offset);
      this.inFlight++;
      const generation = this.generation;
      let settled = false;
      handler({
        message: toMessage(record.headers, record.value, record.key),
        partition,
        ack: () => {
          if (settled) return;
          settled = true;
          progress.complete(offset);
          if (generation === this.generation) this.inFlight--;
          if (this.inFlight < this.maxInFlight) this.wake();
        },
      });
      resolveOffset(record.offset);
    }
    if (Date.now() - lastHeartbeat > 1000) await heartbeat();
  }

  private wake(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  private commit(): Promise<void> {
    // Serialised: never two OffsetCommit requests of this consumer at once.
    this.committing = this.committing.then(async () => {
      const consumer = this.consumer;
      if (!consumer) return;
      const offsets = this.tracker.committable();
      if (offsets.length === 0) return;
      const topic = this.options.binding.destination;
      try {
        await consumer.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset) })));
        for (const o of offsets) this.tracker.markCommitted(o.partition, o.offset);
      } catch (err) {
        // Rebalance or broker down: retried on the next tick; after a rebalance the messages are redelivered.
        this.lastError = errorText(err);
      }
    });
    return this.committing;
  }

  pause(): void {
    if (this.paused || !this.consumer) return;
    this.paused = true;
    this.consumer.pause([{ topic: this.options.binding.destination }]);
  }

  resume(): void {
    if (!this.paused || !this.consumer) return;
    this.paused = false;
    this.consumer.resume([{ topic: this.options.binding.destination }]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    if (this.commitTimer) clearInterval(this.commitTimer);
    await this.commit();
    this.state = 'stopped';
    await this.consumer?.disconnect().catch(() => undefined);
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.state,
      inFlight: this.tracker.pending,
      detail: { group: this.options.group, assignedPartitions: this.assigned, paused: this.paused },
      ...(this.lastError ? { lastError: this.lastError } : {}),
    });
  }
}

interface PendingRecord {
  message: Message;
  partition: number | undefined;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface KafkaOutputOptions {
  binding: BindingConfig;
  log: Logger;
  clientId?: string;
  /** Records per produce request. */
  maxBatch?: number;
  /** Produce requests in flight at once. */
  maxRequests?: number;
}

export class KafkaOutput implements OutputBinder {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private queue: PendingRecord[] = [];
  private requests = 0;
  private unconfirmed = 0;
  private flushScheduled = false;
  private state: ConnectionState = 'connecting';
  private lastError: string | undefined;
  private stopped = false;
  private readonly maxBatch: number;
  private readonly maxRequests: number;

  constructor(private readonly options: KafkaOutputOptions) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxRequests = options.maxRequests ?? 4;
    this.kafka = kafkaClient(options.binding.server, options.clientId ?? `sr-out-${options.binding.stream}`, options.log.child({ output: options.binding.stream }));
  }

  async start(): Promise<void> {
    const producer = this.kafka.producer({
      allowAutoTopicCreation: true,
      idempotent: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 10 },
    });
    producer.on(producer.events.DISCONNECT, () => { if (!this.stopped) this.state = 'reconnecting'; });
    producer.on(producer.events.CONNECT, () => { this.state = 'connected'; });
    this.producer = producer;
    for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
      try {
        await producer.connect();
        this.state = 'connected';
        return;
      } catch (err) {
        if (this.stopped) return;
        this.lastError = errorText(err);
        this.options.log.warn({ err: this.lastError }, 'kafka producer connect failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  send(message: Message, partition?: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('output stopped'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ message, partition, resolve, reject });
      this.unconfirmed++;
      this.scheduleFlush();
    });
  }

  /** Micro-batching: everything sent in one turn of the event loop goes out in as few requests as possible. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.requests < this.maxRequests) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.requests++;
      void this.produce(batch).finally(() => {
        this.requests--;
        if (this.queue.length > 0) this.scheduleFlush();
      });
    }
  }

  /** One batch, retried with backoff until the brokers confirm it (duplicates possible, loss not). */
  private async produce(batch: PendingRecord[]): Promise<void> {
    const messages = batch.map((r) => {
      const record: { value: Buffer; headers: Record<string, string>; key?: Buffer; partition?: number } = {
        value: r.message.payload,
        headers: r.message.headers,
      };
      if (r.message.key) record.key = r.message.key;
      if (r.partition !== undefined) record.partition = r.partition;
      return record;
    });
    for (let delay = 100; ; delay = Math.min(delay * 2, 3000)) {
      const producer = this.producer;
      if (this.stopped || !producer) {
        for (const r of batch) r.reject(new Error('output stopped before the broker confirmed'));
        this.unconfirmed -= batch.length;
        return;
      }
      try {
        await producer.send({ topic: this.options.binding.destination, acks: -1, messages });
        this.state = 'connected';
        this.unconfirmed -= batch.length;
        for (const r of batch) r.resolve();
        return;
      } catch (err) {
        this.lastError = errorText(err);
        this.state = 'reconnecting';
        this.options.log.warn({ err: this.lastError }, 'kafka produce failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unconfirmed > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    for (const r of this.queue) r.reject(new Error('output stopped before the broker confirmed'));
    this.queue = [];
    this.state = 'stopped';
    await this.producer?.disconnect().catch(() => undefined);
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.state,
      inFlight: this.unconfirmed,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    });
  }
}
