// Control-plane benchmarks on the local runtime (`sr up` as a child process, dev Kafka, the machine's RabbitMQ):
//  1. kubectl apply of a three-processor pipeline (s0 -> p1 -> s1 -> p2 -> s2 -> p3 -> s3) -> first message out of
//     s3 (target <= 3 s), once on Kafka and once on RabbitMQ, with where the time went. Raw: the same three
//     processors started directly with hand-written configurations (no API, no controllers), same data.
//  2. 500 Streams -> all Ready (target <= 30 s). Raw: the kubectl apply of those 500 objects alone.
//
// How "first message out" is observed, so the observer adds nothing of its own: Kafka, the offsets of s3 are
// polled every 25 ms (ListOffsets, no consumer group), and the records' CreateTime (set by the processor's
// producer) gives when each hop produced; RabbitMQ, a queue bound to s3 before the apply. Kafka's data waits in
// s0 before the apply; RabbitMQ keeps no data for absent queues, so a publisher sends to s0 every 20 ms from
// the apply on. The Streams' topics/exchanges are created beforehand (so no observer can auto-create them with
// other settings); the controllers still provision them (an idempotent call) as they always do.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { SR_ENTRY, startUp, type UpHandle } from '../test/support/controllers-up';
import { KafkaData, rabbitProbe, users, type OutMessage } from '../test/support/controllers-data';
import { rabbitUrl } from '../test/support/rabbitmq';
import { mockCommand } from '../controllers/provisioners/kafka-mock';
import type { BindingConfig, ProcessorConfig } from '../processor/config';

type Protocol = 'kafka' | 'rabbitmq';

/** What one processor's log says about its start, in ms after the run's start. */
interface ProcessorTimeline {
  spawned?: number;
  processStart?: number;
  loaded?: number;
  listening?: number;
  consumerConnected?: number;
  groupJoined?: number;
  groupWaitedMs?: number;
  started?: number;
  firstFetched?: number;
}

interface RunResult {
  /** When the observer saw the first message on s3. */
  observedMs: number;
  /** Kafka: CreateTime of the first record of s1, s2, s3 (each hop's first produce); RabbitMQ: probe arrival. */
  producedMs: (number | undefined)[];
  processors: ProcessorTimeline[];
  applyMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pipelineYaml(prefix: string, protocol: Protocol): string {
  const docs: string[] = [];
  for (let i = 0; i <= 3; i++) docs.push(`apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Stream\nmetadata: { name: ${prefix}-s${i} }\nspec: { name: ${prefix}-s${i}, protocol: ${protocol} }`);
  for (let i = 1; i <= 3; i++) docs.push(`apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Processor\nmetadata: { name: ${prefix}-p${i} }\nspec:\n  inputs: [{ name: ${prefix}-s${i - 1} }]\n  outputs: [{ name: ${prefix}-s${i} }]`);
  return docs.join('\n---\n');
}

/** Reads a processor's pino log (JSON lines with `time`) into its start-up timeline. */
function readTimeline(logFile: string, start: number): ProcessorTimeline {
  const t: ProcessorTimeline = {};
  if (!existsSync(logFile)) return t;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    let entry: { time?: number; msg?: string; processStart?: number; loadedMs?: number; waitedMs?: number };
    try { entry = JSON.parse(line) as typeof entry; } catch { continue; }
    const at = (entry.time ?? 0) - start;
    switch (entry.msg) {
      case 'processor process started':
        t.processStart ??= (entry.processStart ?? 0) - start;
        t.loaded ??= (entry.processStart ?? 0) + (entry.loadedMs ?? 0) - start;
        break;
      case 'debug port listening': t.listening ??= at; break;
      case 'kafka consumer connected; joining consumer group': t.consumerConnected ??= at; break;
      case 'joined consumer group': if (t.groupJoined === undefined) { t.groupJoined = at; t.groupWaitedMs = entry.waitedMs; } break;
      case 'processor started': t.started ??= at; break;
      case 'first messages fetched': t.firstFetched ??= at; break;
      default: break;
    }
  }
  return t;
}

/** Kafka: polls s3's offsets until a record is there (no consumer group: nothing of the observer's own). */
async function firstKafkaRecord(kafka: KafkaData, topic: string, start: number): Promise<number> {
  while (Date.now() - start < 120_000) {
    const offsets = await kafka.mark(topic);
    if ([...offsets.values()].some((high) => high > 0)) return Date.now() - start;
    await sleep(25);
  }
  throw new Error(`no message on ${topic} within 120 s`);
}

