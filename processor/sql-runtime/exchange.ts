// The exchange: how streaming SQL scales past one replica. Each replica consumes its share of an input's partitions
// (the consumer group splits them) and re-keys every record through an exchange destination — a Kafka topic or
// RabbitMQ exchange of `partitions` partitions beside the input, named by the controllers — by the columns the
// keyed operators group or join on (crds/sql/partitioning.ts). Replica i then runs the statements over exchange
// partitions p with p % replicas == i, so all rows of a key meet on one replica.
//
// Event time crosses the exchange explicitly, per *source partition* (as Flink's watermarks are per split): rows of
// one exchange partition come from every source partition, interleaved, so their own timestamps cannot make its
// watermark. Every forwarder sends each exchange partition a marker saying, for every source partition it reads,
// that partition's watermark (max event time − delay of the rows whose copies are confirmed, never ahead of a row
// still in flight; or `idle`) and how far its copies are confirmed. The receiving replica keeps, per exchange
// partition, the latest word on every source partition it has heard of, whoever said it, and takes the minimum over
// all of them. A Kafka partition is one ordered log whichever replica reads it, so what its previous owner said
// stays true when the consumer group moves it: it holds the exchange partition at that value until its new owner
// reports more, and one nobody reports any more stops counting after the idle timeout. (Per-forwarder watermarks were
// wrong exactly there: a surviving forwarder's watermark knew nothing of the rows of a partition it had just been
// given, or that a dead replica had not forwarded yet.)
//
// At-least-once across the hop: a source record is acknowledged once its copy in the exchange is confirmed; the
// copy is acknowledged by the engine as any row is. A forwarder that dies (or loses a partition) before its source
// offsets are committed has those records forwarded again by the partition's next owner; on RabbitMQ, the broker
// redelivers the dead forwarder's unacknowledged messages to another replica. A copy is recognised by its source
// identity (`sr-exchange-source`: Kafka `<partition>:<offset>`, RabbitMQ `amqp:<messageId>/<payload digest>`) and
// dropped when a marker read earlier in the same exchange partition said its offset was already confirmed (Kafka: the
// first copy is before that marker), when the first copy is still pending in the engine, or when the first copy's row
// is done already (DoneSources: a bounded, durable under ROCKSDB, set per exchange partition) — without that last
// rule a RabbitMQ copy arriving after its window fired and the window re-opened (stage two restarted) counted again.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SqlTable, TableColumn } from '../../crds/sql/table';
import type { InboundDelivery, OutputBinder } from '../binders/types';
import { errorText } from '../binders/types';
import type { AmqpDelivery } from '../binders/rabbitmq';
import type { Message } from '../message';
import type { KeyedState } from '../sql/state';
import { TableClock } from '../sql/watermarks';
import { decodeRow, type DecodedRow } from './row-codec';

export const EXCHANGE_HEADERS = {
  /** The source record's broker timestamp (the `timestamp` metadata column), epoch ms. */
  timestamp: 'sr-exchange-timestamp',
  /** The source record's identity, recognises a record forwarded twice (sourceIdentity): `<source partition>:<offset>`
   *  (Kafka), `amqp:<messageId>/<payload digest>` (RabbitMQ; absent for a message without messageId). */
  source: 'sr-exchange-source',
  /** Markers: per source partition the forwarder reads, a SourceReport (JSON object keyed by source partition). */
  watermark: 'sr-exchange-watermark',
  /** Markers: the forwarding replica's index. */
  from: 'sr-exchange-from',
} as const;

/** How often a forwarder tells every exchange partition its sources' watermarks when they moved (and every 2 s
 *  anyway: a replica that restarts learns the watermarks within that time). */
export const MARKER_INTERVAL_MS = 200;
const MARKER_HEARTBEAT_MS = 2000;

/** FNV-1a over the key tuple's canonical JSON: the same values give the same partition in every replica, whatever the
 *  input's encoding (numbers as numbers, text as text, by the column's type). */
