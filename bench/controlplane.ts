// Control-plane benchmarks on the local runtime (`sr up` as a child process, dev Kafka):
//  1. kubectl apply of a three-processor pipeline -> first message out (target <= 3 s). Raw: the same three
//     processors started directly with hand-written configurations (no API, no controllers), same data.
//  2. 500 Streams -> all Ready (target <= 30 s). Raw: the kubectl apply of those 500 objects alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SR_ENTRY, startUp, type UpHandle } from '../test/support/controllers-up';
import { KafkaData, users } from '../test/support/controllers-data';
import type { ProcessorConfig } from '../processor/config';

function pipelineYaml(prefix: string): string {
  const docs: string[] = [];
  for (let i = 0; i <= 3; i++) docs.push(`apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Stream\nmetadata: { name: ${prefix}-s${i} }\nspec: { name: ${prefix}-s${i}, protocol: kafka }`);
  for (let i = 1; i <= 3; i++) docs.push(`apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Processor\nmetadata: { name: ${prefix}-p${i} }\nspec:\n  inputs: [{ name: ${prefix}-s${i - 1} }]\n  outputs: [{ name: ${prefix}-s${i} }]`);
  return docs.join('\n---\n');
}

async function firstMessage(kafka: KafkaData, topic: string, start: number): Promise<number> {
  await kafka.collect(topic, new Map(), (ms) => ms.length > 0, 120_000);
  return Date.now() - start;
}

async function rawPipeline(up: UpHandle, kafka: KafkaData): Promise<number> {
  const prefix = `raw${randomBytes(3).toString('hex')}`;
  const dir = join(up.dir, 'bench-raw');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i <= 3; i++) await fetchCreate(up, `${prefix}-s${i}`);
  await kafka.produce(`${prefix}-s0`, users(10));
  const start = Date.now();
  const children: ChildProcess[] = [];
  for (let i = 1; i <= 3; i++) {
    const binding = (n: number): ProcessorConfig['inputs'][number] => ({ stream: `${prefix}-s${n}`, protocol: 'kafka', destination: `${prefix}-s${n}`, server: { url: up.kafkaBootstrap } });
    const config: ProcessorConfig = { name: `${prefix}-p${i}`, namespace: 'default', group: `${prefix}-p${i}`, instanceIndex: 0, instanceCount: 1, inputs: [binding(i - 1)], outputs: [binding(i)], attributes: {}, http: { port: 0 } };
    const file = join(dir, `p${i}.json`);
    writeFileSync(file, JSON.stringify(config));
    children.push(spawn(process.execPath, [SR_ENTRY, 'processor', '--config', file, '--log-level', 'warn'], { stdio: 'ignore' }));
  }
  try { return await firstMessage(kafka, `${prefix}-s3`, start); } finally { for (const c of children) c.kill('SIGTERM'); }
}

/** Topics on the dev Kafka through its control port (what the controllers' dev provisioner does). */
async function fetchCreate(up: UpHandle, topic: string): Promise<void> {
  const { mockCommand } = await import('../controllers/provisioners/kafka-mock');
  const answer = await mockCommand(up.kafkaControl, `create ${topic} 1`);
  if (answer !== 'ok') throw new Error(answer);
}

async function main(): Promise<void> {
  const up = await startUp();
  const kafka = new KafkaData(up.kafkaBootstrap);
  try {
    // 1. apply -> first message out (data waiting in the first topic before the apply).
    const raw = await rawPipeline(up, kafka);
    const prefix = `b${randomBytes(3).toString('hex')}`;
    await fetchCreate(up, `${prefix}-s0`);
    await kafka.produce(`${prefix}-s0`, users(10));
    const start = Date.now();
    await up.apply(pipelineYaml(prefix));
    const applied = Date.now() - start;
    // The control plane's share: until the three processor processes exist (the rest is the data plane starting).
    let spawned = 0;
    const spawnWatch = (async () => {
      while (Date.now() - start < 60_000) {
        if ([1, 2, 3].every((i) => up.processorPids('default', `${prefix}-p${i}`).length > 0)) { spawned = Date.now() - start; return; }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const latency = await firstMessage(kafka, `${prefix}-s3`, start);
    await spawnWatch;
    console.log(`three-processor pipeline: kubectl apply -> first message out ${latency} ms (apply itself ${applied} ms; target <= 3000 ms)`);
    console.log(`  all three processor processes started ${spawned} ms after apply started (the control plane's share)`);
    console.log(`  raw processors started directly: ${raw} ms; ratio ${(latency / raw).toFixed(2)}x`);

    // 2. 500 Streams -> Ready.
    const n = 500;
    const docs = Array.from({ length: n }, (_, i) => `apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Stream\nmetadata: { name: many-${i} }\nspec: { name: many-${i}, protocol: kafka }`).join('\n---\n');
    const t0 = Date.now();
    await up.apply(docs);
    const applyMs = Date.now() - t0;
    let ready = 0;
    while (Date.now() - t0 < 120_000) {
      const list = await up.getJson<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>('streams');
      ready = list.items.filter((s) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready >= n + 4) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const total = Date.now() - t0;
    console.log(`${n} Streams: all Ready ${total} ms after kubectl apply started (target <= 30000 ms); ready=${ready - 4}/${n}`);
    console.log(`  raw: kubectl apply of the ${n} objects alone ${applyMs} ms; ratio ${(total / applyMs).toFixed(2)}x`);
  } finally {
    await kafka.close();
    await up.destroy();
  }
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
