// Issue 15, "Claims and status": the development Kafka must not lie in status. An existing topic with fewer
// partitions than a partitioned Stream writes to is reported with its real count (and is not Ready: producers would
// write to partitions that do not exist), and reclaimPolicy Delete says that the dev cluster keeps the topic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUp } from '../support/controllers-up';
import { kafkaMockCommand } from '../support/kafka';
import { waitFor } from '../support/ports';
import { uniqueName } from '../support/rabbitmq';

interface Condition { type: string; status: string; reason?: string; message?: string }

test('dev Kafka: a ClusterStream reports the partitions its topic really has and that Delete keeps the topic', async () => {
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
  } finally {
    await up.destroy();
  }
});
