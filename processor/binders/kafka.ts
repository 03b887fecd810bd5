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
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type GroupMemberAssignment,
  type IHeaders,
  type KafkaConfig,
  type LogEntry,
  type PartitionAssigner,
  type Message as KafkaRecord,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaBrokers as brokerList } from '../../crds/addresses';
import type { BindingConfig, BrokerServer } from '../config';
import { OffsetTracker } from '../delivery/offset-tracker';
import { pinningPartitioner, splitAcknowledged } from '../delivery/produce-confirmation';
import { headerValueToString, type Message } from '../message';
import {
  errorText,
  binderStatus,
  UndeliverableError,
  type BinderStatus,
  type ConnectionState,
  type DeliveryHandler,
  type InputBinder,
  type OutputBinder,
} from './types';

const DISCONNECT_TIMEOUT_MS = 5000;

/** Waits for `work`, but no longer than `ms` (then calls `onTimeout` and returns). */
async function withDeadline(work: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => resolve('expired'), ms); });
  try {
    if ((await Promise.race([work, expired])) === 'expired') onTimeout();
  } finally {
    clearTimeout(timer);
  }
}

export const DEFAULT_MAX_IN_FLIGHT = 500;
const COMMIT_INTERVAL_MS = 200;

/** The bootstrap brokers of a binding's server (crds/addresses.ts: the controllers read addresses the same way). */
export function kafkaBrokers(server: BrokerServer): string[] {
  return brokerList(server.url);
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

/** Names the bootstrap servers of librdkafka's mock cluster (the dev Kafka of `sr up`, hack/kafka-mock): consumer
 *  groups on it get `MOCK_GROUP_TIMING`. Set by the local runtime; a binding on any other cluster is unaffected. */
export const KAFKA_MOCK_BROKERS_ENV = 'SR_KAFKA_MOCK_BROKERS';

export interface ConsumerGroupTiming {
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  /** The group leader hands in its assignment this late (see MOCK_GROUP_TIMING). */
  leaderSyncDelayMs: number;
}

/** Real Kafka: rebalances finish as soon as every member has rejoined, so the session timeout only decides how
 *  fast a dead member is noticed (10 s; brokers refuse less than group.min.session.timeout.ms, 6 s by default). */
export const DEFAULT_GROUP_TIMING: ConsumerGroupTiming = { sessionTimeout: 10_000, heartbeatInterval: 1000, rebalanceTimeout: 10_000, leaderSyncDelayMs: 0 };

/** librdkafka 2.0.2's mock coordinator (rdkafka_mock_cgrp.c) never ends a rebalance early: the first join of an
 *  empty group waits a fixed 3 s, and every later membership change waits `session timeout - 1 s`. A 4 s session
 *  timeout makes that 3 s as well (it must stay above the 3 s first-join wait, or members expire while they wait
 *  for it). The mock also completes a sync as soon as the leader's SyncGroup arrives and answers a SyncGroup that
 *  comes later with INVALID_REQUEST (a consumer crash and one more rebalance), so the leader hands in its
 *  assignment 300 ms after computing it, by which time the other members have sent theirs. */
export const MOCK_GROUP_TIMING: ConsumerGroupTiming = { sessionTimeout: 4000, heartbeatInterval: 1000, rebalanceTimeout: 4000, leaderSyncDelayMs: 300 };

/** The timing for a binding's cluster: the mock's when its brokers are among `SR_KAFKA_MOCK_BROKERS`. */
export function consumerGroupTiming(server: BrokerServer, env: NodeJS.ProcessEnv = process.env): ConsumerGroupTiming {
  const mock = new Set(kafkaBrokers({ url: env[KAFKA_MOCK_BROKERS_ENV] ?? '' }));
  return kafkaBrokers(server).some((b) => mock.has(b)) ? MOCK_GROUP_TIMING : DEFAULT_GROUP_TIMING;
}

/** Lets the leader's assignment of a group of several members wait `delayMs` before it is sent (kafkajs sends
 *  SyncGroup as soon as `assign` returns). */
/** Every member of the group gets an entry in the SyncGroup request, an empty one when it gets no partition.
 *  kafkajs' round-robin assigner leaves such members out; real brokers accept that, but librdkafka's mock (`sr up`'s
 *  dev Kafka) never completes the sync and rebalances for ever — e.g. three replicas on a one-partition topic. */
function everyMemberAssigned(assigner: PartitionAssigner): PartitionAssigner {
  return (config) => {
    const inner = assigner(config);
    return {
      ...inner,
      assign: async (group) => {
        const assignment = await inner.assign(group);
        const assigned = new Set(assignment.map((a) => a.memberId));
        for (const member of group.members) {
          if (!assigned.has(member.memberId)) assignment.push({ memberId: member.memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: inner.version, assignment: {}, userData: Buffer.alloc(0) }) });
        }
        return assignment;
      },
    };
  };
}