/** CreateTime of the earliest record of each topic, relative to start. */
async function produceTimes(kafka: KafkaData, topics: string[], start: number): Promise<(number | undefined)[]> {
  return Promise.all(topics.map(async (topic) => {
    const got = await kafka.collect(topic, new Map(), (ms) => ms.length > 0, 60_000).catch((): OutMessage[] => []);
    return got.length ? Math.min(...got.map((m) => m.timestamp)) - start : undefined;
  }));
}

async function createTopics(up: UpHandle, prefix: string): Promise<void> {
  for (let i = 0; i <= 3; i++) {
    const answer = await mockCommand(up.kafkaControl, `create ${prefix}-s${i} 1`);
    if (answer !== 'ok') throw new Error(answer);
  }
}

/** RabbitMQ: s0's publisher (every 20 ms from now on) and probes bound to s1..s3 before anything runs. */
async function rabbitHarness(prefix: string): Promise<{ probes: Awaited<ReturnType<typeof rabbitProbe>>[]; stopPublishing(): Promise<void>; cleanUp(): Promise<void> }> {
  const probes = await Promise.all([1, 2, 3].map((i) => rabbitProbe(`${prefix}-s${i}`)));
  const conn = await amqp.connect(rabbitUrl());
  const ch = await conn.createChannel();
  await ch.assertExchange(`${prefix}-s0`, 'topic', { durable: true });
  let seq = 0;
  const timer = setInterval(() => {
    const [u] = users(1, { run: `${prefix}-${seq++}` });
    ch.publish(`${prefix}-s0`, '', Buffer.from(JSON.stringify(u)), { contentType: 'application/json', headers: { contentType: 'application/json' } });
  }, 20);
  const stopPublishing = async (): Promise<void> => { clearInterval(timer); await sleep(50); };
  const cleanUp = async (): Promise<void> => {
    await stopPublishing();
    for (const p of probes) await p.close();
    // Durable things the pipeline declared on the shared RabbitMQ.
    const del = await conn.createChannel();
    del.on('error', () => undefined);
    for (let i = 1; i <= 3; i++) {
      await del.deleteQueue(`${prefix}-s${i - 1}.${prefix}-p${i}`).catch(() => undefined);
      await del.deleteExchange(`${prefix}-s${i - 1}.${prefix}-p${i}.dlq`).catch(() => undefined);
    }
    for (let i = 0; i <= 3; i++) await del.deleteExchange(`${prefix}-s${i}`).catch(() => undefined);
    await conn.close().catch(() => undefined);
  };
  return { probes, stopPublishing, cleanUp };
}

async function firstProbeMessage(probe: { messages: OutMessage[] }, start: number): Promise<number> {
  while (Date.now() - start < 120_000) {
    if (probe.messages.length) return probe.messages[0].timestamp - start;
    await sleep(5);
  }
  throw new Error('no message out within 120 s');
}

async function removePipeline(up: UpHandle, prefix: string): Promise<void> {
  await up.kubectl('delete', 'srp', ...[1, 2, 3].map((i) => `${prefix}-p${i}`), '--ignore-not-found', '--wait=true', '--timeout=60s').catch(() => undefined);
  await up.kubectl('delete', 'srs', ...[0, 1, 2, 3].map((i) => `${prefix}-s${i}`), '--ignore-not-found', '--wait=true', '--timeout=60s').catch(() => undefined);
}

