// End to end through the real `sr processor` process:
//  1. tutorial 3's SpEL transform + srp.output.headers, RabbitMQ -> Kafka partitioned by keyExpression payload.team
//     (Spring's partition function: red -> 1, blue -> 2, green -> 3 of 4, header scst_partition);
//  2. JSONata transform + filter, Kafka -> RabbitMQ partitioned by a header key (routing keys `<dest>-<p>`);
//     malformed JSON goes to the dead-letter destination with error headers and processing continues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessorConfig } from '../../processor/config';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import {
  KafkaCollector,
  kafkaProduce,
  RabbitCollector,
 
  rabbitPublish,
  useProcessorTestResources,
} from '../support/processor-harness';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const id = uniqueName('tf');

const users = [
  { id: 1, fullName: 'Ann Red', team: 'red', email: 'ann@example.com', score: 10 },
  { id: 2, fullName: 'Bob Blue', team: 'blue', email: 'bob@example.com', score: 70 },
  { id: 3, fullName: 'Cid Green', team: 'green', email: 'cid@example.com', score: 90 },
];


test('SpEL transform (tutorial 3) + output headers, partitioned Kafka output by keyExpression', async () => {
  const input = `${id}-users`;
  const output = `${id}-emails`;
  const group = `${id}-spel`;
  exchanges.push(input);
  queues.push(`${input}.${group}`);
  await resources.kafka.createTopic(output, 4);
  const config: ProcessorConfig = {
    name: 'spel', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'users', protocol: 'rabbitmq', destination: input, server: { url: rabbitUrl() } }],
    outputs: [{
      stream: 'emails', protocol: 'kafka', destination: output, server: { url: resources.kafka.bootstrap },
      partitioning: { keyExpression: "headers['team']", partitionCount: 4 },
    }],
    attributes: {
      'srp.spel.expression': "{#jsonPath(payload,'$.fullName'): #jsonPath(payload,'$.email')}",
      'srp.output.headers': 'user=header.user;team=header.team',
    },
    http: { port: 0 },
  };
  const collector = await KafkaCollector.start(resources.kafka.bootstrap, output, `${id}-c1`);
  closers.push(collector);
  const proc = await resources.startReady(config);
  await rabbitPublish(rabbitUrl(), input, users.map((u) => ({
    payload: JSON.stringify(u),
    headers: { contentType: 'application/json', user: u.fullName, team: u.team },
  })));
  await waitFor('3 transformed messages', () => collector.messages.length >= 3, 30_000, 100);
  const expectedPartition: Record<string, number> = { red: 1, blue: 2, green: 3 };
  for (const u of users) {
    const m = collector.messages.find((x) => x.headers.user === u.fullName);
    assert.ok(m, `message of ${u.fullName}`);
    assert.deepEqual(JSON.parse(m.payload), { [u.fullName]: u.email });
    assert.equal(m.headers.contentType, 'application/json');
    assert.equal(m.partition, expectedPartition[u.team]);
    assert.equal(m.headers.scst_partition, String(expectedPartition[u.team]));
    assert.ok(Number(m.headers.eventtime) > 0, 'eventtime header set');
    assert.ok(m.headers.watermark !== undefined, 'watermark header set');
  }
  assert.equal(await proc.stop(), 0);
});

test('JSONata transform + filter, header-keyed RabbitMQ partitions, malformed payloads dead-lettered', async () => {
  const input = `${id}-scores`;
  const output = `${id}-high`;
  const group = `${id}-jsonata`;
  const dlq = `${input}.${group}.dlq`;
  exchanges.push(output, dlq);
  queues.push(`${output}.p0`, `${output}.p1`, `${output}.p2`, `${dlq}.collector`);
  await resources.kafka.createTopic(input, 2);
  const config: ProcessorConfig = {
    name: 'jsonata', namespace: 'test', group, instanceIndex: 0, instanceCount: 1,
    inputs: [{ stream: 'scores', protocol: 'kafka', destination: input, server: { url: resources.kafka.bootstrap } }],
    outputs: [{
      stream: 'high', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() },
      partitioning: { keys: ['team'], partitionCount: 3 },
    }],
    deadLetter: { stream: 'dlq', protocol: 'rabbitmq', destination: dlq, server: { url: rabbitUrl() } },
    attributes: {
      'srp.filter.expression': 'score >= 50',
      'srp.jsonata.expression': '{"who": fullName, "points": score * 2}',
    },
    http: { port: 0 },
  };
  // One collector per partition queue, bound with Spring's routing key `<destination>-<partition>`.
  const partitions = await Promise.all([0, 1, 2].map((p) => RabbitCollector.start(rabbitUrl(), output, { queue: `${output}.p${p}`, bindingKey: `${output}-${p}` })));
  closers.push(...partitions);
  const dead = await RabbitCollector.start(rabbitUrl(), dlq);
  closers.push(dead);
  const proc = await resources.startReady(config);
  const records = [
    ...users.map((u) => ({ payload: JSON.stringify(u), headers: { contentType: 'application/json', team: u.team } })),
    { payload: '{"not json', headers: { contentType: 'application/json', team: 'red' } },
    { payload: JSON.stringify({ id: 4, fullName: 'Dee Red', team: 'red', score: 99 }), headers: { contentType: 'application/json', team: 'red' } },
  ];
  await kafkaProduce(resources.kafka.bootstrap, input, records.map((r) => ({ ...r, partition: 0 })));
  await waitFor('3 high scores and 1 dead letter', () => partitions.reduce((n, c) => n + c.messages.length, 0) >= 3 && dead.messages.length >= 1, 30_000, 100);
  // red -> partition 0 (Java "red".hashCode() % 3), blue and green -> 1; Ann (score 10) is filtered.
  assert.deepEqual(partitions[0].messages.map((m) => JSON.parse(m.payload)), [{ who: 'Dee Red', points: 198 }]);
  assert.deepEqual(partitions[1].messages.map((m) => JSON.parse(m.payload)).sort((a: { points: number }, b: { points: number }) => a.points - b.points), [
    { who: 'Bob Blue', points: 140 },
    { who: 'Cid Green', points: 180 },
  ]);
  assert.equal(partitions[2].messages.length, 0);
  assert.ok(partitions[0].messages.every((m) => m.routingKey === `${output}-0` && m.headers.scst_partition === '0'));
  const letter = dead.messages[0];
  assert.equal(letter.payload, '{"not json');
  assert.equal(letter.headers['x-exception-stage'], 'decode');
  assert.match(letter.headers['x-exception-message'], /not valid JSON/);
  assert.equal(letter.headers['x-original-destination'], input);
  assert.equal(letter.headers['x-original-partition'], '0');
  const metrics = await (await fetch(`${proc.debugUrl}/metrics`)).text();
  assert.match(metrics, /sr_processor_messages_filtered_total\{[^}]*\} 1/);
  assert.match(metrics, /sr_processor_messages_dead_lettered_total\{[^}]*stage="decode"[^}]*\} 1/);
  assert.equal(await proc.stop(), 0);
});
