// Issue 12 (seeing the data without broker tools) and issue 15 (dead letters readable) through the real `sr up`:
//  - Kafka: `sr stream publish` honours the Stream's partitioning (keyExpression) and `sr stream tail` reads it back
//    (from the beginning, and live on the Processor's output); `sr tap <processor>` taps both replicas of a
//    partitioned Processor, labels each line with its replica, and re-attaches a replica killed with -9;
//  - RabbitMQ: a tail of the Processor's input takes nothing from it (its output is complete), and its dead letters
//    are read with `sr stream tail --dead-letters` and left in their durable queue;
//  - unknown names, Streams that are not Ready: errors that say where and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { selectPartition } from '../../processor/partition';
import { SR_ENTRY, useSrUp } from '../support/controllers-up';
import { waitFor } from '../support/ports';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { rabbitCleanup } from '../support/processor-harness';

const sr = useSrUp();

interface Run { code: number; stdout: string; stderr: string }

function srRun(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // Generous: on a loaded machine loading the CLI alone can take tens of seconds.
    execFile(process.execPath, [SR_ENTRY, ...args, '--dir', sr.up.dir], { timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr: `${stderr}${err?.killed ? `(killed: ${err.signal ?? ''} after the timeout)` : ''}` });
    });
  });
}

/** A long-running `sr` command (tail, tap) whose output is collected until it is stopped. */
class Running {
  stdout = '';
  stderr = '';
  private readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [SR_ENTRY, ...args, '--dir', sr.up.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d: Buffer) => { this.stdout += d.toString(); });
    this.child.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString(); });
  }

  lines<T>(): T[] {
    return this.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
  }

  async until(what: string, check: () => boolean, timeoutMs = 180_000): Promise<void> {
    await waitFor(what, () => {
      if (this.child.exitCode !== null && !check()) throw new Error(`exited ${this.child.exitCode}: ${this.stderr}`);
      return check();
    }, timeoutMs, 100).catch((err: unknown) => { throw new Error(`${String(err)}\nstderr: ${this.stderr}\nstdout: ${this.stdout.slice(0, 2000)}`); });
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
  }
}

interface Printed { partition?: number; key?: string; headers: Record<string, string>; value: unknown; kept?: boolean; redelivered?: boolean }
interface Tapped { replica: number; point: string; payload: string }

test('Kafka: publish with the Stream\'s partitioning, tail it back, tap both replicas by name across a kill -9', async () => {
  const { up } = sr;
  const id = uniqueName('clik');
  const running: Running[] = [];
  try {
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: kin }
spec: { name: ${id}-in, protocol: kafka, keyExpression: payload.team, partitionCount: 2 }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: kout }
spec: { name: ${id}-out, protocol: kafka }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: kp }
spec:
  replicas: 2
  inputs: [{ name: kin }]
  outputs: [{ name: kout }]
`);
    await up.waitReady('processor', 'kp', 90_000);
    const tap = new Running(['tap', 'kp', '--point', 'out']);
    const out = new Running(['stream', 'tail', 'kout']);
    running.push(tap, out);
    await tap.until('both replicas tapped', () => /replica 0 attached/.test(tap.stderr) && /replica 1 attached/.test(tap.stderr));
    await out.until('tail of kout ready', () => /▸ tailing Stream default\/kout: Kafka .*group sr-tail-/.test(out.stderr));

    const teams = ['red', 'blue', 'green', 'yellow', 'black', 'white'];
    assert.deepEqual(new Set(teams.map((t) => selectPartition(t, 2))), new Set([0, 1]), 'the teams cover both partitions');
    const file = join(up.dir, 'values.jsonl');
    writeFileSync(file, `${teams.map((team, n) => JSON.stringify({ team, n })).join('\n')}\n`);
    const published = await srRun('stream', 'publish', 'kin', '-f', file, '--key', 'k1', '--header', 'origin=cli');
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stderr, /published 6 message\(s\) to Stream default\/kin \(topic .*, by partition \d→0 \d→1\)/);

    // Read back from the beginning: each record in the partition the processors' partition function gives.
    const back = await srRun('stream', 'tail', 'kin', '--from-beginning', '--max', '6');
    assert.equal(back.code, 0, back.stderr);
    const records = back.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Printed);
    assert.deepEqual(records.map((r) => (r.value as { team: string }).team).sort(), [...teams].sort());
    for (const r of records) {
      const team = (r.value as { team: string }).team;
      assert.equal(r.partition, selectPartition(team, 2), `${team} in its partition`);
      assert.equal(r.key, 'k1');
      assert.equal(r.headers.origin, 'cli');
      assert.equal(r.headers.scst_partition, String(r.partition));
    }
    // Through the Processor: all six on its output, and each replica tapped the partition it owns.
    await out.until('six on kout', () => out.lines<Printed>().length >= 6);
    assert.deepEqual(out.lines<Printed>().map((r) => (r.value as { n: number }).n).sort(), [0, 1, 2, 3, 4, 5]);
    await tap.until('six tapped', () => tap.lines<Tapped>().length >= 6);
    for (const t of tap.lines<Tapped>()) assert.equal(t.replica, selectPartition((JSON.parse(t.payload) as { team: string }).team, 2));

    // Replica 1 killed with -9: the runtime restarts it on its port, the tap re-attaches and sees it work again.
    const victim = up.processorPids('default', 'kp').find((p) => p.slot === '1-processor');
    assert.ok(victim, `replica 1's pid among ${JSON.stringify(up.processorPids('default', 'kp'))}`);
    process.kill(victim.pid, 'SIGKILL');
    await tap.until('replica 1 re-attached', () => (tap.stderr.match(/replica 1 attached/g) ?? []).length >= 2, 90_000);
    const team1 = teams.find((t) => selectPartition(t, 2) === 1)!;
    const again = await srRun('stream', 'publish', 'kin', JSON.stringify({ team: team1, n: 100 }));
    assert.equal(again.code, 0, again.stderr);
    await tap.until('replica 1 tapped after its restart', () => tap.lines<Tapped>().some((t) => t.replica === 1 && t.payload.includes('"n":100')), 90_000);
  } finally {
    for (const r of running) r.stop();
  }
});

