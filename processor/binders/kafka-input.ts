// The consumer side of the Kafka binder. Consumer group = the processor's group (factory.ts); keys and headers carried
// into the message; a partitioned input takes only partitions p with p % instanceCount == instanceIndex
// (kafka-assigner.ts, so several replicas of one index still share the work). At most `maxInFlight` messages are
// handed out and not yet acknowledged. Offsets are committed only up to the lowest not-yet-completed message of each
// partition (delivery/offset-tracker), so completion may happen out of order without ever committing past an
// unfinished message; each commit's metadata names the offsets above it that are acknowledged already
// (delivery/acknowledged-offsets.ts). When the group hands this member partitions, it reads the committed offsets with
// their metadata (an admin client: kafkajs's consumer drops the metadata) before handing out any record, and records
// named there are acknowledged without reaching the pipeline: they were processed before a restart or rebalance.
// Commits run every 200 ms, and at once after acknowledgements of records held longer than that (a window that fired:
// delivery/commit-scheduler.ts).
import { PartitionAssigners, type Admin, type Consumer, type EachBatchPayload, type IHeaders, type Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { BindingConfig } from '../config';
import { CommitScheduler } from '../delivery/commit-scheduler';
import { OffsetTracker } from '../delivery/offset-tracker';
import { headerValueToString, type Message } from '../message';
import { delayedAssignment, everyMemberAssigned, instancePartitionAssigner } from './kafka-assigner';
import { DISCONNECT_TIMEOUT_MS, kafkaClient, untilConnected, withDeadline } from './kafka-client';
import { consumerGroupTiming } from './kafka-group-timing';
import {
  errorText,
  binderStatus,
  type BinderStatus,
  type ConnectionState,
  type DeliveryHandler,
  type InputBinder,
} from './types';

export const DEFAULT_MAX_IN_FLIGHT = 500;
const COMMIT_INTERVAL_MS = 200;
/** A record acknowledged this long after it was handed out was held by a window or a join (a hop that is merely slow
 *  on a loaded machine answers sooner): its acknowledgement commits at once. Well above the commit interval, so a
 *  saturated machine, where every acknowledgement is late, does not turn every one into a commit. */
const EARLY_COMMIT_HELD_MS = 1000;
/** Early commits start at least this far apart: at most 10 OffsetCommits a second, twice the periodic rate. */
const EARLY_COMMIT_MIN_GAP_MS = 100;
/** How long records wait for the committed offsets' metadata after a group join; then they are handed out as if there
 *  were none (everything above the committed offset redelivered, at-least-once as without it). */
const RESTORE_DEADLINE_MS = 15_000;
const RESTORE_ATTEMPTS = 3;

/** Reading the acknowledged offsets of one group generation (restoreAcknowledged). */
interface Restoration {
  generation: number;
  settled: boolean;
  /** Given up waiting: a late answer must not change a tracker that already handed records out. */
  abandoned: boolean;
  done: Promise<void>;
}

/** A consumed record as a message: headers as strings, the key kept, a null value a tombstone. */
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

/** The Kafka error name (`type`) of a kafkajs protocol error, also when its retrier wrapped it (`cause`). */
function kafkaErrorType(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    if ('type' in e && typeof e.type === 'string') return e.type;
    e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
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
  private admin: Promise<Admin> | undefined;
  private restoration: Restoration | undefined;
  /** Records not handed out because an earlier owner's commit named them acknowledged. */
  private skippedAcknowledged = 0;
  /** Off once a broker refused the metadata as too large (an `offset.metadata.max.bytes` below Kafka's default 4096):
   *  then commits carry offsets only, as before acknowledged offsets were recorded. */
  private commitMetadata = true;
  private readonly tracker = new OffsetTracker();
  private state: ConnectionState = 'connecting';
  private lastError: string | undefined;
  private assigned: number[] = [];
  private inFlight = 0;
  /** Bumped by every rebalance: acknowledgements of messages handed out before it no longer count as in flight. */
  private generation = 0;
  private readonly maxInFlight: number;
  private drained: (() => void) | undefined;
  /** The periodic commit, and one at once when a record held longer than the period is acknowledged (a window
   *  fired): then the restart gap for those records is the commit's round trip, not up to 200 ms. */
  private readonly commits = new CommitScheduler({
    commit: () => this.commit(),
    intervalMs: COMMIT_INTERVAL_MS,
    heldMs: EARLY_COMMIT_HELD_MS,
    minGapMs: EARLY_COMMIT_MIN_GAP_MS,
  });
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
      this.restoration = this.restoreAcknowledged(this.generation, this.assigned);
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
    const connected = await untilConnected(
      async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: [binding.destination], fromBeginning: true });
      },
      () => this.stopping,
      (err) => {
        this.lastError = errorText(err);
        this.options.log.warn({ err: this.lastError }, 'kafka consumer connect failed; retrying');
      },
    );
    if (!connected) return;
    this.options.log.info({ input: binding.stream, group, sessionTimeout: timing.sessionTimeout }, 'kafka consumer connected; joining consumer group');
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: (payload) => this.eachBatch(payload, handler),
    });
    this.commits.start();
  }

  private async eachBatch(payload: EachBatchPayload, handler: DeliveryHandler): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const partition = batch.partition;
    if (!this.receivedAny && batch.messages.length > 0) {
      this.receivedAny = true;
      this.options.log.info({ input: this.options.binding.stream, partition }, 'first messages fetched');
    }
    // No closure over the payload's functions here: V8 would keep them in this call's context, which every message's
    // ack closure below holds, and through them kafkajs's batch with every record's buffer until the ack.
    if (!(await this.untilRestored(payload))) return;
    let lastHeartbeat = Date.now();
    for (const record of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) return;
      const offset = Number(record.offset);
      const progress = this.tracker.progress(partition);
      if (progress.wasAcknowledged(offset)) {
        progress.track(offset);
        progress.complete(offset);
        this.skippedAcknowledged++;
        resolveOffset(record.offset);
        continue;
      }
      while (this.inFlight >= this.maxInFlight && !this.stopping) {
        await new Promise<void>((r) => { this.drained = r; setTimeout(r, 500); });
        if (Date.now() - lastHeartbeat > 1000) { await heartbeat(); lastHeartbeat = Date.now(); }
        if (!isRunning() || isStale()) return;
      }
      progress.track(offset);
      this.inFlight++;
      const generation = this.generation;
      const handedOutAt = Date.now();
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
          this.commits.acknowledged(handedOutAt);
          if (generation === this.generation) this.inFlight--;
          if (this.inFlight < this.maxInFlight) this.wake();
        },
      });
      resolveOffset(record.offset);
    }
    if (Date.now() - lastHeartbeat > 1000) await heartbeat();
  }

  /** Reads the committed offsets and their metadata of the partitions a group join assigned, into the tracker. */
  private restoreAcknowledged(generation: number, partitions: number[]): Restoration {
    const restoration: Restoration = { generation, settled: false, abandoned: false, done: Promise.resolve() };
    const { binding, group, log } = this.options;
    const current = (): boolean => !restoration.abandoned && !this.stopping && generation === this.generation;
    restoration.done = (async () => {
      for (let attempt = 1; partitions.length > 0 && current(); attempt++) {
        try {
          const admin = await this.connectedAdmin();
          const topics = await admin.fetchOffsets({ groupId: group, topics: [binding.destination] });
          if (!current()) return;
          let acknowledged = 0;
          for (const { partition, offset, metadata } of topics.find((t) => t.topic === binding.destination)?.partitions ?? []) {
            // -1: nothing committed yet, so nothing acknowledged either.
            if (partitions.includes(partition) && Number(offset) >= 0) acknowledged += this.tracker.progress(partition).restore(Number(offset), metadata);
          }
          if (acknowledged > 0) log.info({ input: binding.stream, group, acknowledged }, 'records acknowledged above the committed offsets will not be handed out again');
          return;
        } catch (err) {
          if (attempt >= RESTORE_ATTEMPTS || !current()) {
            log.warn({ input: binding.stream, err: errorText(err) }, 'could not read the committed offsets\' metadata; records above the committed offsets are redelivered');
            return;
          }
          await new Promise((r) => setTimeout(r, 250 * attempt));
        }
      }
    })().finally(() => { restoration.settled = true; });
    return restoration;
  }

  /** Waits (heartbeating) until this generation's acknowledged offsets are known, or RESTORE_DEADLINE_MS. False when
   *  the batch is to be abandoned. */
  private async untilRestored({ heartbeat, isRunning, isStale }: EachBatchPayload): Promise<boolean> {
    const abandon = (): boolean => !isRunning() || isStale() || this.stopping;
    const restoration = this.restoration;
    if (!restoration || restoration.settled) return true;
    const deadline = Date.now() + RESTORE_DEADLINE_MS;
    while (!restoration.settled) {
      if (abandon()) return false;
      if (Date.now() >= deadline) {
        restoration.abandoned = true;
        this.options.log.warn({ input: this.options.binding.stream }, `committed offsets' metadata not read within ${RESTORE_DEADLINE_MS} ms; records above the committed offsets are redelivered`);
        return true;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([restoration.done, new Promise<void>((r) => { timer = setTimeout(r, 1000); })]);
      clearTimeout(timer);
      if (!restoration.settled) await heartbeat();
    }
    return true;
  }

  private connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 } });
      this.admin = admin.connect().then(() => admin);
      // A failed connect is tried afresh next time.
      this.admin.catch(() => { this.admin = undefined; });
    }
    return this.admin;
  }

  private wake(): void {
    const drained = this.drained;
    this.drained = undefined;
    drained?.();
  }

  /** One commit round; the scheduler never runs two at once (never two OffsetCommit requests of this consumer). */
  private async commit(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    const offsets = this.tracker.committable();
    if (offsets.length === 0) return;
    const topic = this.options.binding.destination;
    try {
      await consumer.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: String(o.offset), metadata: this.commitMetadata ? o.metadata : null })));
      for (const o of offsets) this.tracker.markCommitted(o.partition, o);
    } catch (err) {
      // Rebalance or broker down: retried on the next tick; after a rebalance the messages are redelivered.
      this.lastError = errorText(err);
      if (this.commitMetadata && kafkaErrorType(err) === 'OFFSET_METADATA_TOO_LARGE') {
        this.commitMetadata = false;
        this.options.log.warn({ input: this.options.binding.stream }, 'the broker refuses the acknowledged offsets in commit metadata as too large; committing offsets only (records above them are redelivered after a restart)');
      }
    }
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
    await this.commits.stop();
    this.state = 'stopped';
    // kafkajs' disconnect can hang forever after the group coordinator or a partition leader moved (seen in 5 of 31
    // fault runs); offsets are committed above, so leaving after a bound loses nothing: the group expires the member.
    const consumer = this.consumer;
    if (consumer) await withDeadline(consumer.disconnect().catch(() => undefined), DISCONNECT_TIMEOUT_MS, () => this.options.log.warn({ input: this.options.binding.stream }, `kafka consumer did not disconnect within ${DISCONNECT_TIMEOUT_MS} ms; leaving anyway`));
    const admin = this.admin;
    if (admin) await withDeadline(admin.then((a) => a.disconnect()).catch(() => undefined), DISCONNECT_TIMEOUT_MS, () => undefined);
  }

  status(): BinderStatus {
    return binderStatus(this.options.binding, {
      state: this.state,
      inFlight: this.tracker.pending,
      detail: { group: this.options.group, assignedPartitions: this.assigned, paused: this.paused, skippedAcknowledged: this.skippedAcknowledged, earlyCommits: this.commits.earlyCommits },
      ...(this.lastError ? { lastError: this.lastError } : {}),
    });
  }
}