export function exchangePartition(values: unknown[], partitions: number): number {
  const text = JSON.stringify(values);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/**
 * The identity of a source record, the same on every copy of it: Kafka `<partition>:<offset>`; RabbitMQ
 * `amqp:<messageId>/<digest>` — a message RabbitMQ redelivers (to another replica, after a forwarder died) keeps its
 * properties, so its messageId, and its body. The digest (12 hex of the body's SHA-1) guards against a publisher that
 * reuses messageIds for different messages: only a message with the same id *and* the same body counts as a second
 * copy. Undefined for a RabbitMQ message without messageId (a foreign publisher that sets none): such copies are
 * never recognised as second copies.
 */
export function sourceIdentity(delivery: InboundDelivery): string | undefined {
  if (delivery.offset !== undefined) return `${delivery.partition}:${delivery.offset}`;
  const messageId = (delivery as Partial<AmqpDelivery>).messageId;
  if (typeof messageId !== 'string' || messageId === '') return undefined;
  return `amqp:${messageId}/${createHash('sha1').update(delivery.message.payload).digest('hex').slice(0, 12)}`;
}

const NUMERIC = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE', 'DECIMAL', 'TIMESTAMP', 'TIMESTAMP_LTZ', 'DATE', 'TIME']);

function canonicalKeyValue(column: TableColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (NUMERIC.has(column.type.name)) {
    const n = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(n) ? n : String(value);
  }
  if (column.type.name === 'BOOLEAN') return value === true || value === 'true';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What a forwarder says about one source partition it reads. */
export interface SourceReport {
  /** The partition's watermark (epoch ms): max event time − delay of the rows whose copies are confirmed, below every
   *  row still in flight. `idle`: no row for the idle timeout. `null`: read here, no watermark yet — the partition
   *  stays where its previous owner left it. */
  w: number | 'idle' | null;
  /** Kafka: every record of the partition up to this offset has a confirmed copy in the exchange (absent: none yet
   *  from this forwarder). */
  o?: number;
}

/** A watermark marker: the forwarding replica's index and its word on each source partition it reads. */
export interface ExchangeMarker {
  from: number;
  sources: Record<string, SourceReport>;
}

export function markerHeaders(marker: ExchangeMarker): Record<string, string> {
  return { [EXCHANGE_HEADERS.watermark]: JSON.stringify(marker.sources), [EXCHANGE_HEADERS.from]: String(marker.from) };
}

/** The marker carried by `headers`; throws an Error saying what is wrong (a marker of another version, a damaged
 *  one) — the caller logs it and skips the marker, which the next one replaces. */
export function parseMarker(headers: Record<string, string>): ExchangeMarker {
  const fromText = headers[EXCHANGE_HEADERS.from];
  const from = Number(fromText);
  if (fromText === undefined || !Number.isInteger(from) || from < 0) throw new Error(`exchange marker: ${EXCHANGE_HEADERS.from} ${JSON.stringify(fromText)} is not a replica index`);
  const text = headers[EXCHANGE_HEADERS.watermark] ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`exchange marker from replica ${from}: ${EXCHANGE_HEADERS.watermark} ${JSON.stringify(text.slice(0, 80))} is not an object of source partitions (a replica of an older version?)`);
  }
  const sources: Record<string, SourceReport> = {};
  for (const [source, value] of Object.entries(parsed as Record<string, unknown>)) {
    const report = value as { w?: unknown; o?: unknown } | null;
    const w = report?.w;
    const o = report?.o;
    if (report === null || typeof report !== 'object' || !(w === null || w === 'idle' || (typeof w === 'number' && Number.isFinite(w))) || !(o === undefined || (typeof o === 'number' && Number.isInteger(o)))) {
      throw new Error(`exchange marker from replica ${from}: source partition ${source}: ${JSON.stringify(value)} is not { w: <epoch ms> | "idle" | null, o?: <offset> }`);
    }
    sources[source] = o === undefined ? { w } : { w, o };
  }
  return { from, sources };
}

