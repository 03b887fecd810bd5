// The one message model of the data plane, identical over Kafka and RabbitMQ: payload bytes, string headers and
// an optional key. Binders translate their broker's native form to and from this, so a Kafka -> RabbitMQ bridge keeps
// every header (contentType, eventtime, watermark and users' own).

export interface Message {
  payload: Buffer;
  /** Header values are strings, as in the original's gRPC protocol; binders stringify what the broker gives. */
  headers: Record<string, string>;
  /** Kafka record key (RabbitMQ has none; it is carried as a header there, see binders/rabbitmq.ts). */
  key?: Buffer;
  /** A Kafka tombstone: the key with a null value (an upsert sink's delete; log compaction drops the key). `payload`
   *  is then empty. RabbitMQ has no such thing: the empty body is published as it is. */
  tombstone?: boolean;
}

/** A message placed in event time, as the stateful parts of the data plane hold it (windows and their state stores):
 *  `token` is the caller's handle on the delivery (its acknowledgement), opaque to whoever keeps the event. */
export interface TimedEvent<T> {
  /** Event time, epoch ms. */
  timestamp: number;
  /** Grouping key (per-key windows); undefined = one group for all events. */
  key?: string;
  payload: Buffer;
  headers: Record<string, string>;
  token: T;
  /** The parsed payload when the caller has it, so in-process aggregation does not parse twice. */
  value?: unknown;
}

/** Header names with a meaning to the runtime. */
export const Headers = {
  contentType: 'contentType',
  eventTime: 'eventtime',
  watermark: 'watermark',
  /** Spring Cloud Stream's partition header, set on partitioned output. */
  partition: 'scst_partition',
  /** Dead letters (see processor/README.md). */
  exceptionMessage: 'x-exception-message',
  exceptionStage: 'x-exception-stage',
  originalDestination: 'x-original-destination',
  originalPartition: 'x-original-partition',
} as const;

/** Best-effort string form of a header value from either broker (numbers, Buffers, arrays, AMQP typed values). */
export function headerValueToString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) {
    const parts = value.map(headerValueToString).filter((v): v is string => v !== undefined);
    return parts.length === 1 ? parts[0] : parts.join(',');
  }
  if (value instanceof Date) return String(value.getTime());
  if (typeof value === 'object' && 'value' in value) return headerValueToString((value as { value: unknown }).value);
  return JSON.stringify(value);
}

export function copyMessage(message: Message, headers: Record<string, string> = message.headers): Message {
  const copy: Message = { payload: message.payload, headers: { ...headers } };
  if (message.key) copy.key = message.key;
  return copy;
}
