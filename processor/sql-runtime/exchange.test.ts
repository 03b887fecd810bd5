// The exchange's event time and duplicate rules (exchange.ts): markers carry a watermark per *source partition*, the
// receiving side takes the minimum over every source partition it has heard of, whoever reported it. The scenarios
// drive real forwarders and the real engine over in-memory ordered logs (a Kafka partition's contract: appended in
// confirmation order, read in order, offsets committed up to the lowest unacknowledged record), with a hand-moved
// clock, so each rebalance happens exactly where the test puts it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { BinderStatus, InboundDelivery, OutputBinder } from '../binders/types';
import type { Message } from '../message';
import { SqlEngine } from '../sql/engine';
import { Recorder, settle, table } from '../sql/test-support';
import type { AmqpDelivery } from '../binders/rabbitmq';
import { memoryState, type StateBackend } from '../sql/state';
import { RocksDbSqlState } from '../sql/state-rocksdb';
import { tempDir } from '../../test/support/tmp';
import { DoneSources, EXCHANGE_HEADERS, ExchangeClock, ExchangeForwarder, markerHeaders, parseMarker, PendingCopies, sourceIdentity, type SourceReport } from './exchange';
import { decodeRow } from './row-codec';

const T0 = 1_700_000_000_000; // a multiple of 10 s: windows [T0 + 10k s, T0 + 10(k+1) s)
const IDLE_MS = 30_000;
const DELAY_MS = 1000;
const EVENTS = table('Ev', ['k STRING', 'n BIGINT', 'ts TIMESTAMP'], { watermark: ['ts', DELAY_MS] });
const COUNTS = table('Counts', ['ws TIMESTAMP', 'we TIMESTAMP', 'k STRING', 'c BIGINT']);
const STATEMENT = `INSERT INTO Counts SELECT window_start, window_end, k, COUNT(*)
  FROM TABLE(TUMBLE(TABLE Ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k`;
const log = pino({ level: 'silent' });

class WallClock {
  t = 1_000_000;
  readonly now = (): number => this.t;
}

/** One source topic: per partition an ordered log of events, and the consumer group's committed offsets. */
class SourceTopic {
  readonly logs: { k: string; n: number; ts: number }[][];
  readonly committed: number[];
  /** Per partition, the offsets acknowledged and not yet committed. */
  private readonly acked: Set<number>[];

  constructor(partitions: number, eventsPerPartition: number) {
    // One event a second per partition, keys rotating, so every window has rows of every partition.
    this.logs = Array.from({ length: partitions }, (_, p) => Array.from({ length: eventsPerPartition }, (_, i) => ({ k: `k${(i + p) % 3}`, n: p * 1000 + i, ts: T0 + i * 1000 + p * 10 })));
    this.committed = this.logs.map(() => 0);
    this.acked = this.logs.map(() => new Set());
  }

  ack(partition: number, offset: number): void {
    this.acked[partition].add(offset);
  }

  /** The consumer's periodic commit: up to the lowest offset not acknowledged. */
  commit(partition: number): void {
    while (this.acked[partition].delete(this.committed[partition])) this.committed[partition]++;
  }
}

/** The exchange destination: ordered logs, a copy appended when the broker confirms it (optionally held back). */
class ExchangeLog implements OutputBinder {
  readonly logs: Message[][];
  private held: (() => void)[] = [];
  hold = false;

  constructor(partitions: number) {
    this.logs = Array.from({ length: partitions }, () => []);
  }

  async start(): Promise<void> {}
  send(message: Message, partition?: number): Promise<void> {
    return new Promise((resolve) => {
      const append = (): void => { this.logs[partition ?? 0].push(message); resolve(); };
      if (this.hold) this.held.push(append);
      else append();
    });
  }

  /** The broker confirms every held copy. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const append of held) append();
  }

  async stop(): Promise<void> {}
  status(): BinderStatus { return { stream: 'ev.exchange', protocol: 'kafka', destination: 'ev.exchange', server: 'memory', state: 'connected', inFlight: this.held.length }; }
}

/** Stage one of a replica: its forwarder reading its share of the source topic from the committed offsets. */
class Replica {
  readonly forwarder: ExchangeForwarder;
  private readonly next = new Map<number, number>();

