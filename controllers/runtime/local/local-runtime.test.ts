import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { tempDir } from '../../../test/support/tmp';
import { waitFor } from '../../../test/support/ports';
import { sampleWorkloads } from '../../../test/support/controllers-samples';
import { LocalRuntime } from './local-runtime';
import { isAlive } from './supervisor';
import type { ProcessorWorkload } from '../types';

const FIXTURES = resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures');
const dir = tempDir('sr-local-runtime-');
after(() => dir.remove());

function lines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function tutorial6(): ProcessorWorkload {
  const w = structuredClone(sampleWorkloads({ credentialsInConfig: true, httpPort: 0 }).find((s) => s.file.startsWith('tutorials__6.1') && s.processor.metadata.name === 'team-scores-processor')!.workload);
  // The UDF image becomes a local command (what the e2e fixtures do).
  w.containers = [{ name: w.containers[0].name, command: [process.execPath, join(FIXTURES, 'fake-udf.js')], env: [{ name: 'GREETING', value: 'hi' }] }];
  return w;
}

test('one process per replica plus its UDF, ports never collide, scale and remove stop everything', async () => {
  const runtime = new LocalRuntime({ dir: dir.path, log: pino({ level: 'silent' }), srEntry: join(FIXTURES, 'fake-sr.js') });
  const w = tutorial6();
  const changes: string[] = [];
  runtime.onStatusChange((k) => changes.push(k));
  await runtime.apply(w);
  const logs = join(dir.path, 'logs');
  const base = 'default_team-scores-processor';
  await waitFor('3 processors and 3 UDFs logged', () => [0, 1, 2].every((i) => lines(join(logs, `${base}-${i}.log`)).length === 1 && lines(join(logs, `${base}-${i}-${w.containers[0].name}.log`)).length === 1), 15_000);
  const ports = new Set<string>();
  for (const i of [0, 1, 2]) {
    const proc = lines(join(logs, `${base}-${i}.log`))[0] as { instanceIndex: number; instanceCount: number; udf: { address: string } };
    const udf = lines(join(logs, `${base}-${i}-${w.containers[0].name}.log`))[0] as { PORT: string; GRPC_PORT: string; SR_UDF_PORT: string; INSTANCE: string; GREETING: string };
    assert.equal(proc.instanceIndex, i);
    assert.equal(proc.instanceCount, 3);
    assert.equal(proc.udf.address, `127.0.0.1:${udf.PORT}`, 'the processor calls its own UDF');
    assert.equal(udf.GRPC_PORT, udf.PORT);
    assert.equal(udf.SR_UDF_PORT, udf.PORT);
    assert.equal(udf.INSTANCE, String(i));
    assert.equal(udf.GREETING, 'hi', 'container env is passed');
    ports.add(udf.PORT);
  }
  assert.equal(ports.size, 3, 'distinct UDF ports');
  await waitFor('all ready', () => runtime.status(w.key).readyReplicas === 3, 10_000);
  assert.ok(changes.includes(w.key), 'status changes are reported');

  const before = runtime.processIds(w.key);
  assert.equal(before.length, 6);
  // Re-applying the same workload keeps every process.
  await runtime.apply(w);
  assert.deepEqual(runtime.processIds(w.key), before);

  // Scale to 1: the configuration of the remaining replica changes (instanceCount), the others stop.
  await runtime.apply({ ...w, replicas: 1, configs: w.configs.slice(0, 1).map((c) => ({ ...c, instanceCount: 1 })) });
  for (const p of before.filter((x) => !x.id.includes('/0/'))) assert.equal(isAlive(p.pid), false, `${p.id} stopped`);
  assert.equal(runtime.status(w.key).replicas, 1);

  const remaining = runtime.processIds(w.key);
  await runtime.remove(w.key);
  for (const p of remaining) assert.equal(isAlive(p.pid), false);
  assert.deepEqual(await runtime.workloads(), []);
  await runtime.close({ stopWorkloads: true });
});

test('a runtime restarted on the same directory adopts running processes (no duplicates)', async () => {
  const log = pino({ level: 'silent' });
  const first = new LocalRuntime({ dir: dir.path, log, srEntry: join(FIXTURES, 'fake-sr.js') });
  const w = tutorial6();
  await first.apply(w);
  await waitFor('ready', () => first.status(w.key).readyReplicas === 3, 15_000);
  const pids = first.processIds(w.key).map((p) => p.pid).sort();
  await first.close({ stopWorkloads: false });

  const second = new LocalRuntime({ dir: dir.path, log, srEntry: join(FIXTURES, 'fake-sr.js') });
  assert.deepEqual(await second.workloads(), [w.key], 'found from the state directory');
  await second.apply(w);
  assert.deepEqual(second.processIds(w.key).map((p) => p.pid).sort(), pids, 'adopted, not restarted');
  await second.close({ stopWorkloads: true });
  for (const pid of pids) assert.equal(isAlive(pid), false, 'stopWorkloads stops adopted processes too');
});

test('image-only containers are reported as unsupported locally', async () => {
  const runtime = new LocalRuntime({ dir: dir.path, log: pino({ level: 'silent' }), srEntry: join(FIXTURES, 'fake-sr.js') });
  const samples = sampleWorkloads({ credentialsInConfig: true, httpPort: 0 });
  const image = samples.find((s) => s.file.startsWith('tutorials__6-'))!.workload;
  const status = await runtime.apply(image);
  assert.equal(status.unsupported?.reason, 'ContainerCommandRequired');
  assert.match(status.unsupported?.message ?? '', /scores-by-user-javascript/);
  await runtime.close({ stopWorkloads: true });
});
