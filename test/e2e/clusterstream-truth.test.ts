// Issue 15, "Claims and status": the development Kafka must not lie in status. An existing topic with fewer
// partitions than a partitioned Stream writes to is reported with its real count (and is not Ready: producers would
// write to partitions that do not exist), and reclaimPolicy Delete says that the dev cluster keeps the topic.
// Credentials written into a ClusterStream's URL never show in `kubectl get srcs` (the SERVER column) nor in status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUp } from '../support/controllers-up';
import { kafkaMockCommand } from '../support/kafka';
import { waitFor } from '../support/ports';
import { uniqueName } from '../support/rabbitmq';

interface Condition { type: string; status: string; reason?: string; message?: string }

test('ClusterStream status tells the truth (dev Kafka partitions, Delete keeping the topic) and shows no credentials', async () => {
  const up = await startUp();
  try {
    const small = uniqueName('small');
    assert.equal(await kafkaMockCommand(up.kafkaControl, `create ${small} 1`), 'ok'); // left over, say, from an earlier Stream
    const fresh = uniqueName('fresh');
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: small }
spec: { name: ${small}, protocol: kafka, keys: [team], partitionCount: 3 }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${fresh} }
spec:
  name: ${fresh}
  streamModes: [read, write]
  storage:
    server: { protocol: kafka }
    reclaimPolicy: Delete
`);
    const ready = async (name: string): Promise<Condition | undefined> => {
      const cs = await up.getJson<{ status?: { conditions?: Condition[] } }>(`clusterstream/${name}`);
      return cs.status?.conditions?.find((c) => c.type === 'Ready');
    };
    let condition: Condition | undefined;
    await waitFor('the small topic reported', async () => {
      condition = await ready('small-cluster-stream');
      return condition?.reason === 'InsufficientPartitions';
    }, 60_000, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last ${JSON.stringify(condition)}`); });
    assert.equal(condition?.status, 'False');
    assert.match(condition?.message ?? '', /\(1 partition\).*it has 1 partition, 3 wanted/);
    await waitFor('the Delete ClusterStream ready', async () => {
      condition = await ready(fresh);
      return condition?.status === 'True';
    }, 60_000, 200);
    assert.match(condition?.message ?? '', /reclaimPolicy Delete will keep it: the development Kafka \(kafka-mock\) cannot delete topics/);

    // An administrator's ClusterStream with credentials in its URL (the machine's RabbitMQ: guest/guest).
    const secretive = uniqueName('secretive');
    await up.apply(`
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata: { name: ${secretive} }
spec:
  name: ${secretive}
  streamModes: [read, write]
  storage:
    server: { protocol: rabbitmq, url: "amqp://guest:guest@127.0.0.1:5672" }
    reclaimPolicy: Delete
`);
    await waitFor('the RabbitMQ ClusterStream ready', async () => (await ready(secretive))?.status === 'True', 60_000, 200);
    const table = await up.kubectl('get', 'srcs', secretive);
    assert.match(table, new RegExp(`^${secretive}\\s+rabbitmq\\s+amqp://127\\.0\\.0\\.1:5672\\s+True`, 'm'));
    assert.doesNotMatch(table, /guest/);
    const wide = await up.kubectl('get', 'srcs', '-o', 'wide');
    assert.doesNotMatch(wide, /guest:guest/);
    const status = JSON.stringify((await up.getJson<{ status?: unknown }>(`clusterstream/${secretive}`)).status);
    assert.doesNotMatch(status, /guest/);
    await up.kubectl('delete', 'clusterstream', secretive);
  } finally {
    await up.destroy();
  }
});