function delayedAssignment(assigner: PartitionAssigner, delayMs: number): PartitionAssigner {
  if (delayMs <= 0) return assigner;
  return (config) => {
    const inner = assigner(config);
    return {
      ...inner,
      assign: async (group) => {
        const assignment = await inner.assign(group);
        // Alone in the group, nobody else has a SyncGroup to send.
        if (group.members.length > 1) await new Promise((r) => setTimeout(r, delayMs));
        return assignment;
      },
    };
  };
}

export function toMessage(headers: IHeaders | undefined, value: Buffer | null, key: Buffer | null): Message {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const text = headerValueToString(raw);
    if (text !== undefined) out[name] = text;
  }
  const message: Message = { payload: value ?? Buffer.alloc(0), headers: out };
  if (key) message.key = key;
  if (value === null) message.tombstone = true;
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
  private receivedAny = false;

  constructor(private readonly options: KafkaInputOptions) {
    this.maxInFlight = options.maxInFlight ?? options.binding.prefetch ?? DEFAULT_MAX_IN_FLIGHT;
    this.kafka = kafkaClient(options.binding.server, options.clientId ?? `sr-${options.group}`, options.log.child({ input: options.binding.stream }));
  }

  async start(handler: DeliveryHandler): Promise<void> {
    const { binding, group, instanceIndex, instanceCount } = this.options;
    const timing = consumerGroupTiming(binding.server);
    const assigner = binding.partitioned ? instancePartitionAssigner(instanceIndex, instanceCount) : PartitionAssigners.roundRobin;
    const consumer = this.kafka.consumer({
      groupId: group,
      partitionAssigners: [delayedAssignment(everyMemberAssigned(assigner), timing.leaderSyncDelayMs)],
      sessionTimeout: timing.sessionTimeout,
      rebalanceTimeout: timing.rebalanceTimeout,
      heartbeatInterval: timing.heartbeatInterval,
      // Real brokers answer a fetch as soon as data arrives; the mock always waits the full time: keep it short.
      maxWaitTimeInMs: 100,
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.options.log.info({ input: binding.stream, group, partitions: event.payload.memberAssignment[binding.destination] ?? [], waitedMs: event.payload.duration }, 'joined consumer group');
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
        this.options.log.info({ input: binding.stream, group, sessionTimeout: timing.sessionTimeout }, 'kafka consumer connected; joining consumer group');
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
    if (!this.receivedAny && batch.messages.length > 0) {
      this.receivedAny = true;
      this.options.log.info({ input: this.options.binding.stream, partition }, 'first messages fetched');
    }
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
        timestamp: Number(record.timestamp),
        offset: record.offset,
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
    // kafkajs' disconnect can hang forever after the group coordinator or a partition leader moved (seen in 5 of 31
    // fault runs); offsets are committed above, so leaving after a bound loses nothing: the group expires the member.
    const consumer = this.consumer;
    if (consumer) await withDeadline(consumer.disconnect().catch(() => undefined), DISCONNECT_TIMEOUT_MS, () => this.options.log.warn({ input: this.options.binding.stream }, `kafka consumer did not disconnect within ${DISCONNECT_TIMEOUT_MS} ms; leaving anyway`));
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

/** Produce errors no retry can cure: the record or the request itself is refused (too large, invalid, a topic that
 *  cannot exist, not authorised). kafkajs marks them non-retriable and keeps the broker's error in the `cause` chain. */
export const PERMANENT_PRODUCE_ERRORS: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION', 'TOPIC_AUTHORIZATION_FAILED',
  'INVALID_TIMESTAMP', 'UNSUPPORTED_FOR_MESSAGE_FORMAT', 'INVALID_REQUIRED_ACKS', 'UNSUPPORTED_COMPRESSION_TYPE',
  'POLICY_VIOLATION',
]);

/** The broker error type when `err` (or an error it wraps) is one of PERMANENT_PRODUCE_ERRORS. */
export function permanentProduceError(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string' && PERMANENT_PRODUCE_ERRORS.has(type)) return type;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Attempts of a record refused with a permanent error before it is given up (UndeliverableError): one more than
 *  needed to tell a broker's passing misconfiguration from a record that can never be written. */
export const DEFAULT_PERMANENT_ERROR_ATTEMPTS = 3;

export interface KafkaOutputOptions {
  binding: BindingConfig;
  log: Logger;
  clientId?: string;
  /** Attempts of a record refused with a permanent error (PERMANENT_PRODUCE_ERRORS) before `send` rejects with
   *  UndeliverableError; Infinity for the dead-letter destination (nowhere further to go). */
  permanentErrorAttempts?: number;
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
  /** Records kafkajs reported as sent without a broker acknowledgement for them (sent again). */
  private resent = 0;
  private readonly permanentErrorAttempts: number;
  private undeliverable = 0;
  private lastUndeliverable: { at: number; text: string } | undefined;
  /** Records refused with a permanent error and waiting for their next attempt. */
  private retryingPermanent = 0;
  /** Reads the topic's partition count when records stay unacknowledged (missingPartitions). */
  private admin: Admin | undefined;
  private adminConnected = false;
  private topicPartitions: { at: number; count: number } | undefined;

  constructor(private readonly options: KafkaOutputOptions) {
    this.permanentErrorAttempts = options.permanentErrorAttempts ?? DEFAULT_PERMANENT_ERROR_ATTEMPTS;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxRequests = options.maxRequests ?? 4;
    this.kafka = kafkaClient(options.binding.server, options.clientId ?? `sr-out-${options.binding.stream}`, options.log.child({ output: options.binding.stream }));
  }

  async start(): Promise<void> {
    const producer = this.kafka.producer({
      allowAutoTopicCreation: true,
      idempotent: false,
      // Pins each record to its first partition: see delivery/produce-confirmation.
      createPartitioner: pinningPartitioner,
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

  /** One batch, retried with backoff until the brokers confirm every record of it (duplicates possible, loss not).
   *  A record counts as confirmed only when the broker's answer names its partition: kafkajs may resolve a send
   *  with some records never written (delivery/produce-confirmation); those are sent again. */
  private async produce(batch: PendingRecord[]): Promise<void> {
    await this.produceRecords(batch.map((r) => {
      const record: KafkaRecord = { value: r.message.tombstone ? null : r.message.payload, headers: r.message.headers };
      if (r.message.key) record.key = r.message.key;
      if (r.partition !== undefined) record.partition = r.partition;
      return { pending: r, record };
    }));
  }

  /** Retriable failures are retried until confirmed. A permanent error (PERMANENT_PRODUCE_ERRORS) is not: a batch
   *  is split so that each record is tried alone (one bad record must not take the others down), and a record
   *  still refused after `permanentErrorAttempts` rejects with UndeliverableError (the pipeline dead-letters it). */
  private async produceRecords(records: Array<{ pending: PendingRecord; record: KafkaRecord }>): Promise<void> {
    const topic = this.options.binding.destination;
    let pending = records;
    let permanentFailures = 0;
    let unackedRounds = 0;
    for (let delay = 100; ; delay = Math.min(delay * 2, 3000)) {
      const producer = this.producer;
      if (this.stopped || !producer) {
        for (const p of pending) p.pending.reject(new Error('output stopped before the broker confirmed'));
        this.unconfirmed -= pending.length;
        return;
      }
      try {
        const acknowledged = await producer.send({ topic, acks: -1, messages: pending.map((p) => p.record) });
        this.state = 'connected';
        const { confirmed, unconfirmed } = splitAcknowledged(pending, (p) => p.record, topic, acknowledged);
        this.unconfirmed -= confirmed.length;
        for (const p of confirmed) p.pending.resolve();
        if (unconfirmed.length === 0) return;
        // A record pinned to a partition the topic does not have (a partitionCount larger than the topic: a cluster
        // that cannot grow it) is "sent" by kafkajs without any request and never acknowledged: without this check
        // it is resent forever and its input never completes. A moved leader heals by itself, a missing partition
        // does not: from the second unacknowledged round on, ask the cluster how many partitions there are.
        unackedRounds++;
        const missing = unackedRounds >= 2 ? await this.missingPartitions(topic, unconfirmed.map((p) => p.record.partition)) : undefined;
        if (missing) {
          const gone = unconfirmed.filter((p) => p.record.partition !== undefined && p.record.partition >= missing.count);
          if (gone.length > 0) {
            const text = `partition does not exist: topic "${topic}" has ${missing.count} partition(s)`;
            this.undeliverable += gone.length;
            this.lastUndeliverable = { at: Date.now(), text };
            this.unconfirmed -= gone.length;
            this.options.log.warn({ records: gone.length, partitions: [...new Set(gone.map((p) => p.record.partition))], topicPartitions: missing.count }, 'kafka records for partitions the topic does not have: undeliverable');
            for (const p of gone) p.pending.reject(new UndeliverableError(`${text}; record for partition ${p.record.partition ?? '?'}`, 'UNKNOWN_PARTITION'));
            pending = unconfirmed.filter((p) => !gone.includes(p));
            if (pending.length === 0) return;
            continue;
          }
        }
        this.resent += unconfirmed.length;
        this.options.log.warn(
          { records: unconfirmed.length, partitions: [...new Set(unconfirmed.map((p) => p.record.partition))] },
          'kafka send resolved without a broker acknowledgement for some records (a leader failed or moved during the send); sending them again',
        );
        pending = unconfirmed;
        await new Promise((r) => setTimeout(r, delay));
      } catch (err) {
        this.lastError = errorText(err);
        const permanent = permanentProduceError(err);
        if (permanent) {
          if (pending.length > 1) {
            this.options.log.warn({ err: this.lastError, type: permanent, records: pending.length }, 'kafka produce refused with a permanent error; trying each record alone');
            await Promise.all(pending.map((p) => this.produceRecords([p])));
            return;
          }
          permanentFailures++;
          if (permanentFailures >= this.permanentErrorAttempts) {
            const text = `kafka refused the record with ${permanent}: ${this.lastError}`;
            this.undeliverable++;
            this.lastUndeliverable = { at: Date.now(), text };
            this.unconfirmed -= pending.length;
            this.options.log.warn({ err: this.lastError, type: permanent, attempts: permanentFailures }, 'kafka record undeliverable after every attempt');
            for (const p of pending) p.pending.reject(new UndeliverableError(`${text} (${permanentFailures} attempts)`, permanent));
            return;
          }
          this.options.log.warn({ err: this.lastError, type: permanent, attempt: permanentFailures }, 'kafka produce refused with a permanent error; retrying');
          this.retryingPermanent += pending.length;
          await new Promise((r) => setTimeout(r, delay));
          this.retryingPermanent -= pending.length;
          continue;
        } else {
          // Everything else (connection, leadership, timeouts) is passing: retried until confirmed.
          this.state = 'reconnecting';
          this.options.log.warn({ err: this.lastError }, 'kafka produce failed; retrying');
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** The topic's partition count when some of `partitions` are beyond it (undefined when all exist, when the count
   *  cannot be read, or for the dead-letter destination, which never gives up). Cached for 5 s. */
  private async missingPartitions(topic: string, partitions: Array<number | undefined>): Promise<{ count: number } | undefined> {
    if (!Number.isFinite(this.permanentErrorAttempts)) return undefined;
    const highest = Math.max(-1, ...partitions.map((p) => p ?? -1));
    if (highest < 0) return undefined;
    if (!this.topicPartitions || Date.now() - this.topicPartitions.at > 5000) {
      try {
        this.admin ??= this.kafka.admin();
        if (!this.adminConnected) { await this.admin.connect(); this.adminConnected = true; }
        const metadata = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const count = metadata.topics[0]?.partitions.length ?? 0;
        if (count === 0) return undefined; // no metadata yet: not a verdict
        this.topicPartitions = { at: Date.now(), count };
      } catch (err) {
        this.options.log.debug({ err: errorText(err) }, 'could not read the topic metadata');
        return undefined;
      }
    }
    return highest >= this.topicPartitions.count ? { count: this.topicPartitions.count } : undefined;
  }

  /** For /readyz: records the broker is refusing with a permanent error right now (as on RabbitMQ, only while it
   *  lasts; what was given up on shows in /debug/state and the metrics). */
  deliveryProblem(): string | undefined {
    if (this.retryingPermanent === 0) return undefined;
    return `${this.retryingPermanent} record(s) refused (${this.lastError ?? 'permanent error'}); retrying before dead-lettering`;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.unconfirmed > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    for (const r of this.queue) r.reject(new Error('output stopped before the broker confirmed'));
    this.queue = [];
    this.state = 'stopped';
    const producer = this.producer;
    if (producer) await withDeadline(producer.disconnect().catch(() => undefined), DISCONNECT_TIMEOUT_MS, () => undefined);
    const admin = this.admin;
    if (admin && this.adminConnected) await withDeadline(admin.disconnect().catch(() => undefined), DISCONNECT_TIMEOUT_MS, () => undefined);
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.state,
      inFlight: this.unconfirmed,
      detail: {
        resentUnacknowledged: this.resent, undeliverable: this.undeliverable,
        ...(this.lastUndeliverable ? { lastUndeliverable: { at: new Date(this.lastUndeliverable.at).toISOString(), error: this.lastUndeliverable.text } } : {}),
      },
      ...(this.lastError ? { lastError: this.lastError } : {}),
    });
  }
}
