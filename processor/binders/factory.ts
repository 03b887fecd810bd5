// Picks the binder implementation for a binding's protocol.
import type { Logger } from 'pino';
import type { BindingConfig, ProcessorConfig } from '../config';
import { KafkaInput, KafkaOutput } from './kafka';
import { RabbitInput, RabbitOutput } from './rabbitmq';
import type { InputBinder, OutputBinder } from './types';

/** The consumer group of a Kafka input: the processor's group, as in the original — unless the processor reads
 *  several Kafka topics. Then each input's consumer is a member of a group of its own (`<group>.<topic>`): members of
 *  one group with different subscriptions never settle with kafkajs (its assigners hand every member partitions of
 *  every topic any member subscribed to, and the members rejoin forever). */
export function kafkaGroupOf(binding: BindingConfig, config: ProcessorConfig): string {
  const kafkaInputs = config.inputs.filter((i) => i.protocol === 'kafka');
  const distinctTopics = new Set(kafkaInputs.map((i) => i.destination));
  return distinctTopics.size > 1 ? `${config.group}.${binding.destination}` : config.group;
}

export function createInputBinder(binding: BindingConfig, config: ProcessorConfig, log: Logger): InputBinder {
  const group = binding.protocol === 'kafka' ? kafkaGroupOf(binding, config) : config.group;
  const common = { binding, group, instanceIndex: config.instanceIndex, log };
  switch (binding.protocol) {
    case 'kafka':
      return new KafkaInput({ ...common, instanceCount: config.instanceCount, clientId: `${config.name}-${config.instanceIndex}` });
    case 'rabbitmq':
      return new RabbitInput({ ...common, instanceCount: config.instanceCount });
    default:
      throw new Error(`input ${binding.stream}: unsupported protocol "${String(binding.protocol)}"`);
  }
}

/** What an output binder is for: a data output, the late side channel, or the dead-letter destination. */
export type OutputRole = 'output' | 'late' | 'dead-letter';

export function createOutputBinder(binding: BindingConfig, config: ProcessorConfig, log: Logger, role: OutputRole = 'output'): OutputBinder {
  // Dead letters have nowhere further to go: they are retried until the broker takes them. Side channels without
  // consumer groups keep what they receive in a queue of their own (RabbitMQ; a Kafka topic keeps it anyway).
  const sideChannel = role !== 'output';
  const retainQueue = sideChannel && (binding.requiredGroups ?? []).length === 0;
  switch (binding.protocol) {
    case 'kafka':
      return new KafkaOutput({
        binding, log, clientId: `${config.name}-${config.instanceIndex}-out`,
        ...(role === 'dead-letter' ? { permanentErrorAttempts: Infinity } : {}),
      });
    case 'rabbitmq':
      return new RabbitOutput({ binding, log, retainQueue, ...(role === 'dead-letter' ? { unroutableAttempts: Infinity } : {}) });
    default:
      throw new Error(`output ${binding.stream}: unsupported protocol "${String(binding.protocol)}"`);
  }
}
