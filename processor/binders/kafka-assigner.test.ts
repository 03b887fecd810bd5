// The partitioned-input assigner: partition p goes to a member whose instanceIndex == p % instanceCount.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { AssignerProtocol, type Cluster, type GroupMember } from 'kafkajs';
import { instancePartitionAssigner } from './kafka-assigner';

function fakeCluster(partitions: number): Cluster {
  return {
    findTopicPartitionMetadata: () => Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })),
  } as unknown as Cluster;
}

function member(memberId: string, instanceIndex: number, instanceCount: number): GroupMember {
  const assigner = instancePartitionAssigner(instanceIndex, instanceCount)({ cluster: fakeCluster(0), groupId: 'g', logger: pino({ level: 'silent' }) as never });
  return { memberId, memberMetadata: assigner.protocol({ topics: ['t'] }).metadata };
}

async function assign(partitions: number, members: GroupMember[]): Promise<Record<string, number[]>> {
  const assigner = instancePartitionAssigner(0, 1)({ cluster: fakeCluster(partitions), groupId: 'g', logger: pino({ level: 'silent' }) as never });
  const result = await assigner.assign({ members, topics: ['t'] });
  const out: Record<string, number[]> = {};
  for (const r of result) out[r.memberId] = AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment.t ?? [];
  return out;
}

test('each instance gets p % instanceCount == instanceIndex', async () => {
  assert.deepEqual(await assign(6, [member('a', 0, 3), member('b', 1, 3), member('c', 2, 3)]), { a: [0, 3], b: [1, 4], c: [2, 5] });
});

test('an absent instance leaves its partitions unassigned; replicas of one index share its partitions', async () => {
  assert.deepEqual(await assign(4, [member('b', 1, 2)]), { b: [1, 3] });
  assert.deepEqual(await assign(4, [member('x', 0, 2), member('y', 0, 2), member('z', 1, 2)]), { x: [0], y: [2], z: [1, 3] });
});
