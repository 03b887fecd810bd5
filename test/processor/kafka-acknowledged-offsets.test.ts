// Issue 11/15, delivery: "nothing lost, nothing twice where we can avoid it". The Kafka input commits the lowest
// unacknowledged offset, and completion is out of order (a fired window's records are acknowledged while an earlier
// record of an open window is not). Each commit's metadata therefore names the offsets above it that are acknowledged
// already, and the partition's next owner skips them. Against the kafka-mock (librdkafka's, `sr up`'s dev Kafka),
// which stores OffsetCommit metadata as a real broker does:
//  - offsets 1..5 acknowledged, 0, 6 and 7 not; the binder stops; a new binder of the same group is handed 0, 6 and 7
//    only, and says it skipped five; once everything is acknowledged the commit moves past all of it;
//  - the same after a rebalance: a second member joins and the partitions move between binders of one group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Admin } from 'kafkajs';
import type { BindingConfig } from '../../processor/config';
import { KafkaInput } from '../../processor/binders/kafka-input';
import type { InboundDelivery } from '../../processor/binders/types';
import { decodeAcknowledged } from '../../processor/delivery/acknowledged-offsets';
import { startKafka, type KafkaHandle } from '../support/kafka';
import { waitFor } from '../support/ports';
import { uniqueName } from '../support/rabbitmq';
import { kafkaClientFor, kafkaProduce } from '../support/processor-harness';

const id = uniqueName('acked');
const log = pino({ level: 'silent' });
let kafka: KafkaHandle;
let admin: Admin;
const running: KafkaInput[] = [];

before(async () => {
  kafka = await startKafka();
  admin = kafkaClientFor(kafka.bootstrap).admin();
  await admin.connect();
});
after(async () => {
  for (const input of running) await input.stop();
  await admin?.disconnect();
  await kafka?.stop();
});

function binding(topic: string): BindingConfig {
  return { stream: 'in', protocol: 'kafka', destination: topic, server: { url: kafka.bootstrap } };
}

/** Starts a binder that records every delivery (as `partition:offset`) and leaves acknowledging to the test. */
async function startInput(topic: string, group: string, instanceIndex = 0): Promise<{ input: KafkaInput; deliveries: Map<string, InboundDelivery>; order: string[] }> {
  const deliveries = new Map<string, InboundDelivery>();
  const order: string[] = [];
  const input = new KafkaInput({ binding: binding(topic), group, instanceIndex, instanceCount: 1, log, clientId: `${group}-${instanceIndex}` });
  running.push(input);
  await input.start((delivery) => {
    const name = `${delivery.partition}:${delivery.offset}`;
    deliveries.set(name, delivery);
    order.push(name);
  });
  return { input, deliveries, order };
}

async function stopInput(input: KafkaInput): Promise<void> {
  await input.stop();
  running.splice(running.indexOf(input), 1);
}

async function committed(group: string, topic: string, partition = 0): Promise<{ offset: number; metadata: string | null }> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const entry = offsets?.partitions.find((p) => p.partition === partition);
  return { offset: Number(entry?.offset ?? -1), metadata: entry?.metadata ?? null };
}

function skipped(input: KafkaInput): number {
  return Number(input.status().detail?.skippedAcknowledged);
}

const records = (n: number, partition?: number): Array<{ payload: string; partition?: number }> =>
  Array.from({ length: n }, (_, i) => ({ payload: `{"n":${i}}`, ...(partition === undefined ? {} : { partition }) }));

test('a restarted input is not handed again what was acknowledged above the committed offset', async () => {
  const topic = `${id}-restart`;
  const group = `${id}-restart-group`;
  await kafka.createTopic(topic, 1);
  await kafkaProduce(kafka.bootstrap, topic, records(8));

  const first = await startInput(topic, group);
  await waitFor('all 8 records delivered', () => first.deliveries.size === 8, 30_000, 50);
  for (const offset of [3, 1, 5, 2, 4]) first.deliveries.get(`0:${offset}`)?.ack();
  await waitFor('offset 0 committed naming 1..5 acknowledged', async () => {
    const commit = await committed(group, topic);
    return commit.offset === 0 && decodeAcknowledged(0, commit.metadata).length === 1;
  }, 10_000, 100);
  assert.deepEqual(decodeAcknowledged(0, (await committed(group, topic)).metadata), [{ from: 1, to: 6 }]);
  await stopInput(first.input);

  const second = await startInput(topic, group);
  await waitFor('the unacknowledged records again', () => second.deliveries.size === 3, 30_000, 50);
  // Give it time to hand out anything else it would.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(second.order, ['0:0', '0:6', '0:7'], 'only what was not acknowledged is delivered again');
  assert.equal(skipped(second.input), 5);

  for (const delivery of second.deliveries.values()) delivery.ack();
  await waitFor('everything committed', async () => (await committed(group, topic)).offset === 8, 10_000, 100);
  assert.equal((await committed(group, topic)).metadata, null, 'nothing above the committed offset: no metadata');
  await stopInput(second.input);

  // A third start sees nothing at all.
  const third = await startInput(topic, group);
  await new Promise((r) => setTimeout(r, 5000));
  assert.deepEqual(third.order, []);
  await stopInput(third.input);
});

test('after a rebalance the partition\'s new owner skips what its previous owner acknowledged', async () => {
  const topic = `${id}-rebalance`;
  const group = `${id}-rebalance-group`;
  await kafka.createTopic(topic, 2);
  await kafkaProduce(kafka.bootstrap, topic, [...records(6, 0), ...records(6, 1)]);

  const first = await startInput(topic, group, 0);
  await waitFor('both partitions delivered to the only member', () => first.deliveries.size === 12, 30_000, 50);
  // Per partition: 0 and 5 held (an open window), 1..4 acknowledged.
  for (const partition of [0, 1]) for (const offset of [4, 2, 1, 3]) first.deliveries.get(`${partition}:${offset}`)?.ack();
  await waitFor('both partitions commit 0 naming 1..4', async () => {
    for (const partition of [0, 1]) {
      const commit = await committed(group, topic, partition);
      if (commit.offset !== 0 || JSON.stringify(decodeAcknowledged(0, commit.metadata)) !== JSON.stringify([{ from: 1, to: 5 }])) return false;
    }
    return true;
  }, 10_000, 100);

  // A second member joins: the group rebalances and each member takes one partition (the first, re-joined, starts
  // its remaining partition over from the committed offset as well).
  const second = await startInput(topic, group, 1);
  // 60 s: on a loaded machine the development Kafka's coordinator may need a second rebalance (it refuses a follower's
  // SyncGroup that comes after the leader's: processor/binders/kafka-group-timing.ts).
  await waitFor('the second member handed its partition\'s unacknowledged records', () => second.deliveries.size === 2, 60_000, 50);
  await new Promise((r) => setTimeout(r, 1500));
  const moved = Number(second.order[0].split(':')[0]);
  assert.deepEqual(second.order, [`${moved}:0`, `${moved}:5`], 'only the held records of the partition that moved');
  assert.equal(skipped(second.input), 4);
  const stayed = 1 - moved;
  const again = first.order.slice(12);
  assert.deepEqual(again, [`${stayed}:0`, `${stayed}:5`], 'the first member, after the rebalance, gets only the held records of its partition again');
  assert.equal(skipped(first.input), 4);
});