test('RabbitMQ: a tail takes nothing from the Processor; its dead letters are read back and left in place', async () => {
  const { up } = sr;
  const id = uniqueName('clir');
  const [inX, outX] = [`${id}-in`, `${id}-out`];
  const dlq = `${inX}.rp.dlq`;
  const running: Running[] = [];
  try {
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: rin }
spec: { name: ${inX}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: rout }
spec: { name: ${outX}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: rp }
spec:
  inputs: [{ name: rin }]
  outputs: [{ name: rout }]
  attributes:
    srp.spel.expression: "payload.n"
`);
    await up.waitReady('processor', 'rp', 90_000);
    const input = new Running(['stream', 'tail', 'rin']);
    const output = new Running(['stream', 'tail', 'rout']);
    running.push(input, output);
    for (const t of [input, output]) await t.until('tail ready', () => /▸ tailing Stream default\/r(in|out): RabbitMQ .*own exclusive queue/.test(t.stderr));

    const values = Array.from({ length: 20 }, (_, n) => JSON.stringify({ n }));
    const good = await new Promise<Run>((resolve) => {
      const child = execFile(process.execPath, [SR_ENTRY, 'stream', 'publish', 'rin', '--dir', up.dir], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
      child.stdin?.end(`${values.join('\n')}\n`);
    });
    assert.equal(good.code, 0, good.stderr);
    // Without the field the SpEL transform reads: the processor dead-letters it.
    const bad = await srRun('stream', 'publish', 'rin', '{"other":1}');
    assert.equal(bad.code, 0, bad.stderr);

    await input.until('21 seen on rin', () => input.lines<Printed>().length >= 21);
    await output.until('20 through the Processor', () => output.lines<Printed>().length >= 20);
    assert.deepEqual(output.lines<Printed>().map((r) => Number(r.value)).sort((a, b) => a - b), values.map((_, n) => n), 'the Processor got every message despite the tail');

    const first = await srRun('stream', 'tail', '--dead-letters', 'rp', '--max', '1');
    assert.equal(first.code, 0, first.stderr);
    const letter = JSON.parse(first.stdout) as Printed;
    assert.deepEqual(letter.value, { other: 1 });
    assert.equal(letter.kept, true);
    assert.match(letter.headers['x-exception-stage'], /spel|transform/);
    assert.equal(letter.headers['x-original-destination'], inX);
    assert.match(first.stderr, new RegExp(`dead-letter destination of Processor default/rp: RabbitMQ .*1 message\\(s\\) kept in queue ${dlq.replace(/\./g, '\\.')} shown and left there`));
    // Still there: read again (redelivered), and the queue holds it.
    const second = await srRun('stream', 'tail', '--dead-letters', 'rp', '--max', '1');
    assert.equal((JSON.parse(second.stdout) as Printed).redelivered, true);
    const connection = await amqp.connect(rabbitUrl());
    try {
      const channel = await connection.createChannel();
      assert.equal((await channel.checkQueue(dlq)).messageCount, 1);
      assert.equal((await channel.checkQueue(`${inX}.rp`)).messageCount, 0, 'the Processor consumed its queue');
    } finally {
      await connection.close();
    }
  } finally {
    for (const r of running) r.stop();
    await up.kubectl('delete', 'srp', 'rp', '--wait=false').catch(() => undefined);
    await rabbitCleanup(rabbitUrl(), [inX, outX, dlq], [`${inX}.rp`, dlq]);
  }
});

test('errors name the namespace, say why a Stream is not Ready, and what is there instead', async () => {
  const { up } = sr;
  // A Stream whose destination is not its ClusterStream's: refused (DestinationMismatch), never Ready.
  const cs = uniqueName('cli-cs');
  await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${cs} }
spec: { name: ${cs}, storage: { server: { protocol: kafka } } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: unclaimed, namespace: default }
spec: { name: not-${cs}, protocol: kafka, storage: { clusterStream: ${cs} } }
`);
  await waitFor('unclaimed refused', async () => {
    const s = await up.getJson<{ status?: { conditions?: { type: string; status: string }[] } }>('stream/unclaimed');
    return (s.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'False');
  }, 60_000, 200);
  const notReady = await srRun('stream', 'publish', 'unclaimed', 'x');
  assert.equal(notReady.code, 1, notReady.stderr);
  assert.match(notReady.stderr, /Stream default\/unclaimed is not Ready: Ready=False \w+: /);

  const unknown = await srRun('stream', 'tail', 'nope', '-n', 'elsewhere');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Stream "nope" not found in namespace "elsewhere" \(Streams there: none\)/);
  const unknownHere = await srRun('stream', 'tail', 'nope');
  assert.match(unknownHere.stderr, /Stream "nope" not found in namespace "default" \(Streams there: .*unclaimed/);
  const tap = await srRun('tap', 'nope');
  assert.match(tap.stderr, /Processor "nope" not found in namespace "default"/);
  const dead = await srRun('stream', 'tail', '--dead-letters', 'nope');
  assert.match(dead.stderr, /Processor "nope" not found in namespace "default"/);
  const usage = await srRun('stream', 'tail', 'x', '--max', '0');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--max must be a positive integer/);
});
