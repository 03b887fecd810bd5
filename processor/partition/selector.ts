// Spring Cloud Stream's output partitioning, exactly:
//   DefaultPartitionSelector: h = key.hashCode(); if (h == Integer.MIN_VALUE) h = 0; return Math.abs(h);
//   PartitionHandler:         return Math.abs(selected % partitionCount);
// so partition = |hashCode(key)| % partitionCount, with Integer.MIN_VALUE mapped to partition 0.
// The key comes from the Stream's `keys` (header values) or its `keyExpression` (SpEL over the outbound message).

import type { OutputPartitioning } from '../config';
import { compileSpel, type CompiledSpel } from '../expressions/spel';
import { payloadView } from '../expressions/payload';
import { Headers, type Message } from '../message';
import { javaHashCode } from './java-hash';

const INT_MIN = -2147483648;

/** Partition of an already extracted key, as Spring Cloud Stream computes it. */
export function selectPartition(key: unknown, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`);
  }
  let hash = javaHashCode(key);
  if (hash === INT_MIN) hash = 0;
  return Math.abs(Math.abs(hash) % partitionCount);
}

/** The partition key is missing for a message (Spring: "Partition key cannot be null"): dead-letter it. */
export class PartitionKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartitionKeyError';
  }
}

export class PartitionSelector {
  readonly partitionCount: number;
  private readonly keys: readonly string[];
  private readonly keyExpression: CompiledSpel | undefined;

  /** Throws when neither keys nor keyExpression is given, or the expression is outside the SpEL subset. */
  constructor(partitioning: OutputPartitioning) {
    this.partitionCount = partitioning.partitionCount;
    this.keys = partitioning.keys ?? [];
    const expression = partitioning.keyExpression?.trim();
    this.keyExpression = expression ? compileSpel(expression) : undefined;
    if (!this.keyExpression && this.keys.length === 0) {
      throw new Error('partitioned output needs keys or a keyExpression');
    }
    if (!Number.isInteger(this.partitionCount) || this.partitionCount < 1) {
      throw new Error(`partitionCount must be a positive integer, got ${this.partitionCount}`);
    }
  }

  /**
   * The key of an outbound message: the keyExpression's value, else the header named by the single key, else the
   * list of the keys' header values (hashed like a java.util.List, as the SpEL `{headers['a'], headers['b']}` would).
   */
  keyOf(message: Message): unknown {
    return this.keyOfView(() => payloadView(message.payload, message.headers.contentType), message.headers);
  }

  /** The same for a payload already seen as expressions see it (`payload()` is asked only by a keyExpression):
   *  a SQL result row, whose columns need no round trip through bytes. */
  keyOfView(payload: () => unknown, headers: Record<string, string>): unknown {
    let key: unknown;
    if (this.keyExpression) {
      key = this.keyExpression.evaluate({ payload: payload(), headers });
      if (key === null || key === undefined) {
        throw new PartitionKeyError(`partition key is null: keyExpression '${this.keyExpression.source}' gave no value`);
      }
      return key;
    }
    const values = this.keys.map((name) => headers[name]);
    const missing = this.keys.filter((_, i) => values[i] === undefined);
    if (missing.length === this.keys.length) {
      throw new PartitionKeyError(`partition key is null: the message has no header ${missing.map((m) => `'${m}'`).join(', ')}`);
    }
    key = this.keys.length === 1 ? values[0] : values.map((v) => v ?? null);
    return key;
  }

  /** The partition for a message; throws PartitionKeyError (or a SpEL evaluation error) when it has no key. */
  partitionOf(message: Message): number {
    return selectPartition(this.keyOf(message), this.partitionCount);
  }

  /** Returns the message with the `scst_partition` header set, and the partition. */
  assign(message: Message): { message: Message; partition: number } {
    const partition = this.partitionOf(message);
    const out: Message = { payload: message.payload, headers: { ...message.headers, [Headers.partition]: String(partition) } };
    if (message.key) out.key = message.key;
    return { message: out, partition };
  }
}

/** Kafka partitioned input: this instance consumes partition p when p % instanceCount == instanceIndex. */
export function ownsPartition(partition: number, instanceCount: number, instanceIndex: number): boolean {
  if (instanceCount <= 1) return true;
  return partition % instanceCount === instanceIndex;
}

/** The partitions of a topic with `partitionCount` partitions that one instance consumes. */
export function assignedPartitions(partitionCount: number, instanceCount: number, instanceIndex: number): number[] {
  const owned: number[] = [];
  for (let p = 0; p < partitionCount; p++) if (ownsPartition(p, instanceCount, instanceIndex)) owned.push(p);
  return owned;
}