export interface ForwarderOptions {
  table: SqlTable;
  /** Key columns (empty: every row to partition 0). */
  keyColumns: string[];
  partitions: number;
  instanceIndex: number;
  out: OutputBinder;
  idleTimeoutMs: number;
  /** Kafka: each source partition is one ordered log, whichever replica the consumer group gives it to, so its
   *  watermark is reported per partition and carries over to its next owner. Otherwise (RabbitMQ: a queue's messages
   *  go to whichever consumer) this replica's share is one source of its own, `replica-<index>`. */
  orderedPartitions: boolean;
  log: Logger;
  now?: () => number;
}

/** One source partition as this forwarder reads it: copies sent and not yet confirmed, by position (the Kafka
 *  offset; without offsets, a sequence number), with their event times. */
interface SourceState {
  /** position → rowtime; ascending (a partition is delivered in order). */
  outstanding: Map<number, number | undefined>;
  /** The highest position forwarded. */
  highest: number;
}

/** Stage one on this replica: routes its share of one input into the exchange and keeps the exchange informed of its
 *  sources' watermarks. */
export class ExchangeForwarder {
  private readonly clock: TableClock;
  private readonly rowtimeColumn: string | undefined;
  private readonly keys: TableColumn[];
  private readonly sources = new Map<number, SourceState>();
  /** Kafka: markers start once the consumer group said which partitions are ours (before, we know nothing worth
   *  saying, and an empty word would be read as "nothing to wait for"). */
  private assigned: boolean;
  private sequence = 0;
  private lastSent: string | undefined;
  private lastSentAt = 0;
  forwarded = 0;
  markers = 0;

