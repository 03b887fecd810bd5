// Streaming SQL engine in process (no broker), against the hand-written operators measured in the same run.
//
// (a) The iot-monitoring sample query — `SELECT window_start, window_end, error_code, COUNT(*) FROM TABLE(TUMBLE(...,
//     INTERVAL '1' MINUTE)) WHERE type = 'ERROR' GROUP BY window_start, window_end, error_code` — over 1,000,000 JSON
//     events (JSON.parse of each payload included), with acks tracked and emits confirmed, vs the SRP's hand-written
//     tumbling-window operator (processor/window, folded at add) doing the same filter, event time, watermark and
//     count. Target: ≥ 0.7× the hand-written rate.
// (b) A regular INNER JOIN of 100,000 rows per side (JSON.parse included, every key once per side, 100,000 joined
//     rows emitted and confirmed). Target: ≥ 200,000 input rows/s.
//
// Both paths take the events in batches of 1000 with a turn of the event loop between batches, like a consumer
// receiving them (the engine's emits resolve and its acks run between batches). Best of BENCH_ROUNDS interleaved
// rounds (default 3): the machine may be shared.
import type { SqlTable, TableColumn } from '../crds/sql/table';
import type { Message } from '../processor/message';
import { jsonMessages } from './events';
import { SqlEngine, type EmittedRow } from '../processor/sql/engine';
import { EventTimeExtractor, resolveEventTime } from '../processor/time/event-time';
import { WatermarkTracker } from '../processor/time/watermark';
import { WindowOperator, type WindowAggregator } from '../processor/window/operator';
import { resolveWindowSettings } from '../processor/window/settings';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const JOIN_ROWS = Number(process.env.BENCH_JOIN_ROWS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 1000;
const BASE_TIME = 1_700_000_040_000;
const CODES = 50;

interface Monitoring {
  error_code: string;
  type: string;
  application: string;
  version: string;
  description: string;
  ts: number;
}

function generate(count: number): Message[] {
  return jsonMessages(count, 7, (i, random): Monitoring => ({
    error_code: `E${Math.floor(random() * CODES)}`,
    type: random() < 0.5 ? 'ERROR' : random() < 0.5 ? 'INFO' : 'WARN',
    application: 'sensor-gateway',
    version: '1.4.2',
    description: 'temperature above threshold',
    // 1 ms apart (1,000 s of event time, ~17 one-minute windows), up to 2 s of disorder (watermark delay 3 s).
    ts: BASE_TIME + i - Math.floor(random() * 2000),
  }));
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const monitoringTable: SqlTable = {
  name: 'MonitoringStream',
  stream: 'iot-monitoring-stream',
  columns: [
    ...['error_code', 'type', 'application', 'version', 'description'].map((name): TableColumn => ({ name, type: { name: 'STRING', nullable: false }, source: 'payload' })),
    { name: 'ts', type: { name: 'TIMESTAMP', nullable: false, params: [3] }, source: 'payload' },
  ],
  watermark: { column: 'ts', delayMs: 3000, text: "`ts` - INTERVAL '3' SECONDS" },
  valueFormat: 'json',
  upsert: false,
  startupMode: 'earliest-offset',
  options: {},
};

const errorCountTable: SqlTable = {
  name: 'ErrorCount',
  stream: 'error-count-stream',
  columns: [
    { name: 'window_start', type: { name: 'TIMESTAMP', nullable: false, params: [3] }, source: 'payload' },
    { name: 'window_end', type: { name: 'TIMESTAMP', nullable: false, params: [3] }, source: 'payload' },
    { name: 'error_code', type: { name: 'STRING', nullable: false }, source: 'payload' },
    { name: 'error_count', type: { name: 'BIGINT', nullable: false }, source: 'payload' },
  ],
  keyFields: ['error_code'],
  valueFormat: 'json',
  upsert: false,
  startupMode: 'earliest-offset',
  options: {},
};

const IOT_QUERY = `INSERT INTO [[STREAM:error-count-stream]]
  SELECT window_start, window_end, error_code, COUNT(*) AS error_count
  FROM TABLE(TUMBLE(TABLE [[STREAM:iot-monitoring-stream]], DESCRIPTOR(ts), INTERVAL '1' MINUTE))
  WHERE type='ERROR'
  GROUP BY window_start, window_end, error_code`;

interface Result {
  outputRows: number;
  countedEvents: number;
  acked: number;
}

/** The engine: parse → push (coercion, filter, window, count, acks) → final flush. */
async function sqlPath(messages: Message[]): Promise<Result> {
  let outputRows = 0;
  let countedEvents = 0;
  let acked = 0;
  const ack = (): void => {
    acked++;
  };
  const { engine, diagnostics } = SqlEngine.create({
    statements: [IOT_QUERY],
    tables: [monitoringTable, errorCountTable],
    emit: async (_sink, rows: EmittedRow[]) => {
      outputRows += rows.length;
      for (const r of rows) countedEvents += r.values.error_count as number;
    },
  });
  if (!engine) throw new Error(JSON.stringify(diagnostics));
  for (let i = 0; i < messages.length; i++) {
    if (i % BATCH === 0) await turn();
    const values = JSON.parse(messages[i].payload.toString()) as Record<string, unknown>;
    engine.push('iot-monitoring-stream', 0, { values, timestamp: 0 }, ack);
  }
  // Close every window: a row far ahead (filtered out).
  engine.push('iot-monitoring-stream', 0, { values: { error_code: 'X', type: 'INFO', application: '', version: '', description: '', ts: BASE_TIME + 10 * EVENTS + 3_600_000 }, timestamp: 0 }, ack);
  await turn();
  await turn();
  if (engine.pending() !== 0) throw new Error(`${engine.pending()} rows not acknowledged`);
  return { outputRows, countedEvents, acked };
}

interface Totals {
  count: number;
}

const countAggregator: WindowAggregator<number, Totals> = { create: () => ({ count: 0 }), add: (t) => { t.count++; return t; } };

/** The hand-written path: parse → filter → event time → watermark → per-key tumbling window folded at add → release (tokens = acks). */
async function handWritten(messages: Message[]): Promise<Result> {
  const attributes = { 'srp.window': '60s', 'srp.window.maxState': '2000000' };
  const extractor = new EventTimeExtractor(resolveEventTime(attributes, { field: 'ts', watermark: "`ts` - INTERVAL '3' SECOND" }));
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: extractor.settings.maxOutOfOrdernessMs });
  const partition = tracker.partition('iot', 0);
  const settings = resolveWindowSettings(attributes);
  if (!settings) throw new Error('window settings missing');
  const windows = new WindowOperator<number, Totals>(settings, { aggregator: countAggregator });
  const result: Result = { outputRows: 0, countedEvents: 0, acked: 0 };
  const now = Date.now();
  let watermark = Number.NEGATIVE_INFINITY;
  const release = (wm: number): void => {
    for (const window of windows.advance(wm)) {
      result.outputRows++;
      result.countedEvents += window.aggregate!.count;
      result.acked += window.tokens.length;
    }
  };
  for (let i = 0; i < messages.length; i++) {
    if (i % BATCH === 0) await turn();
    const message = messages[i];
    const value = JSON.parse(message.payload.toString()) as Monitoring;
    const timestamp = extractor.extract(message, value);
    const wm = partition.observe(timestamp, undefined, now);
    if (value.type === 'ERROR') windows.add({ timestamp, key: value.error_code, payload: message.payload, headers: message.headers, token: i, value }, now);
    else result.acked++;
    if (wm !== watermark) {
      watermark = wm;
      release(wm);
    }
  }
  release(Number.POSITIVE_INFINITY);
  return result;
}

