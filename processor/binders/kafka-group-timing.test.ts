// Which consumer-group timing a Kafka binding gets: the dev mock's only for brokers named in SR_KAFKA_MOCK_BROKERS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consumerGroupTiming, DEFAULT_GROUP_TIMING, KAFKA_MOCK_BROKERS_ENV, MOCK_GROUP_TIMING } from './kafka-group-timing';

test('bindings on the dev mock get its timing; every other cluster keeps the defaults', () => {
  const env = { [KAFKA_MOCK_BROKERS_ENV]: '127.0.0.1:40001,127.0.0.1:40002,127.0.0.1:40003' };
  assert.equal(consumerGroupTiming({ url: '127.0.0.1:40002' }, env), MOCK_GROUP_TIMING);
  assert.equal(consumerGroupTiming({ url: 'kafka://127.0.0.1:40001/' }, env), MOCK_GROUP_TIMING, 'URL forms are normalised');
  assert.equal(consumerGroupTiming({ url: 'kafka-0:9092,kafka-1:9092' }, env), DEFAULT_GROUP_TIMING);
  assert.equal(consumerGroupTiming({ url: '127.0.0.1:40002' }, {}), DEFAULT_GROUP_TIMING, 'nothing named: defaults');
});

test('the timings respect the brokers they are for', () => {
  // Real brokers refuse a session timeout under group.min.session.timeout.ms (6 s by default).
  assert.ok(DEFAULT_GROUP_TIMING.sessionTimeout >= 6000);
  assert.equal(DEFAULT_GROUP_TIMING.leaderSyncDelayMs, 0);
  // The mock answers a new group's first JoinGroup after 3 s and expires members on a 1 s timer: a session must
  // outlast that wait, or the members it is waiting for are dropped before it answers.
  assert.ok(MOCK_GROUP_TIMING.sessionTimeout >= 3000 + 1000);
  for (const t of [DEFAULT_GROUP_TIMING, MOCK_GROUP_TIMING]) assert.ok(t.heartbeatInterval * 3 <= t.sessionTimeout);
});
