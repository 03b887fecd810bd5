// Consumer-group timing (session, heartbeat, rebalance, leader sync delay) per cluster: real Kafka gets the defaults,
// the development cluster of `sr up` (librdkafka's mock, hack/kafka-mock) the timing its coordinator needs.
import type { BrokerServer } from '../config';
import { kafkaBrokers } from './kafka-client';

/** Names the bootstrap servers of librdkafka's mock cluster (the dev Kafka of `sr up`, hack/kafka-mock): consumer
 *  groups on it get `MOCK_GROUP_TIMING`. Set by the local runtime; a binding on any other cluster is unaffected. */
export const KAFKA_MOCK_BROKERS_ENV = 'SR_KAFKA_MOCK_BROKERS';

export interface ConsumerGroupTiming {
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  /** The group leader hands in its assignment this late (see MOCK_GROUP_TIMING). */
  leaderSyncDelayMs: number;
}

/** Real Kafka: rebalances finish as soon as every member has rejoined, so the session timeout only decides how
 *  fast a dead member is noticed (10 s; brokers refuse less than group.min.session.timeout.ms, 6 s by default). */
export const DEFAULT_GROUP_TIMING: ConsumerGroupTiming = { sessionTimeout: 10_000, heartbeatInterval: 1000, rebalanceTimeout: 10_000, leaderSyncDelayMs: 0 };

/** librdkafka 2.0.2's mock coordinator (rdkafka_mock_cgrp.c) never ends a rebalance early: the first join of an
 *  empty group waits a fixed 3 s, and every later membership change waits `session timeout - 1 s`. A 4 s session
 *  timeout makes that 3 s as well (it must stay above the 3 s first-join wait, or members expire while they wait
 *  for it). The mock also completes a sync as soon as the leader's SyncGroup arrives and answers a SyncGroup that
 *  comes later with INVALID_REQUEST (a consumer crash and one more rebalance), so the leader hands in its
 *  assignment 300 ms after computing it, by which time the other members have sent theirs. */
export const MOCK_GROUP_TIMING: ConsumerGroupTiming = { sessionTimeout: 4000, heartbeatInterval: 1000, rebalanceTimeout: 4000, leaderSyncDelayMs: 300 };

/** The timing for a binding's cluster: the mock's when its brokers are among `SR_KAFKA_MOCK_BROKERS`. */
export function consumerGroupTiming(server: BrokerServer, env: NodeJS.ProcessEnv = process.env): ConsumerGroupTiming {
  const mock = new Set(kafkaBrokers({ url: env[KAFKA_MOCK_BROKERS_ENV] ?? '' }));
  return kafkaBrokers(server).some((b) => mock.has(b)) ? MOCK_GROUP_TIMING : DEFAULT_GROUP_TIMING;
}