function joinTables(): SqlTable[] {
  const t = (name: string, extra: string): SqlTable => ({
    name,
    stream: name.toLowerCase(),
    columns: [{ name: 'id', type: { name: 'BIGINT', nullable: false }, source: 'payload' }, { name: extra, type: { name: 'STRING', nullable: true }, source: 'payload' }],
    valueFormat: 'json',
    upsert: false,
    startupMode: 'earliest-offset',
    options: {},
  });
  const out = t('Joined', 'a');
  out.columns.push({ name: 'b', type: { name: 'STRING', nullable: true }, source: 'payload' });
  return [t('A', 'a'), t('B', 'b'), out];
}

async function joinPath(left: Buffer[], right: Buffer[]): Promise<Result> {
  let outputRows = 0;
  let acked = 0;
  const ack = (): void => {
    acked++;
  };
  const { engine, diagnostics } = SqlEngine.create({
    statements: ['INSERT INTO Joined SELECT A.id, A.a, B.b FROM A JOIN B ON A.id = B.id'],
    tables: joinTables(),
    emit: async (_sink, rows) => {
      outputRows += rows.length;
    },
  });
  if (!engine) throw new Error(JSON.stringify(diagnostics));
  for (let i = 0; i < left.length; i++) {
    if (i % (BATCH / 2) === 0) await turn();
    engine.push('a', 0, { values: JSON.parse(left[i].toString()) as Record<string, unknown>, timestamp: 0 }, ack);
    engine.push('b', 0, { values: JSON.parse(right[i].toString()) as Record<string, unknown>, timestamp: 0 }, ack);
  }
  await turn();
  await turn();
  if (engine.pending() !== 0) throw new Error(`${engine.pending()} join rows not acknowledged`);
  return { outputRows, countedEvents: 0, acked };
}

