// RabbitMQ for tests: the machine's node at 127.0.0.1:5672 (guest/guest), or RABBITMQ_URL.
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';

export function rabbitUrl(): string {
  return process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
}

/** A name no other test run uses, for exchanges, queues and topics. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A message read back from a queue: its body as text and its headers as strings. */
export interface QueuedMessage { payload: string; headers: Record<string, string> }

/** Reads every message waiting in a queue (basic.get), acknowledging them: dead letters, side channels. */
export async function drainQueue(queue: string, url = rabbitUrl()): Promise<QueuedMessage[]> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const out: QueuedMessage[] = [];
    for (;;) {
      const msg = await channel.get(queue, { noAck: true });
      if (!msg) return out;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((msg.properties.headers ?? {}) as Record<string, unknown>)) headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
      out.push({ payload: msg.content.toString(), headers });
    }
  } finally {
    await connection.close();
  }
}
