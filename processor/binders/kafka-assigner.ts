// Partition assignment of a Kafka input's consumer group: the partitioned-input assigner (partition p to the
// replicas whose instance index is p % instanceCount), and the wrappers every group's assigner goes through so that
// the development cluster (librdkafka's mock, see kafka-group-timing.ts) completes its rebalances.
import { AssignerProtocol, type Assigner, type GroupMember, type GroupMemberAssignment, type PartitionAssigner } from 'kafkajs';

type Group = { members: GroupMember[]; topics: string[] };

/** `assigner` with `then` applied to each assignment it computes, before kafkajs sends it (SyncGroup). */
function afterAssign(
  assigner: PartitionAssigner,
  then: (assignment: GroupMemberAssignment[], group: Group, inner: Assigner) => Promise<GroupMemberAssignment[]>,
): PartitionAssigner {
  return (config) => {
    const inner = assigner(config);
    return { ...inner, assign: async (group) => then(await inner.assign(group), group, inner) };
  };
}

/** Every member of the group gets an entry in the SyncGroup request, an empty one when it gets no partition.
 *  kafkajs' round-robin assigner leaves such members out; real brokers accept that, but librdkafka's mock (`sr up`'s
 *  dev Kafka) never completes the sync and rebalances for ever — e.g. three replicas on a one-partition topic. */
export function everyMemberAssigned(assigner: PartitionAssigner): PartitionAssigner {
  return afterAssign(assigner, async (assignment, group, inner) => {
    const assigned = new Set(assignment.map((a) => a.memberId));
    for (const member of group.members) {
      if (!assigned.has(member.memberId)) assignment.push({ memberId: member.memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: inner.version, assignment: {}, userData: Buffer.alloc(0) }) });
    }
    return assignment;
  });
}

/** Lets the leader's assignment of a group of several members wait `delayMs` before it is sent (kafkajs sends
 *  SyncGroup as soon as `assign` returns): ConsumerGroupTiming.leaderSyncDelayMs. */
export function delayedAssignment(assigner: PartitionAssigner, delayMs: number): PartitionAssigner {
  if (delayMs <= 0) return assigner;
  return afterAssign(assigner, async (assignment, group) => {
    // Alone in the group, nobody else has a SyncGroup to send.
    if (group.members.length > 1) await new Promise((r) => setTimeout(r, delayMs));
    return assignment;
  });
}

/** The assigner of a partitioned input: partition p goes to a member whose instance index is p % instanceCount
 *  (round-robin among members with that index); partitions whose instance is absent stay unassigned, as with
 *  Spring's static partition assignment. Each member announces its index and count in the group metadata. */
export function instancePartitionAssigner(instanceIndex: number, instanceCount: number): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'sr-instance-index',
    version: 1,
    protocol: ({ topics }) => ({
      name: 'sr-instance-index',
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.from(JSON.stringify({ instanceIndex, instanceCount })),
      }),
    }),
    assign: async ({ members, topics }) => {
      const byIndex = new Map<number, string[]>();
      let count = instanceCount;
      for (const member of [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))) {
        const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
        let index = 0;
        try {
          const data = JSON.parse(metadata?.userData.toString() ?? '{}') as { instanceIndex?: number; instanceCount?: number };
          index = data.instanceIndex ?? 0;
          count = data.instanceCount ?? count;
        } catch { /* a member without our metadata counts as index 0 */ }
        byIndex.set(index, [...(byIndex.get(index) ?? []), member.memberId]);
      }
      const assignment = new Map<string, Record<string, number[]>>();
      for (const member of members) assignment.set(member.memberId, {});
      for (const topic of topics) {
        const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
        const turn = new Map<number, number>();
        for (const partition of partitions) {
          const owners = byIndex.get(partition % Math.max(1, count));
          if (!owners) continue;
          const t = turn.get(partition % count) ?? 0;
          turn.set(partition % count, t + 1);
          const memberId = owners[t % owners.length];
          const mine = assignment.get(memberId) as Record<string, number[]>;
          (mine[topic] ??= []).push(partition);
        }
      }
      const result: GroupMemberAssignment[] = [];
      for (const [memberId, perTopic] of assignment) {
        result.push({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: perTopic, userData: Buffer.alloc(0) }),
        });
      }
      return result;
    },
  });
}
