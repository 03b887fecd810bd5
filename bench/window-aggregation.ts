// Tumbling-window aggregation in process (no broker): 1,000,000 JSON events over 10,000 keys through
// parse → event-time extraction → watermark → per-key tumbling window → release → count/sum per window and key.
// Compared with the raw component measured in the same run: a JSON.parse + Map-count loop over the same bytes.
// Target (issue 3): ≥ 250,000 events/s (the in-memory paths).
//
// `--state rocksdb` adds the buffered path with the window state in RocksDB (srp.window.state: ROCKSDB) in a
// temporary directory: events are written to disk at add and read back at release, as the processor does (writes
// batched per event-loop turn, reads ahead of emission). Messages are taken in batches of 1000 with a turn of the
// event loop between batches, like a consumer receiving them; the time includes reading every released window.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Message } from '../processor/message';
import { jsonMessages } from './events';
import { ReadAhead, RocksDbStateStore } from '../processor/state';
import { EventTimeExtractor, resolveEventTime } from '../processor/time/event-time';
import { WatermarkTracker } from '../processor/time/watermark';
import { readReleaseEvents, WindowOperator, type WindowAggregator } from '../processor/window/operator';
import { resolveWindowSettings } from '../processor/window/settings';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const KEYS = 10_000;
const BASE_TIME = 1_700_000_000_000;
/** Events span 100 s of event time with up to 500 ms of disorder; windows of 5 s. */
const SPAN_MS = 100_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Score {
  user: string;
  team: string;
  score: number;
  score_time: number;
}

function generate(count: number): Message[] {
  return jsonMessages(count, 42, (i, random): Score => ({
    user: `user-${Math.floor(random() * KEYS)}`,
    team: ['red', 'blue', 'green'][i % 3],
    score: Math.floor(random() * 100),
    score_time: BASE_TIME + Math.floor((i / count) * SPAN_MS) - Math.floor(random() * 500),
  }));
}

/** The raw component: parse every payload and count per key in a Map. */
function rawLoop(messages: Message[]): number {
  const counts = new Map<string, number>();
  for (let i = 0; i < messages.length; i++) {
    const event = JSON.parse(messages[i].payload.toString()) as Score;
    counts.set(event.user, (counts.get(event.user) ?? 0) + 1);
  }
  return counts.size;
}

interface PipelineResult {
  windows: number;
  aggregated: number;
  tokens: number;
  refused: number;
  late: number;
  checksum: number;
}

interface Totals {
  count: number;
  sum: number;
}

/** Folds each event into its window's totals at add time (no event retention). */
const totalsAggregator: WindowAggregator<number, Totals> = {
  create: () => ({ count: 0, sum: 0 }),
  add: (totals, event) => {
    totals.count++;
    totals.sum += (event.value as Score).score;
    return totals;
  },
};

/** The stages every measured path shares: event time from `score_time`, one partition's watermark, 5 s windows. */
function windowStages(): { extractor: EventTimeExtractor; partition: ReturnType<WatermarkTracker['partition']>; settings: NonNullable<ReturnType<typeof resolveWindowSettings>> } {
  const attributes = { 'srp.window': '5s', 'srp.window.maxState': '400000' };
  const extractor = new EventTimeExtractor(resolveEventTime(attributes, { field: 'score_time', watermark: "`score_time` - INTERVAL '1' SECOND" }));
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: extractor.settings.maxOutOfOrdernessMs });
  const settings = resolveWindowSettings(attributes);
  if (!settings) throw new Error('window settings missing');
  return { extractor, partition: tracker.partition('scores', 0), settings };
}

/**
 * Our path: the same building blocks the processor runtime composes. `buffered` keeps each window's events (what a
 * UDF aggregator receives) and aggregates at release; `incremental` folds events into the window at add.
 */