/** The pipeline through the API and the controllers: kubectl apply at `start`. */
async function controlledRun(up: UpHandle, kafka: KafkaData, protocol: Protocol): Promise<RunResult> {
  const prefix = `b${protocol[0]}${randomBytes(3).toString('hex')}`;
  let observedMs: number;
  let producedMs: (number | undefined)[];
  let applyMs: number;
  const start = { at: 0 };
  const pidFile = (i: number): string => join(up.dir, 'run', 'processors', `default_${prefix}-p${i}`, '0-processor.pid');
  const spawnTimes: (number | undefined)[] = [];
  const watchSpawns = (): (() => void) => {
    // The pid file is written right after spawn(); its mtime is the spawn time.
    const timer = setInterval(() => {
      for (let i = 1; i <= 3; i++) if (spawnTimes[i - 1] === undefined && existsSync(pidFile(i))) spawnTimes[i - 1] = statSync(pidFile(i)).mtimeMs - start.at;
    }, 5);
    return () => clearInterval(timer);
  };
  if (protocol === 'kafka') {
    await createTopics(up, prefix);
    await kafka.produce(`${prefix}-s0`, users(10));
    start.at = Date.now();
    const stopWatch = watchSpawns();
    await up.apply(pipelineYaml(prefix, protocol));
    applyMs = Date.now() - start.at;
    observedMs = await firstKafkaRecord(kafka, `${prefix}-s3`, start.at);
    stopWatch();
    producedMs = await produceTimes(kafka, [1, 2, 3].map((i) => `${prefix}-s${i}`), start.at);
  } else {
    const harness = await rabbitHarness(prefix);
    try {
      start.at = Date.now();
      const stopWatch = watchSpawns();
      await up.apply(pipelineYaml(prefix, protocol));
      applyMs = Date.now() - start.at;
      observedMs = await firstProbeMessage(harness.probes[2], start.at);
      stopWatch();
      producedMs = harness.probes.map((p) => (p.messages.length ? p.messages[0].timestamp - start.at : undefined));
    } finally {
      await harness.stopPublishing();
      await removePipeline(up, prefix);
      await harness.cleanUp();
    }
  }
  await sleep(200);
  const processors = [1, 2, 3].map((i) => ({ ...readTimeline(join(up.dir, 'logs', `default_${prefix}-p${i}-0.log`), start.at), spawned: spawnTimes[i - 1] }));
  await removePipeline(up, prefix);
  return { observedMs, producedMs, processors, applyMs };
}

