// The Kafka binder (kafkajs): its public surface, for factory.ts, the CLI (`sr stream tail|publish`) and tests.
// One concern per module: the client (kafka-client.ts), consumer-group timing per cluster (kafka-group-timing.ts),
// partition assignment (kafka-assigner.ts), the input (kafka-input.ts) and the output (kafka-output.ts).
export { kafkaBrokers, kafkaClient } from './kafka-client';
export { consumerGroupTiming, DEFAULT_GROUP_TIMING, KAFKA_MOCK_BROKERS_ENV, MOCK_GROUP_TIMING, type ConsumerGroupTiming } from './kafka-group-timing';
export { instancePartitionAssigner } from './kafka-assigner';
export { DEFAULT_MAX_IN_FLIGHT, KafkaInput, toMessage, type KafkaInputOptions } from './kafka-input';
export {
  DEFAULT_PERMANENT_ERROR_ATTEMPTS,
  KafkaOutput,
  PERMANENT_PRODUCE_ERRORS,
  permanentProduceError,
  type KafkaOutputOptions,
} from './kafka-output';
