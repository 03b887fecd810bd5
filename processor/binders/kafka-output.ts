// The producer side of the Kafka binder: micro-batched sends that resolve only once the brokers acknowledged every
// record (acks -1, each record's partition confirmed: delivery/produce-confirmation), retried across failures; a
// record the broker refuses for good (a permanent produce error, a partition the topic does not have) is given up
// with UndeliverableError so the pipeline dead-letters it — except by the dead-letter output itself, which retries
// for ever (nowhere further to go).
import type { Admin, Kafka, Message as KafkaRecord, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { BindingConfig } from '../config';
import { pinningPartitioner, splitAcknowledged } from '../delivery/produce-confirmation';
import type { Message } from '../message';
import { DISCONNECT_TIMEOUT_MS, kafkaClient, untilConnected, withDeadline } from './kafka-client';
import {
  errorText,
  binderStatus,
  UndeliverableError,
  type BinderStatus,
  type ConnectionState,
  type OutputBinder,
} from './types';

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
    const connected = await untilConnected(() => producer.connect(), () => this.stopped, (err) => {
      this.lastError = errorText(err);
      this.options.log.warn({ err: this.lastError }, 'kafka producer connect failed; retrying');
    });
    if (connected) this.state = 'connected';
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
