import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners, type Message as KafkaRecord, type PartitionMetadata, type RecordMetadata } from 'kafkajs';
import { pinningPartitioner, splitAcknowledged } from './produce-confirmation';

const partitionMetadata: PartitionMetadata[] = [0, 1, 2].map((partitionId) => ({
  partitionErrorCode: 0, partitionId, leader: partitionId + 1, replicas: [partitionId + 1], isr: [partitionId + 1],
}));

test('an unkeyed record keeps its first partition on every attempt (kafkajs alone moves it round-robin)', () => {
  const record: KafkaRecord = { value: 'v' };
  const plain = Partitioners.DefaultPartitioner();
  const unpinned = [1, 2, 3].map(() => plain({ topic: 't', partitionMetadata, message: { value: 'v' } }));
  assert.equal(new Set(unpinned).size, 3, 'precondition: the default partitioner places each attempt elsewhere');

  const partition = pinningPartitioner();
  const first = partition({ topic: 't', partitionMetadata, message: record });
  assert.equal(record.partition, first, 'the choice is written into the record');
  for (let attempt = 0; attempt < 5; attempt++) assert.equal(partition({ topic: 't', partitionMetadata, message: record }), first);
  // A fresh partitioner (a new producer after a restart of the binder) still sends it to the same partition.
  assert.equal(pinningPartitioner()({ topic: 't', partitionMetadata, message: record }), first);
});

test('keyed and explicitly partitioned records go where kafkajs would send them', () => {
  const plain = Partitioners.DefaultPartitioner();
  const partition = pinningPartitioner();
  for (const key of ['a', 'user-17', 'zz']) {
    const expected = plain({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
    const record: KafkaRecord = { key, value: 'v' };
    assert.equal(partition({ topic: 't', partitionMetadata, message: record }), expected);
    assert.equal(record.partition, expected);
  }
  assert.equal(partition({ topic: 't', partitionMetadata, message: { key: 'a', value: 'v', partition: 2 } }), 2);
});

test('a record is confirmed only when the answer names its partition without an error', () => {
  const records: KafkaRecord[] = [
    { value: 'a', partition: 0 },
    { value: 'b', partition: 1 },
    { value: 'c', partition: 2 },
    { value: 'd', partition: 0 },
    { value: 'e' },
  ];
  const answer: RecordMetadata[] = [
    { topicName: 't', partition: 0, errorCode: 0, baseOffset: '7' },
    { topicName: 't', partition: 2, errorCode: 6 },
    { topicName: 'other', partition: 1, errorCode: 0 },
  ];
  const { confirmed, unconfirmed } = splitAcknowledged(records, (r) => r, 't', answer);
  assert.deepEqual(confirmed.map((r) => r.value), ['a', 'd']);
  assert.deepEqual(unconfirmed.map((r) => r.value), ['b', 'c', 'e'], 'missing partition, error code, another topic, never placed');
  assert.deepEqual(splitAcknowledged(records, (r) => r, 't', []).confirmed, [], 'an empty answer confirms nothing');
});
