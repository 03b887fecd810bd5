import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../message';
import { javaHashCode, javaStringHashCode } from './java-hash';
import { assignedPartitions, ownsPartition, PartitionKeyError, PartitionSelector, selectPartition } from './selector';

// Expected values computed with OpenJDK 17 jshell (String/Double/Long/List/Map hashCode, and Spring's selector).

test('java String.hashCode with int overflow', () => {
  assert.equal(javaStringHashCode('red'), 112785);
  assert.equal(javaStringHashCode('blue'), 3027034);
  assert.equal(javaStringHashCode('green'), 98619139);
  assert.equal(javaStringHashCode(''), 0);
  assert.equal(javaStringHashCode('user-42'), -147182656);
  assert.equal(javaStringHashCode('zzzzzzzzzz'), -1580979136);
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
  assert.equal(javaStringHashCode('héllo wörld ✓'), 1283059084);
});

test('hashCode of the Java types JSON values become', () => {
  assert.equal(javaHashCode(42), 42);
  assert.equal(javaHashCode(-7), -7);
  assert.equal(javaHashCode(2147483648), -2147483648, 'Long');
  assert.equal(javaHashCode(-5000000000), 705032702, 'Long');
  assert.equal(javaHashCode(1.5), 1073217536, 'Double');
  assert.equal(javaHashCode(-0.1), 639631363, 'Double');
  assert.equal(javaHashCode(true), 1231);
  assert.equal(javaHashCode(false), 1237);
  assert.equal(javaHashCode(null), 0);
  assert.equal(javaHashCode(['a', 'b']), 4066, 'List.of("a","b")');
  assert.equal(javaHashCode({ a: 1 }), 96, 'Map.of("a",1)');
});

test('Spring Cloud Stream partition selection, including negative hashes and Integer.MIN_VALUE', () => {
  const expected: Array<[string, number, number]> = [
    ['red', 0, 0],
    ['blue', 1, 4],
    ['green', 1, 4],
    ['user-42', 1, 1],
    ['zzzzzzzzzz', 1, 1],
    ['polygenelubricants', 0, 0],
  ];
  for (const [key, of3, of5] of expected) {
    assert.equal(selectPartition(key, 3), of3, `${key} % 3`);
    assert.equal(selectPartition(key, 5), of5, `${key} % 5`);
  }
  assert.throws(() => selectPartition('x', 0), RangeError);
});

function message(payload: unknown, headers: Record<string, string> = { contentType: 'application/json' }): Message {
  return { payload: Buffer.from(JSON.stringify(payload)), headers };
}

test('keyExpression over the outbound message (tutorial 5: payload.team, 3 partitions)', () => {
  const selector = new PartitionSelector({ keyExpression: 'payload.team', partitionCount: 3 });
  assert.equal(selector.partitionOf(message({ team: 'red' })), 0);
  assert.equal(selector.partitionOf(message({ team: 'blue' })), 1);
  const assigned = selector.assign(message({ team: 'green' }, { contentType: 'application/json', a: 'b' }));
  assert.equal(assigned.partition, 1);
  assert.deepEqual(assigned.message.headers, { contentType: 'application/json', a: 'b', scst_partition: '1' });
  assert.throws(() => selector.partitionOf(message({ team: null })), PartitionKeyError);
  const whole = new PartitionSelector({ keyExpression: 'payload', partitionCount: 5 });
  assert.equal(whole.partitionOf({ payload: Buffer.from('blue'), headers: { contentType: 'text/plain' } }), 4);
});

test('header keys: one key is the header value; several form a list key', () => {
  const single = new PartitionSelector({ keys: ['team'], partitionCount: 5 });
  assert.equal(single.partitionOf({ payload: Buffer.from('x'), headers: { team: 'blue' } }), 4);
  assert.throws(() => single.partitionOf({ payload: Buffer.from('x'), headers: {} }), /no header 'team'/);
  const pair = new PartitionSelector({ keys: ['a', 'b'], partitionCount: 7 });
  assert.deepEqual(pair.keyOf({ payload: Buffer.alloc(0), headers: { a: 'a', b: 'b' } }), ['a', 'b']);
  assert.equal(pair.partitionOf({ payload: Buffer.alloc(0), headers: { a: 'a', b: 'b' } }), 4066 % 7);
  assert.throws(() => new PartitionSelector({ partitionCount: 3 }), /keys or a keyExpression/);
  assert.throws(() => new PartitionSelector({ keyExpression: 'T(x)', partitionCount: 3 }), /type references/);
});

test('consumer partition assignment p % instanceCount == instanceIndex', () => {
  assert.deepEqual(assignedPartitions(5, 2, 0), [0, 2, 4]);
  assert.deepEqual(assignedPartitions(5, 2, 1), [1, 3]);
  assert.deepEqual(assignedPartitions(3, 3, 2), [2]);
  assert.deepEqual(assignedPartitions(2, 3, 2), []);
  assert.deepEqual(assignedPartitions(3, 1, 0), [0, 1, 2]);
  assert.equal(ownsPartition(7, 3, 1), true);
  assert.equal(ownsPartition(7, 3, 0), false);
});
