// Issue 15, "Claims and status": the same Stream and Processor names in two namespaces. Each Stream gets a claim
// of its own (the auto-provisioned ClusterStream keeps the original's `<name>-cluster-stream` for the first
// namespace and is `<name>-<namespace>-cluster-stream` for the other, each providing its own Stream's destination),
// each Processor finds the Streams of its own namespace, and neither namespace sees the other's data. A Stream bound
// to a ClusterStream that provides another destination is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUp } from '../support/controllers-up';
import { waitFor } from '../support/ports';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { RabbitCollector, rabbitCleanup, rabbitPublish } from '../support/processor-harness';

interface Condition { type: string; status: string; reason?: string; message?: string }
interface StreamJson { spec: { name: string }; status?: { clusterStreamName?: string; conditions?: Condition[] } }

test('the same names in two namespaces: separate claims, each Processor on its own Streams, no data crosses', async () => {
  const up = await startUp();
  const id = uniqueName('ns');
  const namespaces = ['team-a', 'team-b'];
  const dest = (ns: string, s: string): string => `${id}-${ns}-${s}`;
  const collectors: RabbitCollector[] = [];
  try {
    await up.apply(namespaces.map((ns) => `
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: in, namespace: ${ns} }
spec: { name: ${dest(ns, 'in')}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: out, namespace: ${ns} }
spec: { name: ${dest(ns, 'out')}, protocol: rabbitmq }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: relay, namespace: ${ns} }
spec:
  inputs: [{ name: in }]
  outputs: [{ name: out }]
`).join('---\n'));
    for (const ns of namespaces) await up.waitReady('processor', 'relay', 90_000, ns);

    // One claim per namespace, each providing its own Stream's destination.
    const claims = new Map<string, string>();
    for (const ns of namespaces) {
      const stream = await up.getJson<StreamJson>('stream/in', ns);
      const cs = await up.getJson<{ spec: { name: string } }>(`clusterstream/${stream.status?.clusterStreamName ?? ''}`);
      assert.equal(cs.spec.name, dest(ns, 'in'), `${ns}: its ClusterStream provides its own destination`);
      claims.set(ns, stream.status?.clusterStreamName ?? '');
    }
    assert.deepEqual(new Set(claims.values()), new Set(['in-cluster-stream', `in-${[...claims].find(([, n]) => n !== 'in-cluster-stream')?.[0] ?? '?'}-cluster-stream`]));

    // Data stays in its namespace.
    const out = new Map<string, RabbitCollector>();
    for (const ns of namespaces) {
      const c = await RabbitCollector.start(rabbitUrl(), dest(ns, 'out'));
      collectors.push(c);
      out.set(ns, c);
    }
    for (const ns of namespaces) await rabbitPublish(rabbitUrl(), dest(ns, 'in'), [{ payload: `from-${ns}`, headers: { contentType: 'text/plain' } }]);
    await waitFor('both messages out', () => namespaces.every((ns) => (out.get(ns)?.messages.length ?? 0) >= 1), 60_000, 100);
    await new Promise((r) => setTimeout(r, 500));
    for (const ns of namespaces) assert.deepEqual(out.get(ns)?.messages.map((m) => m.payload), [`from-${ns}`]);

    // A Stream naming a ClusterStream that provides another destination is refused.
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: wrong, namespace: team-a }
spec: { name: ${id}-elsewhere, protocol: rabbitmq, storage: { clusterStream: ${claims.get('team-a')} } }
`);
    let condition: Condition | undefined;
    await waitFor('the mismatch reported', async () => {
      condition = (await up.getJson<StreamJson>('stream/wrong', 'team-a')).status?.conditions?.find((c) => c.type === 'Ready');
      return condition?.reason === 'DestinationMismatch';
    }, 30_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(condition)}`); });
    assert.equal(condition?.status, 'False');
  } finally {
    for (const c of collectors) await c.close();
    await up.destroy();
    await rabbitCleanup(rabbitUrl(), namespaces.flatMap((ns) => [dest(ns, 'in'), dest(ns, 'out'), `${dest(ns, 'in')}.relay.dlq`]),
      // Consumer groups outside `default` are `<namespace>.<processor>` (controllers/workload.ts, consumerGroupOf).
      namespaces.flatMap((ns) => [`${dest(ns, 'in')}.${ns}.relay`, `${dest(ns, 'out')}.collector`, `${dest(ns, 'in')}.relay.dlq`]));
  }
});