  constructor(private readonly o: ForwarderOptions) {
    const watermark = o.table.watermark;
    this.clock = new TableClock(o.table.stream, watermark?.delayMs ?? 0);
    this.rowtimeColumn = watermark?.column;
    this.assigned = !o.orderedPartitions;
    this.keys = o.keyColumns.map((name) => {
      const column = o.table.columns.find((c) => c.name === name);
      if (!column) throw new Error(`exchange key column "${name}" is not a column of table ${o.table.name}`);
      return column;
    });
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private source(partition: number): SourceState {
    let state = this.sources.get(partition);
    if (!state) {
      this.sources.set(partition, state = { outstanding: new Map(), highest: -1 });
      this.clock.partition(partition, this.now());
    }
    return state;
  }

  /** One decoded source record: its copy goes to the exchange partition of its key; `onConfirmed` acknowledges the
   *  source. Throws (RowDecodeError) when the record is not a row: the caller dead-letters it. */
  forward(delivery: InboundDelivery, message: Message, offset: string | undefined, onConfirmed: () => void, onFailed: (err: unknown) => void): void {
    const row: DecodedRow = decodeRow(this.o.table, message, delivery.timestamp, this.now());
    const partition = this.keys.length === 0
      ? 0
      : exchangePartition(this.keys.map((c) => canonicalKeyValue(c, row.values[c.name])), this.o.partitions);
    const headers: Record<string, string> = { ...delivery.message.headers, [EXCHANGE_HEADERS.timestamp]: String(row.timestamp) };
    const identity = offset !== undefined ? `${delivery.partition}:${offset}` : sourceIdentity(delivery);
    // A header that came with the source record names some other record: never carried over.
    if (identity === undefined) delete headers[EXCHANGE_HEADERS.source];
    else headers[EXCHANGE_HEADERS.source] = identity;
    const copy: Message = { payload: delivery.message.payload, headers };
    if (delivery.message.key) copy.key = delivery.message.key;
    const rowtime = this.rowtimeColumn === undefined ? undefined : eventTime(row.values[this.rowtimeColumn]);
    const state = this.source(delivery.partition);
    if (rowtime !== undefined) this.clock.observe(this.clock.partition(delivery.partition, this.now()), rowtime);
    const position = offset !== undefined && Number.isSafeInteger(Number(offset)) ? Number(offset) : this.sequence++;
    // A position at or below the highest one is a record delivered again (after a rebalance that left the partition
    // here): its first copy is either still outstanding or confirmed, and either way covers it.
    if (position > state.highest) {
      state.highest = position;
      state.outstanding.set(position, rowtime);
    }
    this.forwarded++;
    this.o.out.send(copy, partition).then(
      () => { state.outstanding.delete(position); onConfirmed(); },
      // Not confirmed: dead-lettered (no copy will ever exist) or the processor is stopping (no marker follows).
      (err: unknown) => { state.outstanding.delete(position); onFailed(err); },
    );
  }

  /** The source partitions the consumer group gives this replica now (Kafka), or the partition queues it consumes
   *  (RabbitMQ). Kafka: partitions no longer listed stop being reported here — their new owner reports them — and
   *  one that comes back starts afresh. */
  assignment(partitions: number[]): void {
    const now = this.now();
    for (const p of partitions) this.source(p);
    if (this.o.orderedPartitions) {
      const kept = new Set(partitions);
      for (const p of [...this.sources.keys()]) {
        if (kept.has(p)) continue;
        this.sources.delete(p);
        this.clock.forget(p);
      }
    }
    for (const p of partitions) this.clock.partition(p, now);
    this.assigned = true;
  }

  /** This forwarder's word on each of its sources (undefined: nothing to say yet). */
  reports(): Record<string, SourceReport> | undefined {
    if (!this.assigned) return undefined;
    this.clock.checkIdle(this.now(), this.o.idleTimeoutMs);
    if (!this.o.orderedPartitions) {
      let oldest: number | undefined;
      for (const state of this.sources.values()) oldest = minDefined(oldest, oldestInFlight(state));
      return { [`replica-${this.o.instanceIndex}`]: { w: reportedWatermark(this.clock.current(), oldest) } };
    }
    const out: Record<string, SourceReport> = {};
    for (const [partition, state] of this.sources) {
      const clock = this.clock.partitions.get(partition);
      const current = clock === undefined || clock.idle ? undefined : clock.watermark;
      const report: SourceReport = { w: reportedWatermark(current, oldestInFlight(state)) };
      // Every position below the oldest copy in flight is confirmed (or was committed by an earlier owner, after its
      // copy was confirmed).
      const first = state.outstanding.keys().next();
      const confirmed = first.done ? state.highest : first.value - 1;
      if (confirmed >= 0) report.o = confirmed;
      out[String(partition)] = report;
    }
    return out;
  }

  /** Sends a marker to every exchange partition when a report changed, and at least every 2 s. */
  tick(): void {
    const sources = this.reports();
    if (sources === undefined) return;
    const text = JSON.stringify(sources);
    const now = this.now();
    if (text === this.lastSent && now - this.lastSentAt < MARKER_HEARTBEAT_MS) return;
    this.lastSent = text;
    this.lastSentAt = now;
    const headers = markerHeaders({ from: this.o.instanceIndex, sources });
    for (let p = 0; p < this.o.partitions; p++) {
      this.markers++;
      this.o.out.send({ payload: Buffer.alloc(0), headers: { ...headers } }, p).catch((err: unknown) => this.o.log.warn({ err: errorText(err), partition: p }, 'exchange watermark marker not confirmed; the next one follows'));
    }
  }

  describe(): Record<string, unknown> {
    return { table: this.o.table.name, keyColumns: this.o.keyColumns, partitions: this.o.partitions, forwarded: this.forwarded, markers: this.markers, sources: this.reports() ?? 'waiting for the consumer group' };
  }
}

/** The event time of the oldest copy of `state` still in flight. */
function oldestInFlight(state: SourceState): number | undefined {
  let oldest: number | undefined;
  for (const t of state.outstanding.values()) oldest = minDefined(oldest, t);
  return oldest;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/** A source's watermark (undefined: idle) held below the oldest row in flight; null while there is none yet. */
function reportedWatermark(current: number | undefined, oldestInFlight: number | undefined): SourceReport['w'] {
  if (current === undefined && oldestInFlight === undefined) return 'idle';
  const wm = Math.min(current ?? Number.POSITIVE_INFINITY, oldestInFlight === undefined ? Number.POSITIVE_INFINITY : oldestInFlight - 1);
  return Number.isFinite(wm) ? wm : null;
}

function eventTime(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
    const parsed = Date.parse(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** What a receiving replica knows of one source partition, for one exchange partition. */
interface SourceEntry {
  /** The highest watermark any forwarder reported for it (−∞ before the first). */
  watermark: number;
  idle: boolean;
  /** The highest offset reported confirmed (−1 before the first). */
  confirmed: number;
  /** Who said it last, and when (wall clock of this replica). */
  from: number;
  at: number;
}

/** Stage two on this replica: the watermark of each exchange partition it reads, from the forwarders' markers. */
export class ExchangeClock {
  private readonly exchangePartitions = new Map<number, { sources: Map<string, SourceEntry>; heard: Set<number> }>();

  constructor(private readonly o: { forwarders: number; idleTimeoutMs: number; now?: () => number }) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Records a marker read from exchange partition `partition`; returns that partition's watermark after it
   *  (undefined: not every forwarder has spoken yet). */
  marker(partition: number, marker: ExchangeMarker): number | 'idle' | undefined {
    let state = this.exchangePartitions.get(partition);
    if (!state) this.exchangePartitions.set(partition, state = { sources: new Map(), heard: new Set() });
    const now = this.now();
    state.heard.add(marker.from);
    for (const [source, report] of Object.entries(marker.sources)) {
      let entry = state.sources.get(source);
      if (!entry) state.sources.set(source, entry = { watermark: Number.NEGATIVE_INFINITY, idle: false, confirmed: -1, from: marker.from, at: now });
      entry.from = marker.from;
      entry.at = now;
      // Never back: a lower word comes from a new owner re-reading what the old one had covered already.
      if (report.w === 'idle') entry.idle = true;
      else {
        entry.idle = false;
        if (report.w !== null && report.w > entry.watermark) entry.watermark = report.w;
      }
      if (report.o !== undefined && report.o > entry.confirmed) entry.confirmed = report.o;
    }
    return this.watermarkOf(partition);
  }

  /**
   * Min over the source partitions heard of; one that is idle, or that nobody reported for the idle timeout, does
   * not count; all of them idle: the partition is idle. Held back (−∞) by a source partition without a watermark yet
   * and by a Kafka partition number below the highest one heard of that nobody reported yet (partitions are numbered
   * from 0, so it exists). Undefined until every forwarder has spoken once: before, whole partitions may be missing.
   */
  watermarkOf(partition: number): number | 'idle' | undefined {
    const state = this.exchangePartitions.get(partition);
    if (!state) return undefined;
    for (let from = 0; from < this.o.forwarders; from++) if (!state.heard.has(from)) return undefined;
    let highest = -1;
    for (const source of state.sources.keys()) if (/^\d+$/.test(source)) highest = Math.max(highest, Number(source));
    for (let p = 0; p <= highest; p++) if (!state.sources.has(String(p))) return Number.NEGATIVE_INFINITY;
    const now = this.now();
    let min: number | undefined;
    for (const entry of state.sources.values()) {
      if (entry.idle || now - entry.at > this.o.idleTimeoutMs) continue;
      if (min === undefined || entry.watermark < min) min = entry.watermark;
    }
    return min ?? 'idle';
  }

  /** True when a marker read earlier from `partition` said this copy's source record (`<partition>:<offset>`) was
   *  already confirmed: its first copy came before that marker, so this one is a duplicate. */
  delivered(partition: number, source: string | undefined): boolean {
    // Only Kafka positions are ordered and covered by markers (a RabbitMQ identity is `amqp:...`).
    if (source === undefined || !/^\d+:\d+$/.test(source)) return false;
    const colon = source.lastIndexOf(':');
    const offset = Number(source.slice(colon + 1));
    const entry = this.exchangePartitions.get(partition)?.sources.get(source.slice(0, colon));
    return colon > 0 && entry !== undefined && Number.isInteger(offset) && offset <= entry.confirmed;
  }

  partitions(): number[] {
    return [...this.exchangePartitions.keys()];
  }

  /** For /debug/state: per exchange partition, its watermark and every source partition's entry. */
  describe(): Record<string, unknown> {
    const now = this.now();
    const out: Record<string, unknown> = {};
    for (const [partition, state] of this.exchangePartitions) {
      const wm = this.watermarkOf(partition);
      out[partition] = {
        watermark: wm === undefined ? 'waiting for every forwarder' : Number.isFinite(wm) || wm === 'idle' ? wm : 'held back',
        sources: Object.fromEntries([...state.sources].map(([source, e]) => [source, {
          watermark: Number.isFinite(e.watermark) ? e.watermark : null,
          idle: e.idle,
          confirmedOffset: e.confirmed,
          from: e.from,
          silentMs: now - e.at,
        }])),
      };
    }
    return out;
  }
}

/** How many done source ids DoneSources keeps per exchange partition, and for how long (whichever ends first). A
 *  second copy comes from a source record forwarded again after its forwarder died: on RabbitMQ once the broker
 *  noticed the dead connection (at once for a killed process, the heartbeat timeout, 60 s, for a vanished host) and
 *  the next replica reached the message behind its own prefetch window; on Kafka once the consumer group moved the
 *  partition (the session timeout). Ten minutes cover both with room; 100,000 ids (about 20 MB of heap) cover a busy partition
 *  for that long at ~170 rows/s — beyond, the oldest ids go first and a copy older than them is counted again. */
export const DONE_SOURCES_PER_PARTITION = 100_000;
export const DONE_SOURCES_RETENTION_MS = 10 * 60_000;

/** A done id on disk (ROCKSDB): exchange partition, identity, when it was done (wall clock, epoch ms). */
interface DoneRecord { p: number; s: string; at: number }

function isDoneRecord(value: unknown): value is DoneRecord {
  const v = value as Partial<DoneRecord> | null;
  return typeof v === 'object' && v !== null && typeof v.p === 'number' && typeof v.s === 'string' && typeof v.at === 'number';
}

export interface DoneSourcesOptions {
  /** A store of the engine's state backend, created before the backend opens: with ROCKSDB its durable copy keeps the
   *  ids across a restart of this replica (MEMORY: the heap only, forgotten at a restart). */
  store?: KeyedState<string, number>;
  maxPerPartition?: number;
  retentionMs?: number;
  now?: () => number;
}

/**
 * Source identities whose rows stage two is done with (the engine acknowledged them: the window fired and its row was
 * confirmed, or the row was late or dead-lettered), per exchange partition — a source record's copies always go to
 * the same exchange partition (its key's). A later copy of one of them is a second copy whatever the engine's state
 * (a window re-opened after a restart would count it again). Bounded by DONE_SOURCES_PER_PARTITION and
 * DONE_SOURCES_RETENTION_MS (oldest first, checked as ids are added). With a durable store an id is written before
 * the copy is acknowledged (`add`'s `then`), so a copy the exchange will not deliver again is always on disk.
 */
export class DoneSources {
  /** Per exchange partition, identity → when it was done and its record id on disk (0: none); in done order. */
  private readonly partitions = new Map<number, Map<string, { at: number; record: number }>>();
  private readonly maxPerPartition: number;
  private readonly retentionMs: number;
  private ids = 0;
  evicted = 0;
  restored = 0;

  constructor(private readonly o: DoneSourcesOptions = {}) {
    this.maxPerPartition = o.maxPerPartition ?? DONE_SOURCES_PER_PARTITION;
    this.retentionMs = o.retentionMs ?? DONE_SOURCES_RETENTION_MS;
    const durable = o.store?.durable;
    durable?.onRestore((records) => {
      const now = this.now();
      for (const { id, value } of records) {
        if (!isDoneRecord(value) || now - value.at > this.retentionMs) {
          durable.delete(id);
          continue;
        }
        this.remember(value.p, value.s, value.at, id);
        this.restored++;
      }
      for (const partition of [...this.partitions.keys()]) this.evict(partition, now);
    });
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private remember(partition: number, source: string, at: number, record: number): void {
    let done = this.partitions.get(partition);
    if (!done) this.partitions.set(partition, done = new Map());
    const previous = done.get(source);
    if (previous) {
      done.delete(source);
      this.ids--;
      if (previous.record) this.o.store?.durable?.delete(previous.record);
    }
    done.set(source, { at, record });
    this.ids++;
  }

  has(partition: number, source: string): boolean {
    const entry = this.partitions.get(partition)?.get(source);
    return entry !== undefined && this.now() - entry.at <= this.retentionMs;
  }

  /** The rows of `source`'s copy in `partition` are done; `then` (the copy's acknowledgement) runs once that is
   *  durable — at once without a durable store. */
  add(partition: number, source: string, then: () => void): void {
    const now = this.now();
    const durable = this.o.store?.durable;
    const record = durable ? durable.nextId() : 0;
    this.remember(partition, source, now, record);
    this.evict(partition, now);
    if (durable) durable.put(record, { p: partition, s: source, at: now } satisfies DoneRecord, then);
    else then();
  }

  private evict(partition: number, now: number): void {
    const done = this.partitions.get(partition);
    if (!done) return;
    for (const [source, entry] of done) {
      if (done.size <= this.maxPerPartition && now - entry.at <= this.retentionMs) break;
      done.delete(source);
      this.ids--;
      this.evicted++;
      if (entry.record) this.o.store?.durable?.delete(entry.record);
    }
  }

  get size(): number {
    return this.ids;
  }

  /** For /debug/state. */
  describe(): Record<string, unknown> {
    return {
      ids: this.ids,
      perPartition: Object.fromEntries([...this.partitions].map(([p, done]) => [p, done.size])),
      evicted: this.evicted,
      restored: this.restored,
      maxPerPartition: this.maxPerPartition,
      retentionMs: this.retentionMs,
      durable: this.o.store?.durable !== undefined,
    };
  }
}

/** Copies of source records forwarded twice (`sr-exchange-source`): dropped when a marker already vouched for the
 *  first copy (ExchangeClock.delivered), while the first copy is still pending in the engine, or once its rows are
 *  done (DoneSources). */
export class PendingCopies {
  private readonly pending = new Set<string>();
  duplicates = 0;

  constructor(private readonly clock: ExchangeClock, readonly doneSources: DoneSources = new DoneSources()) {}

  /** False for a second copy of a source record (then the caller acknowledges and drops it). RabbitMQ's `redelivered`
   *  flag is no shortcut here: a copy the forwarder's binder published again after a lost confirm, and the copy of a
   *  source message redelivered to another replica, both arrive unflagged in the exchange queue; the set lookup is a
   *  hash lookup anyway. */
  admit(partition: number, source: string | undefined): boolean {
    if (source === undefined) return true;
    if (this.pending.has(source) || this.doneSources.has(partition, source) || this.clock.delivered(partition, source)) {
      this.duplicates++;
      return false;
    }
    this.pending.add(source);
    return true;
  }

  /** The engine is done with the copy's rows: `acknowledge` runs once that is recorded (durably under ROCKSDB). */
  done(partition: number, source: string | undefined, acknowledge: () => void = () => undefined): void {
    if (source === undefined) {
      acknowledge();
      return;
    }
    this.pending.delete(source);
    this.doneSources.add(partition, source, acknowledge);
  }

  get size(): number {
    return this.pending.size;
  }
}