  constructor(readonly index: number, private readonly topic: SourceTopic, exchange: ExchangeLog, clock: WallClock) {
    this.forwarder = new ExchangeForwarder({ table: EVENTS, keyColumns: ['k'], partitions: exchange.logs.length, instanceIndex: index, out: exchange, idleTimeoutMs: IDLE_MS, orderedPartitions: true, log, now: clock.now });
  }

  /** The consumer group's answer: fetching starts at the committed offset of every partition newly given. */
  assign(partitions: number[]): void {
    for (const p of [...this.next.keys()]) if (!partitions.includes(p)) this.next.delete(p);
    for (const p of partitions) if (!this.next.has(p)) this.next.set(p, this.topic.committed[p]);
    this.forwarder.assignment(partitions);
  }

  /** Forwards the records of its partitions with event time up to `ts`. */
  forwardUntil(ts: number): void {
    for (const [p, from] of this.next) {
      let offset = from;
      for (; offset < this.topic.logs[p].length && this.topic.logs[p][offset].ts <= ts; offset++) {
        const record = offset;
        const message: Message = { payload: Buffer.from(JSON.stringify(this.topic.logs[p][record])), headers: {} };
        const delivery: InboundDelivery = { message, partition: p, timestamp: T0, offset: String(record), ack: () => this.topic.ack(p, record) };
        this.forwarder.forward(delivery, message, delivery.offset, delivery.ack, (err) => { throw err; });
      }
      this.next.set(p, offset);
    }
  }

  commit(): void {
    for (const p of this.next.keys()) this.topic.commit(p);
  }
}

/** Stage two, as runtime.ts runs it: the exchange partitions read in order, markers into the ExchangeClock, rows into
 *  the real engine unless they are second copies. */
class Reader {
  readonly clock: ExchangeClock;
  readonly copies: PendingCopies;
  readonly engine: SqlEngine;
  readonly position: number[];

  constructor(private readonly exchange: ExchangeLog, readonly recorder: Recorder, clock: WallClock, forwarders: number) {
    this.clock = new ExchangeClock({ forwarders, idleTimeoutMs: IDLE_MS, now: clock.now });
    this.copies = new PendingCopies(this.clock);
    const created = SqlEngine.create({ statements: [STATEMENT], tables: [EVENTS, COUNTS], emit: recorder.emit, idleTimeoutMs: IDLE_MS, now: clock.now });
    assert.deepEqual(created.diagnostics, []);
    this.engine = created.engine!;
    this.engine.useExternalWatermarks('ev');
    for (let q = 0; q < exchange.logs.length; q++) this.engine.markPartition('ev', q);
    this.position = exchange.logs.map(() => 0);
  }

  async read(): Promise<void> {
    for (let q = 0; q < this.exchange.logs.length; q++) {
      for (; this.position[q] < this.exchange.logs[q].length; this.position[q]++) {
        const message = this.exchange.logs[q][this.position[q]];
        if (message.headers[EXCHANGE_HEADERS.watermark] !== undefined) {
          const wm = this.clock.marker(q, parseMarker(message.headers));
          if (wm !== undefined) this.engine.externalWatermark('ev', q, wm);
          continue;
        }
        const source = message.headers[EXCHANGE_HEADERS.source];
        if (!this.copies.admit(q, source)) continue;
        const row = decodeRow(EVENTS, message, T0, 0);
        this.engine.push('ev', q, row, () => this.copies.done(q, source));
      }
    }
    await settle();
  }

  watermark(): number {
    return (this.engine.describe() as { statements: { watermark: number }[] }).statements[0].watermark;
  }