function pipeline(messages: Message[], mode: 'buffered' | 'incremental'): PipelineResult {
  const { extractor, partition, settings } = windowStages();
  const windows = new WindowOperator<number, Totals>(settings, mode === 'incremental' ? { aggregator: totalsAggregator } : {});
  const result: PipelineResult = { windows: 0, aggregated: 0, tokens: 0, refused: 0, late: 0, checksum: 0 };
  // The aggregate of each (window, key): count and score sum. Emitting it is the output stage, not measured here.
  let checksum = 0;
  const now = Date.now();
  let watermark = Number.NEGATIVE_INFINITY;
  const release = (wm: number): void => {
    for (const window of windows.advance(wm)) {
      result.windows++;
      let sum = 0;
      if (window.aggregate) sum = window.aggregate.sum;
      else for (const event of window.events) sum += (event.value as Score).score;
      checksum = (checksum + sum + window.count) | 0;
      result.aggregated += window.count;
      result.tokens += window.tokens.length;
    }
  };
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const value = JSON.parse(message.payload.toString()) as Score;
    const timestamp = extractor.extract(message, value);
    const wm = partition.observe(timestamp, undefined, now);
    const added = windows.add({ timestamp, key: value.user, payload: message.payload, headers: message.headers, token: i, value }, now);
    if (added.action === 'REFUSED') result.refused++;
    else if (added.action !== 'ADDED' && added.action !== 'UPDATED') result.late++;
    if (wm !== watermark) {
      watermark = wm;
      release(wm);
    }
  }
  release(Number.POSITIVE_INFINITY);
  result.checksum = checksum;
  return result;
}

/** The buffered path with the events in RocksDB: the same steps, plus the disk. */
async function pipelineRocksDb(messages: Message[]): Promise<PipelineResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sr-bench-rocksdb-'));
  const store = new RocksDbStateStore({ dir });
  await store.open();
  try {
    const { extractor, partition, settings } = windowStages();
    const windows = new WindowOperator<number>(settings, { store });
    const result: PipelineResult = { windows: 0, aggregated: 0, tokens: 0, refused: 0, late: 0, checksum: 0 };
    const readAhead = new ReadAhead(20_000);
    const reads: Promise<void>[] = [];
    let checksum = 0;
    const now = Date.now();
    let watermark = Number.NEGATIVE_INFINITY;
    const release = (wm: number): void => {
      for (const window of windows.advance(wm)) {
        result.windows++;
        result.tokens += window.tokens.length;
        const count = window.stored?.length ?? 0;
        reads.push(readAhead.schedule(count, () => readReleaseEvents(window)).then((events) => {
          let sum = 0;
          for (const event of events) sum += (JSON.parse(event.payload.toString()) as Score).score;
          checksum = (checksum + sum + window.count) | 0;
          result.aggregated += window.count;
          readAhead.done(count);
        }));
      }
    };
    for (let i = 0; i < messages.length; i++) {
      if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
      const message = messages[i];
      const value = JSON.parse(message.payload.toString()) as Score;
      const timestamp = extractor.extract(message, value);
      const wm = partition.observe(timestamp, undefined, now);
      const added = windows.add({ timestamp, key: value.user, payload: message.payload, headers: message.headers, token: i }, now);
      if (added.action === 'REFUSED') result.refused++;
      else if (added.action !== 'ADDED' && added.action !== 'UPDATED') result.late++;
      if (wm !== watermark) {
        watermark = wm;
        release(wm);
      }
    }
    release(Number.POSITIVE_INFINITY);
    await Promise.all(reads);
    if (store.status().storedEvents !== 0) throw new Error(`RocksDB still holds ${store.status().storedEvents} events`);
    result.checksum = checksum;
    return result;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureAsync<T>(run: () => Promise<T>): Promise<{ seconds: number; cpuSeconds: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, value };
}

