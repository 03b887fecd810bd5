// Issue 15, "Claims and status", on a real `sr up` and the machine's RabbitMQ:
// - the SAME Stream (same metadata.name and spec.name) and Processor in two namespaces: one namespace keeps the
//   destination its spec.name names, the other gets its own (`<namespace>.<spec.name>`), and data published into one
//   never shows up in the other; a Stream naming another namespace's ClusterStream is refused (ClusterStreamClaimed);
// - credentials in a ClusterStream URL: never in any status (here through the in-cluster address note, which quoted
//   the URL as written), and the processor gets them in its environment as binding Secrets give them, not in its
//   configuration file;
// - two administrators' ClusterStreams naming one exchange on the same RabbitMQ: the later one is DestinationInUse
//   (not provisioned, its Streams not Ready) until the first is deleted, then it takes the exchange over; the first
//   one's Stream, which names it, is ClusterStreamLost (the controllers used to create it again, racing the wait of
//   `kubectl delete`, which then never returned).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSrUp } from '../support/controllers-up';
import { waitFor } from '../support/ports';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { RabbitCollector, rabbitCleanup, rabbitPublish } from '../support/processor-harness';

interface Condition { type: string; status: string; reason?: string; message?: string }
interface Resource { spec: { name: string; storage?: { server?: { url?: string } } }; status?: { clusterStreamName?: string; conditions?: Condition[] } }

const sr = useSrUp();
const ready = (r: Resource): Condition | undefined => r.status?.conditions?.find((c) => c.type === 'Ready');

test('the same Stream and Processor in two namespaces: separate destinations, no data crosses, a claimed ClusterStream refused', async () => {
  const { up } = sr;
  const id = uniqueName('same');
  const namespaces = ['team-a', 'team-b'];
  const destinations = new Map<string, { in: string; out: string }>();
  const collectors: RabbitCollector[] = [];
  try {
    await up.apply(namespaces.map((ns) => `
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: data-in, namespace: ${ns} }
spec: { name: ${id}-in, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: data-out, namespace: ${ns} }
spec: { name: ${id}-out, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: relay, namespace: ${ns} }
spec: { inputs: [{ name: data-in }], outputs: [{ name: data-out }] }
`).join('---\n'));
    for (const ns of namespaces) await up.waitReady('processor', 'relay', 120_000, ns);

    // The destination each namespace got is its ClusterStream's spec.name.
    for (const ns of namespaces) {
      const of = async (stream: string): Promise<string> => {
        const s = await up.getJson<Resource>(`stream/${stream}`, ns);
        return (await up.getJson<Resource>(`clusterstream/${s.status?.clusterStreamName ?? ''}`)).spec.name;
      };
      destinations.set(ns, { in: await of('data-in'), out: await of('data-out') });
    }
    const [a, b] = namespaces.map((ns) => destinations.get(ns)!);
    assert.notEqual(a.in, b.in, 'two namespaces never share an input destination');
    assert.notEqual(a.out, b.out, 'nor an output destination');
    // For each destination, the namespace whose Stream came first keeps the original's name and the other has its
    // per-namespace one (each destination on its own: team-a may keep "-in" while team-b keeps "-out").
    for (const end of ['in', 'out'] as const) {
      const keeper = namespaces.find((ns) => destinations.get(ns)![end] === `${id}-${end}`);
      assert.ok(keeper, `one namespace keeps "${id}-${end}": ${JSON.stringify([...destinations])}`);
      const other = namespaces.find((ns) => ns !== keeper)!;
      assert.equal(destinations.get(other)![end], `${other}.${id}-${end}`);
    }
    const first = namespaces.find((ns) => destinations.get(ns)!.in === `${id}-in`)!;
    const second = namespaces.find((ns) => ns !== first)!;

    const out = new Map<string, RabbitCollector>();
    for (const ns of namespaces) {
      const c = await RabbitCollector.start(rabbitUrl(), destinations.get(ns)!.out);
      collectors.push(c);
      out.set(ns, c);
    }
    for (const ns of namespaces) await rabbitPublish(rabbitUrl(), destinations.get(ns)!.in, [{ payload: `from-${ns}`, headers: { contentType: 'text/plain' } }]);
    await waitFor('both messages out', () => namespaces.every((ns) => (out.get(ns)?.messages.length ?? 0) >= 1), 60_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    for (const ns of namespaces) assert.deepEqual(out.get(ns)?.messages.map((m) => m.payload), [`from-${ns}`], `${ns} sees its own data only`);

    // A Stream naming the other namespace's ClusterStream is refused, like a claim on a bound volume.
    const taken = (await up.getJson<Resource>('stream/data-in', first)).status?.clusterStreamName ?? '';
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: borrowed, namespace: ${second} }
spec: { name: ${id}-in, protocol: rabbitmq, storage: { clusterStream: ${taken} } }
`);
    let condition: Condition | undefined;
    await waitFor('the claim refused', async () => {
      condition = ready(await up.getJson<Resource>('stream/borrowed', second));
      return condition?.reason === 'ClusterStreamClaimed';
    }, 30_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(condition)}`); });
    assert.equal(condition?.status, 'False');
    assert.match(condition?.message ?? '', new RegExp(`claimed by namespace "${first}"`));
  } finally {
    for (const c of collectors) await c.close();
    const all = [...destinations.values()];
    await rabbitCleanup(rabbitUrl(), all.flatMap((d) => [d.in, d.out, `${d.in}.relay.dlq`]), all.flatMap((d) => [`${d.in}.relay`, `${d.out}.collector`, `${d.in}.relay.dlq`]));
  }
});