async function measure<T>(run: () => Promise<T>): Promise<{ seconds: number; cpuSeconds: number; value: T }> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, value };
}

async function main(): Promise<void> {
  const messages = generate(EVENTS);
  const ids = Array.from({ length: JOIN_ROWS }, (_, i) => i);
  // The right side in another order, so matches come from both sides.
  const shuffled = ids.slice().sort((a, b) => ((a * 2654435761) >>> 0) - ((b * 2654435761) >>> 0));
  const left = ids.map((id) => Buffer.from(JSON.stringify({ id, a: `left-${id}` })));
  const right = shuffled.map((id) => Buffer.from(JSON.stringify({ id, b: `right-${id}` })));
  // Warm up.
  const warm = messages.slice(0, 100_000);
  await sqlPath(warm);
  await handWritten(warm);
  await joinPath(left.slice(0, 20_000), right.slice(0, 20_000));
  let sql = await measure(() => sqlPath(messages));
  let hand = await measure(() => handWritten(messages));
  let join = await measure(() => joinPath(left, right));
  for (let round = 1; round < ROUNDS; round++) {
    const handAgain = await measure(() => handWritten(messages));
    if (handAgain.seconds < hand.seconds) hand = handAgain;
    const sqlAgain = await measure(() => sqlPath(messages));
    if (sqlAgain.seconds < sql.seconds) sql = sqlAgain;
    const joinAgain = await measure(() => joinPath(left, right));
    if (joinAgain.seconds < join.seconds) join = joinAgain;
  }
  if (sql.value.countedEvents !== hand.value.countedEvents || sql.value.outputRows !== hand.value.outputRows) {
    throw new Error(`the SQL engine and the hand-written operator disagree: ${JSON.stringify({ sql: sql.value, hand: hand.value })}`);
  }
  if (sql.value.acked !== EVENTS + 1) throw new Error(`acks: ${sql.value.acked} of ${EVENTS + 1}`);
  if (join.value.outputRows !== JOIN_ROWS || join.value.acked !== 2 * JOIN_ROWS) throw new Error(`join: ${JSON.stringify(join.value)}`);
  const sqlRate = EVENTS / sql.seconds;
  const handRate = EVENTS / hand.seconds;
  const joinRate = (2 * JOIN_ROWS) / join.seconds;
  console.log(
    JSON.stringify(
      {
        benchmark: 'sql',
        rounds: ROUNDS,
        iotMonitoring: {
          events: EVENTS,
          windows: '1 minute tumbling, 50 error codes, ~50 % ERROR',
          target: 'SQL >= 0.7x hand-written',
          handWritten: { description: 'JSON.parse → filter → event time → watermark → WindowOperator (folded at add) → release', seconds: +hand.seconds.toFixed(3), eventsPerSecond: Math.round(handRate), eventsPerCpuSecond: Math.round(EVENTS / hand.cpuSeconds) },
          sql: { description: 'JSON.parse → SqlEngine.push (coerce, filter, TUMBLE, COUNT, acks) → emit confirmed → acks', seconds: +sql.seconds.toFixed(3), eventsPerSecond: Math.round(sqlRate), eventsPerCpuSecond: Math.round(EVENTS / sql.cpuSeconds) },
          ratio: +(sqlRate / handRate).toFixed(3),
          ratioByCpuTime: +((EVENTS / sql.cpuSeconds) / (EVENTS / hand.cpuSeconds)).toFixed(3),
          targetMet: sqlRate / handRate >= 0.7,
          outputRows: sql.value.outputRows,
          countedEvents: sql.value.countedEvents,
        },
        join: {
          rowsPerSide: JOIN_ROWS,
          target: '>= 200000 input rows/s',
          seconds: +join.seconds.toFixed(3),
          inputRowsPerSecond: Math.round(joinRate),
          inputRowsPerCpuSecond: Math.round((2 * JOIN_ROWS) / join.cpuSeconds),
          outputRows: join.value.outputRows,
          targetMet: joinRate >= 200_000,
        },
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
