// The original's four use cases as a new user runs them on `sr up`: the pipeline applied verbatim, fed only by its own
// data-generator manifest through `sr generate` (Avro in the Confluent wire format, schemas registered in sr up's
// development registry), and the streaming SQL results coming out within the time their windows need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SR_ENTRY, useSrUp } from '../support/controllers-up';
import { SAMPLES_DIR } from '../support/controllers-samples';
import { deleteEverything } from '../support/up-scenario';
import { sqlTime } from '../support/sql-oracle';

const sr = useSrUp();

/** The cards the anomaly-detection generator draws from: Java Faker's four `business.credit_card_numbers` and the
 *  burst stream's `options.option` list — alerts come only because cards repeat among these. */
const CARD_NUMBERS = ['1234-2121-1221-1211', '1212-1221-1121-1234', '1211-1221-1234-2201', '1228-1221-1221-1431', '3529-1841-8961-4637'];

interface UseCase {
  name: string;
  pipeline: string;
  generator: string;
  processors: string[];
  output: string;
  /** What every result row must satisfy. */
  check: (row: Record<string, unknown>) => void;
}


const CASES: UseCase[] = [
  {
    name: 'anomaly detection: possible-fraud rows (more than 5 authorizations of a card in 5 s)',
    pipeline: 'anomaly-detection__streaming-pipeline.yaml',
    generator: 'anomaly-detection__data-generator.yaml',
    processors: ['possible-fraud-detection'],
    output: 'possible-fraud',
    check: (row) => {
      assert.ok(Number(row.authorization_attempts) > 5, JSON.stringify(row));
      assert.ok(CARD_NUMBERS.includes(String(row.card_number)), JSON.stringify(row));
      assert.equal(sqlTime(row.window_end) - sqlTime(row.window_start), 5000);
    },
  },
  {
    name: 'iot monitoring: error counts per code and minute',
    pipeline: 'iot-monitoring__streaming-pipeline.yaml',
    generator: 'iot-monitoring__data-generator.yaml',
    processors: ['iot-monitoring-sql-aggregation'],
    output: 'error-count',
    check: (row) => {
      assert.ok(Number(row.error_count) >= 1, JSON.stringify(row));
      assert.equal(typeof row.error_code, 'string');
      assert.equal(sqlTime(row.window_end) - sqlTime(row.window_start), 60_000);
    },
  },
  {
    name: 'clickstream: actions of PLATINUM users',
    pipeline: 'clickstream__streaming-pipeline.yaml',
    generator: 'clickstream__data-generator.yaml',
    processors: ['vip-join-and-filter'],
    output: 'vip-action',
    check: (row) => {
      assert.equal(typeof row.user_id, 'string');
      assert.equal(typeof row.name, 'string');
      assert.ok(Number.isFinite(sqlTime(row.event_time)), JSON.stringify(row));
    },
  },
  {
    name: 'top-k songs (columns from the registry, avro-confluent): top 3 per genre and minute',
    pipeline: 'top-k-songs__streaming-pipeline-inline-avro-confluent-schema.yaml',
    generator: 'top-k-songs__data-generator.yaml',
    processors: ['topk-songs-join', 'topk-songs-aggregate'],
    output: 'topk-songs-per-genre',
    check: (row) => {
      assert.ok(Number(row.song_play_count) >= 1, JSON.stringify(row));
      assert.equal(typeof row.genre, 'string');
      assert.equal(sqlTime(row.window_end) - sqlTime(row.window_start), 60_000);
    },
  },
];

for (const c of CASES) {
  test(c.name, async () => {
    let generator: ChildProcess | undefined;
    let generatorOutput = '';
    try {
      await sr.up.apply(readFileSync(join(SAMPLES_DIR, c.pipeline), 'utf8'));
      const mark = await sr.kafka.mark(c.output);
      // As a user would: the generator runs beside the pipeline (a registry-backed table becomes Ready once the
      // generator registered its schema).
      generator = spawn(process.execPath, [SR_ENTRY, 'generate', '-f', join(SAMPLES_DIR, c.generator), '--dir', sr.up.dir, '--seed', '11', '--duration', '150s', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
      generator.stdout?.on('data', (d: Buffer) => { generatorOutput += d.toString(); });
      generator.stderr?.on('data', (d: Buffer) => { generatorOutput += d.toString(); });
      for (const p of c.processors) await sr.up.waitReady('srp', p, 90_000);
      const messages = await sr.kafka.collect(c.output, mark, (m) => m.length >= 1, 120_000);
      const rows = messages.map((m) => JSON.parse(m.value) as Record<string, unknown>);
      for (const row of rows) c.check(row);
    } catch (err) {
      const state = await sr.up.kubectl('get', 'srs,srp', '-o', 'wide').catch((e: unknown) => String(e));
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${state}\ngenerator: ${generatorOutput.slice(-2000)}`);
    } finally {
      generator?.kill('SIGINT');
      await deleteEverything(sr.up);
    }
  });
}