  late(): number {
    return (this.engine.describe() as { statements: { lateRowsDropped: number }[] }).statements[0].lateRowsDropped;
  }
}

/** COUNT(*) per 10 s window and key over every record of the topic, each once. */
function expectedCounts(topic: SourceTopic, untilTs: number): string[] {
  const counts = new Map<string, number>();
  for (const log of topic.logs) {
    for (const e of log) {
      if (e.ts > untilTs) continue;
      const ws = e.ts - ((e.ts - T0) % 10_000);
      const key = JSON.stringify([ws, ws + 10_000, e.k]);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts].map(([key, c]) => JSON.stringify([...(JSON.parse(key) as unknown[]), c])).sort();
}

function emittedCounts(...recorders: Recorder[]): string[] {
  return recorders.flatMap((r) => r.values('counts')).map((v) => JSON.stringify([v.ws, v.we, v.k, v.c])).sort();
}

const tick = (clock: WallClock, ms: number, ...replicas: Replica[]): void => {
  clock.t += ms;
  for (const r of replicas) r.forwarder.tick();
};

test('markers: a report per source partition, read back as written; a marker of another shape is refused with the reason', () => {
  const sources: Record<string, SourceReport> = { 0: { w: T0, o: 41 }, 3: { w: 'idle', o: 7 }, 5: { w: null } };
  assert.deepEqual(parseMarker(markerHeaders({ from: 2, sources })), { from: 2, sources });
  // The per-forwarder markers of the version before: a bare watermark.
  assert.throws(() => parseMarker({ [EXCHANGE_HEADERS.watermark]: '1700000000000', [EXCHANGE_HEADERS.from]: '1' }), /not an object of source partitions \(a replica of an older version\?\)/);
  assert.throws(() => parseMarker({ [EXCHANGE_HEADERS.watermark]: 'idle', [EXCHANGE_HEADERS.from]: '1' }), /not an object of source partitions/);
  assert.throws(() => parseMarker({ [EXCHANGE_HEADERS.watermark]: '{"0":{"w":"soon"}}', [EXCHANGE_HEADERS.from]: '1' }), /source partition 0: \{"w":"soon"\} is not \{ w: <epoch ms> \| "idle" \| null, o\?: <offset> \}/);
  assert.throws(() => parseMarker({ [EXCHANGE_HEADERS.watermark]: '{}', [EXCHANGE_HEADERS.from]: 'x' }), /sr-exchange-from "x" is not a replica index/);
});

test('the receiving clock: min over source partitions heard of, whoever reports them; never back; a gap or a silent forwarder holds back; nobody reporting a partition for the idle timeout stops it counting', () => {
  const wall = new WallClock();
  const clock = new ExchangeClock({ forwarders: 2, idleTimeoutMs: IDLE_MS, now: wall.now });
  assert.equal(clock.marker(0, { from: 0, sources: { 0: { w: T0 + 9000 }, 1: { w: T0 + 8000 } } }), undefined, 'replica 1 has not spoken: whole partitions may be missing');
  assert.equal(clock.marker(0, { from: 1, sources: { 3: { w: T0 + 5000 } } }), Number.NEGATIVE_INFINITY, 'partition 2 exists (3 does) and nobody reported it');
  assert.equal(clock.marker(0, { from: 1, sources: { 2: { w: T0 + 7000 }, 3: { w: T0 + 5000 } } }), T0 + 5000);
  // Partition 3 moves to replica 0, which re-reads it from the committed offset: its lower word changes nothing.
  assert.equal(clock.marker(0, { from: 0, sources: { 0: { w: T0 + 9000 }, 1: { w: T0 + 9000 }, 3: { w: T0 + 1000 } } }), T0 + 5000);
  assert.equal(clock.marker(0, { from: 0, sources: { 0: { w: T0 + 9000 }, 1: { w: T0 + 9000 }, 3: { w: null } } }), T0 + 5000, 'a new owner without a watermark yet keeps it where it was');
  assert.equal(clock.marker(0, { from: 0, sources: { 0: { w: T0 + 9000 }, 1: { w: T0 + 9000 }, 3: { w: T0 + 6000 } } }), T0 + 6000);
  // Replica 1 (partition 2) goes silent: partition 2 holds the others back until nobody reported it for the timeout.
  wall.t += IDLE_MS - 1;
  assert.equal(clock.marker(0, { from: 0, sources: { 0: { w: T0 + 9500 }, 1: { w: T0 + 9500 }, 3: { w: T0 + 9500 } } }), T0 + 7000);
  wall.t += 2;
  assert.equal(clock.watermarkOf(0), T0 + 9500);
  assert.equal(clock.marker(0, { from: 0, sources: { 0: { w: 'idle' }, 1: { w: 'idle' }, 3: { w: 'idle' } } }), 'idle', 'every partition idle or silent');
  assert.equal(clock.watermarkOf(1), undefined, 'exchange partitions are separate: nothing was read from partition 1');
});

test('duplicates: a copy whose offset a marker already reported confirmed is a second copy; one still pending in the engine too', () => {
  const clock = new ExchangeClock({ forwarders: 1, idleTimeoutMs: IDLE_MS });
  const copies = new PendingCopies(clock);
  assert.equal(copies.admit(0, '3:10'), true);
  assert.equal(copies.admit(0, '3:10'), false, 'the first copy is pending');
  copies.done(0, '3:10');
  clock.marker(0, { from: 0, sources: { 3: { w: T0, o: 10 } } });
  assert.equal(copies.admit(0, '3:10'), false, 'reported confirmed before this copy: the first copy came before the marker');
  assert.equal(copies.admit(0, '3:11'), true);
  assert.equal(copies.admit(1, '3:9'), true, 'another exchange partition has its own markers');
  assert.equal(copies.admit(0, undefined), true, 'no source position (RabbitMQ): never a duplicate');
  assert.equal(copies.duplicates, 2);
});

test('the forwarder reports each partition it reads: held below copies in flight, confirmed offsets, null before the first row, idle after the timeout; nothing before the group answered; a partition moved away is no longer reported', async () => {
  const wall = new WallClock();
  const exchange = new ExchangeLog(2);
  const topic = new SourceTopic(4, 20);
  const replica = new Replica(0, topic, exchange, wall);
  assert.equal(replica.forwarder.reports(), undefined, 'no assignment yet: nothing to say (not "idle")');
  replica.assign([0, 1]);
  assert.deepEqual(replica.forwarder.reports(), { 0: { w: null }, 1: { w: null } });
  exchange.hold = true;
  replica.forwardUntil(T0 + 5000);
  // Copies in flight: partition 0's oldest unconfirmed row has ts T0, so its watermark stays below it.
  assert.deepEqual(replica.forwarder.reports(), { 0: { w: T0 - 1 }, 1: { w: T0 + 9 } });
  exchange.hold = false;
  exchange.release();
  await settle();
  assert.deepEqual(replica.forwarder.reports(), { 0: { w: T0 + 5000 - DELAY_MS, o: 5 }, 1: { w: T0 + 4010 - DELAY_MS, o: 4 } });
  replica.assign([1]);
  assert.deepEqual(Object.keys(replica.forwarder.reports() ?? {}), ['1'], 'partition 0 moved away');
  wall.t += IDLE_MS;
  assert.deepEqual(replica.forwarder.reports(), { 1: { w: 'idle', o: 4 } }, 'no row for the idle timeout');
});

test('RabbitMQ sources: a replica\'s share is one source of its own (a queue has no order to carry over), idle while it has nothing', async () => {
  const wall = new WallClock();
  const forwarder = new ExchangeForwarder({ table: EVENTS, keyColumns: ['k'], partitions: 2, instanceIndex: 1, out: new ExchangeLog(2), idleTimeoutMs: IDLE_MS, orderedPartitions: false, log, now: wall.now });
  assert.deepEqual(forwarder.reports(), { 'replica-1': { w: 'idle' } });
  const message: Message = { payload: Buffer.from(JSON.stringify({ k: 'a', n: 1, ts: T0 + 3000 })), headers: {} };
  forwarder.forward({ message, partition: 0, ack: () => undefined }, message, undefined, () => undefined, () => undefined);
  await settle();
  assert.deepEqual(forwarder.reports(), { 'replica-1': { w: T0 + 3000 - DELAY_MS } });
});

test('kill -9 of replica B mid-window, B comes back, its partition 3 moves to A: A\'s markers release no row of partition 3 before it is forwarded; nothing lost, nothing counted twice', async () => {
  const wall = new WallClock();
  const topic = new SourceTopic(4, 60);
  const exchange = new ExchangeLog(3);
  const recorder = new Recorder();
  // The stage two of a replica that survives (it reads every exchange partition here: they all see the same markers).
  const reader = new Reader(exchange, recorder, wall, 2);
  const a = new Replica(0, topic, exchange, wall);
  let b = new Replica(1, topic, exchange, wall);
  a.assign([0, 1]);
  b.assign([2, 3]);

  // Both forward up to 15 s; B's copies of 12 s..15 s are confirmed but their offsets not committed when it dies.
  a.forwardUntil(T0 + 15_000);
  b.forwardUntil(T0 + 12_000);
  await settle();
  a.commit();
  b.commit();
  b.forwardUntil(T0 + 15_000);
  await settle();
  tick(wall, 200, a, b);
  await reader.read();
  assert.equal(reader.watermark(), T0 + 14_010 - DELAY_MS, 'min over the four source partitions (partition 1 is slowest)');
  assert.deepEqual([topic.committed[2], topic.committed[3]], [12, 12]);

  // kill -9 of B. A goes on with partitions 0 and 1 up to 40 s.
  a.forwardUntil(T0 + 40_000);
  await settle();
  a.commit();
  tick(wall, 200, a);
  // B comes back at once: a fresh forwarder, before the consumer group gave it anything (the per-forwarder markers
  // said "idle" here, which let A's 39 s through and made every row of partitions 2 and 3 after 15 s late).
  b = new Replica(1, topic, exchange, wall);
  tick(wall, 200, a, b);
  await reader.read();
  assert.equal(reader.watermark(), T0 + 14_020 - DELAY_MS, 'partitions 2 and 3 hold the watermark where B left them');

  // The rebalance: partition 3 moves to A, B keeps 2. A says 3 has no watermark yet: still held.
  a.assign([0, 1, 3]);
  b.assign([2]);
  tick(wall, 200, a, b);
  await reader.read();
  assert.equal(reader.watermark(), T0 + 14_020 - DELAY_MS, 'A\'s marker must not release rows of partition 3 that B had not forwarded');

  // Both forward from the committed offsets (B's copies of 12 s..15 s a second time), and A's copies of partition 3
  // stay unconfirmed while its next marker goes out.
  exchange.hold = true;
  a.forwardUntil(T0 + 30_000);
  b.forwardUntil(T0 + 30_000);
  tick(wall, 200, a, b);
  exchange.hold = false;
  exchange.release();
  await settle();
  await reader.read();
  assert.equal(reader.watermark(), T0 + 14_020 - DELAY_MS, 'copies in flight hold their partitions back');
  tick(wall, 200, a, b);
  await reader.read();
  assert.equal(reader.watermark(), T0 + 29_020 - DELAY_MS);

  a.forwardUntil(T0 + 59_000);
  b.forwardUntil(T0 + 59_000);
  await settle();
  tick(wall, 200, a, b);
  await reader.read();
  assert.equal(reader.watermark(), T0 + 58_010 - DELAY_MS);
  assert.equal(reader.late(), 0, 'no row was late');
  assert.equal(reader.copies.duplicates, 6, 'B\'s uncommitted copies (3 per partition) were recognised');
  // Windows up to 50 s fired: each once, with every row.
  assert.deepEqual(emittedCounts(recorder), expectedCounts(topic, T0 + 49_999));
});

/** A RabbitMQ source message as the input binder hands it on: the messageId (when the publisher set one) beside it. */
function amqpDelivery(event: { k: string; n: number; ts: number }, messageId: string | undefined): AmqpDelivery {
  const message: Message = { payload: Buffer.from(JSON.stringify(event)), headers: {} };
  return { message, partition: 0, redelivered: messageId !== undefined, ...(messageId !== undefined ? { messageId } : {}), ack: () => undefined };
}

/** Stage two over RabbitMQ exchange queues, as runtime.ts runs it: a queue redelivers whatever was not acknowledged
 *  (`acked` outlives a restart, as the broker's queues do); a copy is acknowledged once DoneSources recorded it. */
class QueueReader {
  readonly clock: ExchangeClock;
  readonly copies: PendingCopies;
  readonly engine: SqlEngine;
  readonly recorder = new Recorder();

  constructor(private readonly exchange: ExchangeLog, private readonly acked: Set<Message>, wall: WallClock, doneSources: DoneSources) {
    this.clock = new ExchangeClock({ forwarders: 1, idleTimeoutMs: IDLE_MS, now: wall.now });
    this.copies = new PendingCopies(this.clock, doneSources);
    const created = SqlEngine.create({ statements: [STATEMENT], tables: [EVENTS, COUNTS], emit: this.recorder.emit, idleTimeoutMs: IDLE_MS, now: wall.now });
    assert.deepEqual(created.diagnostics, []);
    this.engine = created.engine!;
    this.engine.useExternalWatermarks('ev');
    for (let q = 0; q < exchange.logs.length; q++) this.engine.markPartition('ev', q);
  }

  private readonly delivered = new Set<Message>();

  async read(): Promise<void> {
    for (let q = 0; q < this.exchange.logs.length; q++) {
      for (const message of this.exchange.logs[q]) {
        if (this.acked.has(message) || this.delivered.has(message)) continue;
        this.delivered.add(message);
        if (message.headers[EXCHANGE_HEADERS.watermark] !== undefined) {
          const wm = this.clock.marker(q, parseMarker(message.headers));
          if (wm !== undefined) this.engine.externalWatermark('ev', q, wm);
          this.acked.add(message);
          continue;
        }
        const source = message.headers[EXCHANGE_HEADERS.source];
        if (!this.copies.admit(q, source)) {
          this.acked.add(message);
          continue;
        }
        this.engine.push('ev', q, decodeRow(EVENTS, message, T0, 0), () => this.copies.done(q, source, () => this.acked.add(message)));
      }
    }
    await settle();
  }
}

/** Waits for RocksDB's batched writes (a done id is acknowledged once on disk). */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

/**
 * A RabbitMQ source through the exchange, stage two restarted between the two copies of m1: m1 and m2 (key a) fill
 * window [0 s, 10 s), m3 (key b, 12 s) fires it — (a, 2) — and waits in [10 s, 20 s). Stage two restarts (a new engine;
 * the done ids in RocksDB survive); m1 comes again (RabbitMQ redelivering it to another forwarder), then m4 (25 s)
 * fires [10 s, 20 s). Returns what the restarted stage two wrote and how many copies it dropped.
 */
async function secondCopyAfterRestart(messageIds: boolean): Promise<{ rows: string[]; duplicates: number; doneIds: number }> {
  const dir = tempDir('exchange-done-');
  const stores: RocksDbSqlState[] = [];
  const openDoneSources = async (): Promise<DoneSources> => {
    const backend = new RocksDbSqlState({ dir: dir.path });
    stores.push(backend);
    const done = new DoneSources({ store: backend.create<string, number>('exchange.done.ev'), now: wall.now });
    await backend.open();
    return done;
  };
  const wall = new WallClock();
  try {
    const exchange = new ExchangeLog(2);
    const acked = new Set<Message>();
    const forwarder = new ExchangeForwarder({ table: EVENTS, keyColumns: ['k'], partitions: 2, instanceIndex: 0, out: exchange, idleTimeoutMs: IDLE_MS, orderedPartitions: false, log, now: wall.now });
    const id = (n: number): string | undefined => (messageIds ? `sr-test-${n}` : undefined);
    const send = (event: { k: string; n: number; ts: number }): void => {
      const delivery = amqpDelivery(event, id(event.n));
      forwarder.forward(delivery, delivery.message, delivery.offset, () => undefined, (err) => { throw err; });
    };
    const m1 = { k: 'a', n: 1, ts: T0 + 1000 };
    const first = new QueueReader(exchange, acked, wall, await openDoneSources());
    send(m1);
    send({ k: 'a', n: 2, ts: T0 + 2000 });
    send({ k: 'b', n: 3, ts: T0 + 12_000 });
    await settle();
    wall.t += 200;
    forwarder.tick();
    await first.read();
    assert.deepEqual(emittedCounts(first.recorder), [JSON.stringify([T0, T0 + 10_000, 'a', 2])]);
    // m1's and m2's copies acknowledged (their ids on disk first); m3's waits in the open window.
    await until('m1 and m2 acknowledged', () => exchange.logs.flat().filter((m) => m.headers[EXCHANGE_HEADERS.watermark] === undefined && acked.has(m)).length === 2);
    await stores[0].close();

    const second = new QueueReader(exchange, acked, wall, await openDoneSources());
    send(m1);
    send({ k: 'b', n: 4, ts: T0 + 25_000 });
    await settle();
    await second.read();
    wall.t += 200;
    forwarder.tick();
    await second.read();
    return { rows: emittedCounts(second.recorder), duplicates: second.copies.duplicates, doneIds: second.copies.doneSources.size };
  } finally {
    for (const store of stores) await store.close().catch(() => undefined);
    dir.remove();
  }
}

test('RabbitMQ sources: a second copy of a message (same messageId) after its first copy\'s window fired is dropped by the done ids, across a restart of stage two (ROCKSDB)', async () => {
  const { rows, duplicates, doneIds } = await secondCopyAfterRestart(true);
  assert.deepEqual(rows, [JSON.stringify([T0 + 10_000, T0 + 20_000, 'b', 1])], 'no second, partial row for [0 s, 10 s)');
  assert.equal(duplicates, 1);
  assert.equal(doneIds, 3, 'm1 and m2 restored from disk, m3 done since');
});

test('RabbitMQ sources without messageId (a foreign publisher): no identity, so the second copy is used as before — the fired window re-opens with it', async () => {
  const { rows, duplicates } = await secondCopyAfterRestart(false);
  assert.deepEqual(rows, [JSON.stringify([T0, T0 + 10_000, 'a', 1]), JSON.stringify([T0 + 10_000, T0 + 20_000, 'b', 1])].sort());
  assert.equal(duplicates, 0);
});

test('source identity: Kafka partition:offset; RabbitMQ messageId and body digest; none without a messageId', () => {
  const body = (n: number): Message => ({ payload: Buffer.from(`{"n":${n}}`), headers: {} });
  const kafka: InboundDelivery = { message: body(1), partition: 3, offset: '17', ack: () => undefined };
  assert.equal(sourceIdentity(kafka), '3:17');
  const amqp = (messageId: string | undefined, n: number): AmqpDelivery => ({ message: body(n), partition: 0, redelivered: false, ...(messageId ? { messageId } : {}), ack: () => undefined });
  assert.match(sourceIdentity(amqp('m-1', 1)) ?? '', /^amqp:m-1\/[0-9a-f]{12}$/);
  const redelivered: AmqpDelivery = { ...amqp('m-1', 1), redelivered: true };
  assert.equal(sourceIdentity(amqp('m-1', 1)), sourceIdentity(redelivered), 'a redelivery is the same message');
  assert.notEqual(sourceIdentity(amqp('m-1', 1)), sourceIdentity(amqp('m-1', 2)), 'a publisher reusing an id for another body');
  assert.equal(sourceIdentity(amqp(undefined, 1)), undefined);
  const clock = new ExchangeClock({ forwarders: 1, idleTimeoutMs: IDLE_MS });
  clock.marker(0, { from: 0, sources: { 0: { w: T0, o: 99 } } });
  assert.equal(clock.delivered(0, sourceIdentity(amqp('0:5', 1))), false, 'a RabbitMQ identity is never read as a Kafka position');
});

test('done ids: bounded per exchange partition by count and by age, oldest first; a durable store keeps them across a restart and drops the expired ones', async () => {
  const wall = new WallClock();
  const memory = new DoneSources({ store: memoryState.create<string, number>('x'), maxPerPartition: 3, retentionMs: 1000, now: wall.now });
  for (const s of ['a', 'b', 'c', 'd']) memory.add(0, s, () => undefined);
  memory.add(1, 'a', () => undefined);
  assert.deepEqual(['a', 'b', 'c', 'd'].map((s) => memory.has(0, s)), [false, true, true, true], 'count: the oldest goes first');
  assert.equal(memory.has(1, 'a'), true, 'partitions are separate');
  wall.t += 600;
  memory.add(0, 'e', () => undefined);
  wall.t += 500;
  memory.add(0, 'f', () => undefined);
  assert.deepEqual(['b', 'c', 'd', 'e', 'f'].map((s) => memory.has(0, s)), [false, false, false, true, true], 'age: older than 1 s');
  assert.equal(memory.evicted, 4);
  assert.equal((memory.describe() as { durable: boolean }).durable, false);

  const dir = tempDir('exchange-done-bounds-');
  try {
    const open = async (): Promise<{ backend: StateBackend; done: DoneSources }> => {
      const backend = new RocksDbSqlState({ dir: dir.path });
      const done = new DoneSources({ store: backend.create<string, number>('exchange.done.ev'), maxPerPartition: 3, retentionMs: 1000, now: wall.now });
      await backend.open?.();
      return { backend, done };
    };
    const first = await open();
    let acknowledged = 0;
    first.done.add(0, 'old', () => acknowledged++);
    wall.t += 600;
    for (const s of ['x', 'y', 'z']) first.done.add(2, s, () => acknowledged++);
    await until('acknowledged once on disk', () => acknowledged === 4);
    await first.backend.close?.();
    wall.t += 500;
    const second = await open();
    assert.deepEqual(['old', 'x', 'y', 'z'].map((s) => second.done.has(s === 'old' ? 0 : 2, s)), [false, true, true, true]);
    assert.equal(second.done.restored, 3, 'the expired id is not restored');
    await second.backend.close?.();
  } finally {
    dir.remove();
  }
});
