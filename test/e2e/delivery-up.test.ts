// Issue 15 through the real `sr up` (etcd, API server, controllers, local runtime, the machine's RabbitMQ):
//  - a RabbitMQ Stream keeps what is published before its reading Processor runs: the ClusterStream declares the
//    durable queue of every consumer group reading it (Spring's requiredGroups), and the upstream Processor's
//    output declares it too, so nothing is published into an exchange without a queue;
//  - `kill -9` of `sr up` with a pipeline running leaves no process behind: etcd, API server, controllers, the dev
//    Kafka, processors, UDFs and what those started, all checked by pid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as amqp from 'amqplib';
import { FIXTURES, startUp } from '../support/controllers-up';
import { waitFor } from '../support/ports';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { RabbitCollector, rabbitCleanup, rabbitPublish } from '../support/processor-harness';

test('RabbitMQ: what is published before the reading Processor runs is kept in its consumer group queue', async () => {
  const up = await startUp();
  const id = uniqueName('keep');
  const [inX, midX, outX] = [`${id}-in`, `${id}-mid`, `${id}-out`];
  const collectors: RabbitCollector[] = [];
  try {
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: s-in }
spec: { name: ${inX}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: s-mid }
spec: { name: ${midX}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: s-out }
spec: { name: ${outX}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: upstream }
spec:
  inputs: [{ name: s-in }]
  outputs: [{ name: s-mid }]
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: downstream }
spec:
  replicas: 0
  inputs: [{ name: s-mid }]
  outputs: [{ name: s-out }]
`);
    await up.waitReady('processor', 'upstream', 90_000);
    await up.waitReady('stream', 's-mid', 60_000);
    // The downstream Processor has no running instance, yet its queue exists: declared when s-mid was provisioned.
    const connection = await amqp.connect(rabbitUrl());
    const queueDepth = async (): Promise<number> => {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try { return (await channel.checkQueue(`${midX}.downstream`)).messageCount; } finally { await channel.close().catch(() => undefined); }
    };
    try {
      await waitFor(`queue ${midX}.downstream declared`, async () => (await queueDepth()) >= 0, 30_000, 200);
      // Through the upstream Processor, and straight from an outside producer.
      await rabbitPublish(rabbitUrl(), inX, [{ payload: 'via-upstream', headers: { contentType: 'text/plain' } }]);
      await rabbitPublish(rabbitUrl(), midX, [{ payload: 'direct', headers: { contentType: 'text/plain' } }]);
      await waitFor('both kept in the queue', async () => (await queueDepth()) === 2, 30_000, 200);
    } finally {
      await connection.close();
    }

    // The consumer starts later and gets both.
    const collector = await RabbitCollector.start(rabbitUrl(), outX);
    collectors.push(collector);
    await up.kubectl('scale', 'srp', 'downstream', '--replicas=1');
    await waitFor('both through the downstream Processor', () => collector.messages.length >= 2, 60_000, 100);
    assert.deepEqual(collector.messages.map((m) => m.payload).sort(), ['direct', 'via-upstream']);
  } finally {
    for (const c of collectors) await c.close();
    await up.destroy();
    await rabbitCleanup(rabbitUrl(), [inX, midX, outX, `${inX}.upstream.dlq`, `${midX}.downstream.dlq`], [
      `${inX}.upstream`, `${midX}.downstream`, `${outX}.collector`, `${inX}.upstream.dlq`, `${midX}.downstream.dlq`,
    ]);
  }
});

/** pid -> start time (field 22 of /proc/<pid>/stat) of every live descendant of `root`; undefined start = gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch { return undefined; }
}

function descendants(root: number): Map<number, { start: string; cmd: string }> {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const found = new Map<number, { start: string; cmd: string }>();
  const walk = (pid: number): void => {
    for (const [child, ppid] of parent) {
      if (ppid !== pid || found.has(child)) continue;
      const start = startTime(child);
      if (start === undefined) continue;
      let cmd = '';
      try { cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { /* gone */ }
      found.set(child, { start, cmd });
      walk(child);
    }
  };
  walk(root);
  return found;
}

test('kill -9 of sr up with a pipeline running leaves no process behind', async () => {
  const up = await startUp();
  let tree = new Map<number, { start: string; cmd: string }>();
  try {
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: k-in }
spec: { name: k-in, protocol: kafka }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: k-out }
spec: { name: k-out, protocol: kafka }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: orphan-check }
spec:
  replicas: 2
  inputs: [{ name: k-in }]
  outputs: [{ name: k-out }]
  template:
    spec:
      containers:
        - name: udf
          command: ["node", "${FIXTURES}/udf/score-aggregator.js", "--by", "fullName"]
        # A foreign binary that starts a child of its own: nothing could watch sr up from inside it.
        - name: sidecar
          command: ["sh", "-c", "sleep 3600 & wait"]
`);
    await up.waitReady('processor', 'orphan-check', 90_000);
    const root = up.process.pid!;
    tree = descendants(root);
    const cmds = [...tree.values()].map((p) => p.cmd);
    // What must be in the tree for the test to mean anything.
    for (const pid of [up.componentPid('etcd'), up.componentPid('apiserver'), up.componentPid('controllers')]) {
      assert.ok(pid !== undefined && tree.has(pid), `component ${pid} is a live descendant of sr up`);
    }
    for (const { pid } of up.processorPids('default', 'orphan-check')) assert.ok(tree.has(pid), `processor/UDF ${pid} is in the tree`);
    assert.equal(up.processorPids('default', 'orphan-check').length, 6, 'two replicas of processor, UDF and sidecar');
    assert.ok(cmds.some((c) => c.includes('kafka-mock')), 'the dev Kafka');
    assert.equal(cmds.filter((c) => c.startsWith('sleep 3600')).length, 2, "the sidecars' own children");

    process.kill(root, 'SIGKILL');
    const alive = (): string[] => [...tree].filter(([pid, p]) => startTime(pid) === p.start).map(([pid, p]) => `${pid} ${p.cmd}`);
    await waitFor('every process gone', () => alive().length === 0, 30_000, 200)
      .catch((err: unknown) => { throw new Error(`${String(err)}; still running:\n${alive().join('\n')}`); });
  } finally {
    // Whatever is left (a failure) must not outlive the test.
    for (const [pid, p] of tree) if (startTime(pid) === p.start) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await up.destroy();
  }
});
