// `sr stream publish`: messages into a Stream exactly as a Processor writing it would send them — the processors'
// own output binder (Kafka acks from all in-sync replicas; RabbitMQ publisher confirms, `mandatory`, a message no
// queue takes is an error rather than gone) and the Stream's partitioning (Spring's partition function over its
// `keys` headers or `keyExpression`, routing key `<destination>-<p>` on RabbitMQ), so partitioned readers get what
// they expect. Every message is built and its partition computed before the first is sent: a line whose partition
// key is missing fails the whole command with its line number, and nothing is published.
import type { BindingConfig, ProcessorConfig } from '../../processor/config';
import type { Message } from '../../processor/message';
import { createOutputBinder } from '../../processor/binders/factory';
import { redactServer, type OutputBinder } from '../../processor/binders/types';
import { PartitionSelector } from '../../processor/partition';
import { anyListening, brokerLog, within } from './broker-log';
import { kafkaBrokers } from '../../processor/binders/kafka';

export interface Outgoing {
  message: Message;
  partition?: number;
  /** Where it came from, for errors (`line 3 of f.jsonl`, `VALUE`). */
  origin: string;
}

/** A value's own content type when none is given: JSON when it parses (processors then read its fields), else text. */
function contentTypeOf(value: string): string {
  try {
    JSON.parse(value);
    return 'application/json';
  } catch {
    return 'text/plain';
  }
}

/** The messages for `values`, partitioned as the binding says; throws naming the value whose partition key is
 *  missing. */
export function buildMessages(binding: BindingConfig, values: Array<{ value: string; origin: string }>, opts: { key?: string; headers: Record<string, string> }): Outgoing[] {
  const selector = binding.partitioning ? new PartitionSelector(binding.partitioning) : undefined;
  return values.map(({ value, origin }) => {
    let message: Message = { payload: Buffer.from(value, 'utf8'), headers: { contentType: contentTypeOf(value), ...opts.headers } };
    if (opts.key !== undefined) message.key = Buffer.from(opts.key, 'utf8');
    if (!selector) return { message, origin };
    try {
      const assigned = selector.assign(message);
      message = assigned.message;
      return { message, partition: assigned.partition, origin };
    } catch (err) {
      const how = binding.partitioning?.keyExpression ? `keyExpression '${binding.partitioning.keyExpression}'` : `keys ${JSON.stringify(binding.partitioning?.keys ?? [])}`;
      throw new Error(`${origin}: Stream ${binding.stream} is partitioned by ${how}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

const CONNECT_TIMEOUT_MS = 20_000;

/** Sends every message and waits for the broker to confirm each; returns the count per partition. */
export async function publishAll(binding: BindingConfig, config: ProcessorConfig, messages: Outgoing[], connectTimeoutMs = CONNECT_TIMEOUT_MS): Promise<Map<number | undefined, number>> {
  const where = `${binding.protocol === 'kafka' ? 'Kafka' : 'RabbitMQ'} ${redactServer(binding.server.url)}`;
  if (binding.protocol === 'kafka') await anyListening(kafkaBrokers(binding.server), 5000, where);
  const logs = brokerLog();
  const binder: OutputBinder = createOutputBinder(binding, config, logs.log);
  try {
    await within(binder.start(), connectTimeoutMs, `cannot reach ${where}`, logs);
    const counts = new Map<number | undefined, number>();
    const results = await Promise.allSettled(messages.map((m) => binder.send(m.message, m.partition).then(() => {
      counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1);
    })));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${messages[i].origin}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    if (failed.length) {
      const others = messages.length - failed.length;
      throw new Error(`${failed.length} of ${messages.length} message(s) not taken by ${where}${others ? ` (the other ${others} were)` : ''}:\n  ${failed.slice(0, 10).join('\n  ')}`);
    }
    return counts;
  } finally {
    await binder.stop(5000).catch(() => undefined);
  }
}
