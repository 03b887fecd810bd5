import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { tempDir } from '../../../test/support/tmp';
import { freePort, waitFor } from '../../../test/support/ports';
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

test('a replica that is not ready says why (its /readyz lines), and credentials reach it in its environment, not its configuration', async () => {
  // The real processor (dist/cli/sr.js), its RabbitMQ on a port where nothing listens.
  const runtime = new LocalRuntime({ dir: dir.path, log: pino({ level: 'silent' }) });
  const nothing = await freePort();
  const server = { url: `amqp://127.0.0.1:${nothing}` };
  const w: ProcessorWorkload = {
    key: 'default/unreachable', namespace: 'default', name: 'unreachable', type: 'SRP', replicas: 1, stateful: false, containers: [],
    configs: [{
      name: 'unreachable', namespace: 'default', group: 'unreachable', instanceIndex: 0, instanceCount: 1, attributes: {}, http: { port: 0 },
      inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: 'h6-unreachable-in', server }],
      outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: 'h6-unreachable-out', server }],
    }],
    credentials: { SR_BINDING_IN_USERNAME: 'alice', SR_BINDING_IN_PASSWORD: 's3cret-in-env' },
  };
  try {
    await runtime.apply(w);
    // Generous: on a loaded machine node takes many seconds to load the processor.
    await waitFor('the reason in the status', () => /replica 0 not ready: .*(input in|output out): \w+ \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/.test(runtime.status(w.key).message ?? ''), 120_000, 100)
      .catch((err: unknown) => { throw new Error(`${String(err)}; last message: ${runtime.status(w.key).message ?? '(none)'}`); });
    assert.equal(runtime.status(w.key).readyReplicas, 0);

    const config = readFileSync(join(dir.path, 'run', 'processors', 'default_unreachable', 'config-0.json'), 'utf8');
    assert.doesNotMatch(config, /s3cret/, 'no password in the configuration file');
    const pid = runtime.processIds(w.key).find((p) => p.id.endsWith('/processor'))?.pid;
    const environ = readFileSync(`/proc/${pid ?? 0}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('SR_BINDING_IN_PASSWORD=s3cret-in-env'), 'the binding variables a Secret would fill');
  } finally {
    await runtime.close({ stopWorkloads: true });
  }
});

test('a Ready replica whose /readyz stops answering (a busy machine) stays Ready through two unanswered probes, not three', async () => {
  const runtime = new LocalRuntime({ dir: dir.path, log: pino({ level: 'silent' }), srEntry: join(FIXTURES, 'fake-sr.js'), probeIntervalMs: 100 });
  const w: ProcessorWorkload = {
    key: 'default/busy', namespace: 'default', name: 'busy', type: 'SRP', replicas: 1, stateful: false, containers: [],
    configs: [{ name: 'busy', namespace: 'default', group: 'busy', instanceIndex: 0, instanceCount: 1, attributes: {}, http: { port: 0 }, inputs: [], outputs: [] }],
  };
  let pid = 0;
  try {
    await runtime.apply(w);
    await waitFor('Ready', () => runtime.status(w.key).readyReplicas === 1, 60_000, 50);
    pid = runtime.processIds(w.key).find((p) => p.id.endsWith('/processor'))?.pid ?? 0;
    // Stopped, it accepts connections (the kernel's backlog) and never answers: each probe waits its 1 s timeout.
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1800));
    assert.equal(runtime.status(w.key).readyReplicas, 1, 'one or two unanswered probes do not flip it');
    await waitFor('not Ready after the third', () => runtime.status(w.key).readyReplicas === 0, 15_000, 50);
    assert.ok(Date.now() - stoppedAt >= 2500, `flipped after ${Date.now() - stoppedAt} ms: before the third probe`);
    assert.match(runtime.status(w.key).message ?? '', /replica 0 not ready: \/readyz did not answer within 1 s/);
    process.kill(pid, 'SIGCONT');
    await waitFor('Ready again', () => runtime.status(w.key).readyReplicas === 1, 15_000, 50);
  } finally {
    if (pid) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
    await runtime.close({ stopWorkloads: true });
  }
});