/** Wall time, and CPU time of this process (meaningful when the machine is shared and wall time is inflated). */
function measure<T>(run: () => T): { seconds: number; cpuSeconds: number; value: T } {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, value };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { state: { type: 'string', default: 'memory' } } });
  const state = values.state.toLowerCase();
  if (state !== 'memory' && state !== 'rocksdb') throw new Error(`--state must be memory or rocksdb (got ${values.state})`);
  const messages = generate(EVENTS);
  // Warm up every path so the JIT has compiled them before measuring.
  const warm = messages.slice(0, 100_000);
  rawLoop(warm);
  pipeline(warm, 'buffered');
  pipeline(warm, 'incremental');
  if (state === 'rocksdb') await pipelineRocksDb(warm);
  // Interleaved rounds, best of each: the machine may be shared, so a single round is noisy.
  let raw = measure(() => rawLoop(messages));
  let buffered = measure(() => pipeline(messages, 'buffered'));
  let incremental = measure(() => pipeline(messages, 'incremental'));
  for (let round = 1; round < ROUNDS; round++) {
    const rawAgain = measure(() => rawLoop(messages));
    if (rawAgain.seconds < raw.seconds) raw = rawAgain;
    const bufferedAgain = measure(() => pipeline(messages, 'buffered'));
    if (bufferedAgain.seconds < buffered.seconds) buffered = bufferedAgain;
    const incrementalAgain = measure(() => pipeline(messages, 'incremental'));
    if (incrementalAgain.seconds < incremental.seconds) incremental = incrementalAgain;
  }
  // Rounds of the disk path after the in-memory ones, so they do not disturb each other's caches.
  let rocks: { seconds: number; cpuSeconds: number; value: PipelineResult } | undefined;
  if (state === 'rocksdb') {
    for (let round = 0; round < ROUNDS; round++) {
      const again = await measureAsync(() => pipelineRocksDb(messages));
      if (!rocks || again.seconds < rocks.seconds) rocks = again;
    }
  }
  for (const run of [buffered, incremental, ...(rocks ? [rocks] : [])]) {
    if (run.value.tokens + run.value.late + run.value.refused !== EVENTS) throw new Error(`lost events: ${JSON.stringify(run.value)}`);
  }
  if (buffered.value.checksum !== incremental.value.checksum) throw new Error('buffered and incremental aggregates differ');
  if (rocks && rocks.value.checksum !== buffered.value.checksum) throw new Error('RocksDB and in-memory aggregates differ');
  const rawRate = EVENTS / raw.seconds;
  const report = (run: { seconds: number; cpuSeconds: number; value: PipelineResult }, description: string, target = true): Record<string, unknown> => {
    const rate = EVENTS / run.seconds;
    return {
      description,
      seconds: +run.seconds.toFixed(3),
      eventsPerSecond: Math.round(rate),
      eventsPerCpuSecond: Math.round(EVENTS / run.cpuSeconds),
      ratioVsRaw: +(rate / rawRate).toFixed(3),
      ...(target ? { targetMet: rate >= 250_000 } : {}),
      ...run.value,
    };
  };
  console.log(
    JSON.stringify(
      {
        benchmark: 'window-aggregation',
        events: EVENTS,
        keys: KEYS,
        rounds: ROUNDS,
        target: '>= 250000 events/s',
        raw: {
          description: 'JSON.parse + Map count',
          seconds: +raw.seconds.toFixed(3),
          eventsPerSecond: Math.round(rawRate),
          eventsPerCpuSecond: Math.round(EVENTS / raw.cpuSeconds),
        },
        incremental: report(incremental, 'parse → event time → watermark → tumbling 5s per key, folded at add → release'),
        buffered: report(buffered, 'parse → event time → watermark → tumbling 5s per key, events kept (UDF path) → release → count/sum'),
        ...(rocks
          ? { rocksdb: report(rocks, 'as buffered, events kept in RocksDB (srp.window.state: ROCKSDB): written at add, read back at release', false) }
          : {}),
      },
      null,
      2,
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
