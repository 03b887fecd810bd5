// RabbitMQ for tests: the machine's node at 127.0.0.1:5672 (guest/guest), or RABBITMQ_URL.
import { randomBytes } from 'node:crypto';

export function rabbitUrl(): string {
  return process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
}

/** A name no other test run uses, for exchanges, queues and topics. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