test('credentials in a ClusterStream URL: in no status, and the processor gets them in its environment', async () => {
  const { up } = sr;
  const id = uniqueName('creds');
  try {
    // An in-cluster address (served by the local RabbitMQ on sr up) with the machine's credentials in it.
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${id} }
spec:
  name: ${id}-in
  streamModes: [read, write]
  storage: { server: { protocol: rabbitmq, url: "amqp://guest:guest@rabbitmq.default.svc.cluster.local:5672" }, reclaimPolicy: Delete }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: creds-in }
spec: { name: ${id}-in, protocol: rabbitmq, storage: { clusterStream: ${id} } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: creds-out }
spec: { name: ${id}-out, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: creds-relay }
spec: { inputs: [{ name: creds-in }], outputs: [{ name: creds-out }] }
`);
    await up.waitReady('processor', 'creds-relay', 120_000);
    const cs = await up.getJson<Resource>(`clusterstream/${id}`);
    // Spec is the administrator's input, shown as written (kubectl get -o yaml); everything we write is redacted.
    assert.equal(cs.spec.storage?.server?.url, 'amqp://guest:guest@rabbitmq.default.svc.cluster.local:5672');
    assert.match(ready(cs)?.message ?? '', /in-cluster address amqp:\/\/rabbitmq\.default\.svc\.cluster\.local:5672 served by the local RabbitMQ/);
    for (const [what, resource] of [['clusterstream', `clusterstream/${id}`], ['stream', 'stream/creds-in'], ['processor', 'processor/creds-relay']]) {
      assert.doesNotMatch(JSON.stringify((await up.getJson<Resource>(resource)).status), /guest/, `${what} status`);
    }
    assert.doesNotMatch(await up.kubectl('get', 'srcs', id, '-o', 'wide'), /guest/, 'the table (SERVER column)');

    const run = join(up.dir, 'run', 'processors', 'default_creds-relay');
    assert.doesNotMatch(readFileSync(join(run, 'config-0.json'), 'utf8'), /password|guest/, 'no credentials in the configuration file');
    const pid = up.processorPids('default', 'creds-relay').find((p) => p.slot === '0-processor')?.pid ?? 0;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('SR_BINDING_CREDS_IN_USERNAME=guest') && environ.includes('SR_BINDING_CREDS_IN_PASSWORD=guest'), 'the binding variables carry them');
    await up.kubectl('delete', 'processor', 'creds-relay');
  } finally {
    await rabbitCleanup(rabbitUrl(), [`${id}-in`, `${id}-out`, `${id}-in.creds-relay.dlq`], [`${id}-in.creds-relay`, `${id}-in.creds-relay.dlq`]);
  }
});

test('two admin ClusterStreams naming one exchange on the same broker: the later one is DestinationInUse until the first is deleted', async () => {
  const { up } = sr;
  const id = uniqueName('dup');
  const [first, second] = [`${id}-a`, `${id}-b`];
  const exchange = `${id}-shared`;
  try {
    // One apply, `first` before `second`: created first (or in the same second, the smaller name). The second writes
    // the same broker another way (no credentials, default port): the same server for the controllers.
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${first} }
spec: { name: ${exchange}, streamModes: [read, write], storage: { server: { protocol: rabbitmq }, reclaimPolicy: Retain } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${second} }
spec: { name: ${exchange}, streamModes: [read, write], storage: { server: { protocol: rabbitmq, url: "amqp://127.0.0.1" }, reclaimPolicy: Retain } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: ledger, namespace: ${id}-x }
spec: { name: ${exchange}, protocol: rabbitmq, storage: { clusterStream: ${first} } }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: ledger, namespace: ${id}-y }
spec: { name: ${exchange}, protocol: rabbitmq, storage: { clusterStream: ${second} } }
`);
    await up.waitReady('clusterstream', first, 30_000);
    await up.waitReady('stream', 'ledger', 30_000, `${id}-x`);
    // The message names the first one's claim once its Stream has bound it (a claim requeues the other one).
    let condition: Condition | undefined;
    await waitFor('the second ClusterStream refused', async () => {
      condition = ready(await up.getJson<Resource>(`clusterstream/${second}`));
      return condition?.reason === 'DestinationInUse' && (condition.message ?? '').includes('claimed by namespace');
    }, 30_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(condition)}`); });
    assert.equal(condition?.status, 'False');
    assert.match(condition?.message ?? '', new RegExp(`exchange "${exchange}" on amqp://127\\.0\\.0\\.1:5672 is ClusterStream "${first}"'s \\(created first, claimed by namespace "${id}-x"\\)`));
    assert.equal((await up.getJson<{ status?: { storageAddress?: unknown } }>(`clusterstream/${second}`)).status?.storageAddress, undefined, 'not provisioned');
    let streamCondition: Condition | undefined;
    await waitFor('its Stream not Ready', async () => {
      streamCondition = ready(await up.getJson<Resource>('stream/ledger', `${id}-y`));
      return streamCondition?.reason === 'ClusterStreamNotReady';
    }, 30_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(streamCondition)}`); });
    assert.match(streamCondition?.message ?? '', new RegExp(`ClusterStream "${first}"'s`));

    // The first one goes (Retain: the exchange stays): the later one is requeued, takes it over, and its Stream binds.
    await up.kubectl('delete', 'clusterstream', first, '--timeout=60s');
    await up.waitReady('clusterstream', second, 30_000);
    await up.waitReady('stream', 'ledger', 30_000, `${id}-y`);
    // Its own Stream names it: lost, and nothing made `first` again behind the administrator's back.
    await waitFor('the first one\'s Stream lost', async () => {
      streamCondition = ready(await up.getJson<Resource>('stream/ledger', `${id}-x`));
      return streamCondition?.reason === 'ClusterStreamLost';
    }, 30_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(streamCondition)}`); });
    const names = (await up.kubectl('get', 'clusterstreams', '-o', 'name')).split('\n');
    assert.ok(names.includes(`clusterstream.streaming.tanzu.vmware.com/${second}`) && !names.includes(`clusterstream.streaming.tanzu.vmware.com/${first}`), names.join(' '));
  } finally {
    await up.kubectl('delete', 'stream', 'ledger', '-n', `${id}-x`, '--ignore-not-found').catch(() => undefined);
    await up.kubectl('delete', 'stream', 'ledger', '-n', `${id}-y`, '--ignore-not-found').catch(() => undefined);
    await rabbitCleanup(rabbitUrl(), [exchange], []);
  }
});