/** The same three processors started directly (the data plane alone): spawn at `start`. */
async function rawRun(up: UpHandle, kafka: KafkaData, protocol: Protocol): Promise<RunResult> {
  const prefix = `r${protocol[0]}${randomBytes(3).toString('hex')}`;
  const dir = join(up.dir, 'bench-raw', prefix);
  mkdirSync(dir, { recursive: true });
  const url = protocol === 'kafka' ? up.kafkaBootstrap : rabbitUrl();
  const binding = (n: number): BindingConfig => ({ stream: `${prefix}-s${n}`, protocol, destination: `${prefix}-s${n}`, server: { url }, contentType: 'application/json' });
  const children: ChildProcess[] = [];
  const spawnAll = (start: number): ProcessorTimeline[] => [1, 2, 3].map((i) => {
    const config: ProcessorConfig = { name: `${prefix}-p${i}`, namespace: 'default', group: `${prefix}-p${i}`, instanceIndex: 0, instanceCount: 1, inputs: [binding(i - 1)], outputs: [binding(i)], attributes: {}, http: { port: 0 } };
    const file = join(dir, `p${i}.json`);
    writeFileSync(file, JSON.stringify(config));
    const fd = openSync(join(dir, `p${i}.log`), 'a');
    // The environment the local runtime gives processors on the dev Kafka.
    children.push(spawn(process.execPath, [SR_ENTRY, 'processor', '--config', file], { stdio: ['ignore', 'ignore', fd], env: { ...process.env, SR_KAFKA_MOCK_BROKERS: up.kafkaBootstrap } }));
    closeSync(fd);
    return { spawned: Date.now() - start };
  });
  let observedMs: number;
  let producedMs: (number | undefined)[];
  let spawned: ProcessorTimeline[];
  let start: number;
  try {
    if (protocol === 'kafka') {
      await createTopics(up, prefix);
      await kafka.produce(`${prefix}-s0`, users(10));
      start = Date.now();
      spawned = spawnAll(start);
      observedMs = await firstKafkaRecord(kafka, `${prefix}-s3`, start);
      producedMs = await produceTimes(kafka, [1, 2, 3].map((i) => `${prefix}-s${i}`), start);
    } else {
      const harness = await rabbitHarness(prefix);
      try {
        start = Date.now();
        spawned = spawnAll(start);
        observedMs = await firstProbeMessage(harness.probes[2], start);
        producedMs = harness.probes.map((p) => (p.messages.length ? p.messages[0].timestamp - start : undefined));
      } finally {
        for (const c of children) c.kill('SIGTERM');
        await harness.cleanUp();
      }
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
  await sleep(200);
  const processors = [1, 2, 3].map((i) => ({ ...readTimeline(join(dir, `p${i}.log`), start), spawned: spawned[i - 1].spawned }));
  return { observedMs, producedMs, processors };
}

function report(label: string, protocol: Protocol, run: RunResult, raw: RunResult): void {
  const ms = (v: number | undefined): string => (v === undefined ? '-' : String(Math.round(v))).padStart(6);
  const row = (name: string, pick: (t: ProcessorTimeline) => number | undefined): string => `    ${name.padEnd(34)}${run.processors.map((t) => ms(pick(t))).join('')}`;
  console.log(`${label}: kubectl apply -> first message out ${run.observedMs} ms (target <= 3000 ms); raw processors started directly: ${raw.observedMs} ms; ratio ${(run.observedMs / raw.observedMs).toFixed(2)}x`);
  console.log(`  where the time went (ms after kubectl apply started; columns p1 p2 p3):`);
  console.log(`    ${'kubectl apply returned'.padEnd(34)}${ms(run.applyMs)}`);
  console.log(row('process spawned (control plane)', (t) => t.spawned));
  console.log(row('node process began', (t) => t.processStart));
  console.log(row('code loaded, configuration read', (t) => t.loaded));
  console.log(row('debug port listening', (t) => t.listening));
  if (protocol === 'kafka') {
    console.log(row('consumer connected, join sent', (t) => t.consumerConnected));
    console.log(row('consumer group joined', (t) => t.groupJoined));
    console.log(row('  of which the coordinator waited', (t) => t.groupWaitedMs));
  }
  console.log(row('processor started (binders up)', (t) => t.started));
  if (protocol === 'kafka') console.log(row('first messages fetched', (t) => t.firstFetched));
  console.log(`    ${(protocol === 'kafka' ? 'produced to s1 s2 s3 (CreateTime)' : 'arrived on s1 s2 s3 (probe)').padEnd(34)}${run.producedMs.map(ms).join('')}`);
  console.log(`    ${'first message seen on s3'.padEnd(34)}${ms(run.observedMs)}`);
  const rawJoin = raw.processors.map((t) => t.groupJoined).filter((v): v is number => v !== undefined);
  console.log(`  raw: spawned at 0, binders up ${raw.processors.map((t) => ms(t.started)).join('')}${rawJoin.length ? ` (group joined ${rawJoin.map(ms).join('')})` : ''}, produced ${raw.producedMs.map(ms).join('')}`);
}

async function main(): Promise<void> {
  const up = await startUp();
  const kafka = new KafkaData(up.kafkaBootstrap);
  try {
    // 1. apply -> first message out, Kafka then RabbitMQ (raw first: it warms nothing the controlled run uses).
    for (const protocol of ['kafka', 'rabbitmq'] as const) {
      const raw = await rawRun(up, kafka, protocol);
      const run = await controlledRun(up, kafka, protocol);
      report(`three-processor ${protocol === 'kafka' ? 'Kafka (dev cluster)' : 'RabbitMQ'} pipeline`, protocol, run, raw);
    }
    console.log('  Kafka: every consumer group is new, and the dev Kafka\'s coordinator (librdkafka 2.0.2 mock, rdkafka_mock_cgrp.c)');
    console.log('  answers the first JoinGroup of an empty group only after a fixed 3 s, as real brokers do with their default');
    console.log('  group.initial.rebalance.delay.ms=3000: with processes that cannot exist before the apply, 3 s is out of reach.');

    // 2. 500 Streams -> Ready.
    const n = 500;
    const docs = Array.from({ length: n }, (_, i) => `apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Stream\nmetadata: { name: many-${i} }\nspec: { name: many-${i}, protocol: kafka }`).join('\n---\n');
    const t0 = Date.now();
    await up.apply(docs);
    const applyMs = Date.now() - t0;
    let ready = 0;
    while (Date.now() - t0 < 120_000) {
      const list = await up.getJson<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>('streams');
      ready = list.items.filter((s) => s.metadata.name.startsWith('many-') && s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready >= n) break;
      await sleep(250);
    }
    const total = Date.now() - t0;
    console.log(`${n} Streams: all Ready ${total} ms after kubectl apply started (target <= 30000 ms); ready=${ready}/${n}`);
    console.log(`  raw: kubectl apply of the ${n} objects alone ${applyMs} ms; ratio ${(total / applyMs).toFixed(2)}x`);
  } finally {
    await kafka.close();
    await up.destroy();
  }
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
