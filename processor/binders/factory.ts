// Picks the binder implementation for a binding's protocol.
import type { Logger } from 'pino';
import type { BindingConfig, ProcessorConfig } from '../config';
import { KafkaInput, KafkaOutput } from './kafka';
import { RabbitInput, RabbitOutput } from './rabbitmq';
import type { InputBinder, OutputBinder } from './types';

export function createInputBinder(binding: BindingConfig, config: ProcessorConfig, log: Logger): InputBinder {
  const common = { binding, group: config.group, instanceIndex: config.instanceIndex, log };
  switch (binding.protocol) {
    case 'kafka':
      return new KafkaInput({ ...common, instanceCount: config.instanceCount, clientId: `${config.name}-${config.instanceIndex}` });
    case 'rabbitmq':
      return new RabbitInput(common);
    default:
      throw new Error(`input ${binding.stream}: unsupported protocol "${String(binding.protocol)}"`);
  }
}

export function createOutputBinder(binding: BindingConfig, config: ProcessorConfig, log: Logger): OutputBinder {
  switch (binding.protocol) {
    case 'kafka':
      return new KafkaOutput({ binding, log, clientId: `${config.name}-${config.instanceIndex}-out` });
    case 'rabbitmq':
      return new RabbitOutput({ binding, log });
    default:
      throw new Error(`output ${binding.stream}: unsupported protocol "${String(binding.protocol)}"`);
  }
}
