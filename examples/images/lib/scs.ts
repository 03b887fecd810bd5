// A small Spring Cloud Stream binder for the stream applications re-implemented here (time-source, log-sink,
// transform-processor), driven by the environment the Streaming Runtime gives SCS containers (controllers/workload.ts
// scsEnvironment, the original's contract):
//   SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION / _GROUP / _CONSUMER_PARTITIONED, SPRING_CLOUD_STREAM_INSTANCECOUNT
//   / _INSTANCEINDEX, SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION / _PRODUCER_PARTITIONKEYEXPRESSION /
//   _PRODUCER_PARTITIONCOUNT / _PRODUCER_REQUIREDGROUPS, SPRING_CLOUD_STREAM_DEFAULTBINDER (kafka | rabbit),
//   SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS or SPRING_KAFKA_BOOTSTRAP_SERVERS, SPRING_RABBITMQ_HOST / _PORT /
//   _USERNAME / _PASSWORD / _VIRTUAL_HOST.
// Spring Cloud Stream's conventions, as the SRP processor's binders follow them too (processor/README.md, Binders):
// Kafka: consumer group = the binding's group (from the earliest offset), else an anonymous group reading from the
// latest; partitions spread by the group (Spring's autoRebalanceEnabled default). RabbitMQ: a durable topic exchange
// per destination; queue `<destination>.<group>` bound with `#` (partitioned: `<destination>.<group>-<index>` bound
// with `<destination>-<index>`), anonymous groups get an exclusive auto-delete queue; producers route with the
// destination (partitioned: `<destination>-<partition>`). Partitioned output: partition = |hashCode(key)| % count,
// the key from SpEL over the outbound message, header `scst_partition`, as Spring's DefaultPartitionSelector.
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { compileSpel, type CompiledSpel } from '../../../processor/expressions';
import { selectPartition } from '../../../processor/partition';
import { SpringProperties } from './spring';

export interface ScsMessage {
  payload: Buffer;
  headers: Record<string, string>;
}

export interface Binder {
  /** Consumes the input binding; the handler's promise settles before the message is acknowledged. */
  consume(handler: (message: ScsMessage) => Promise<void> | void): Promise<void>;
  /** Sends to the output binding (resolves when the broker confirmed). */
  send(message: ScsMessage): Promise<void>;
  close(): Promise<void>;
  /** Where the bindings point, for the start-up log line (no credentials). */
  describe(): string;
}

interface Bindings {
  input?: { destination: string; group?: string; partitioned: boolean; instanceIndex: number; instanceCount: number };
  output?: { destination: string; keyExpression?: CompiledSpel; partitionCount: number; requiredGroups: string[] };
}

function bindings(props: SpringProperties): Bindings {
  const result: Bindings = {};
  const input = props.get('spring.cloud.stream.bindings.input.destination');
  if (input) {
    result.input = {
      destination: input,
      ...(props.get('spring.cloud.stream.bindings.input.group') ? { group: props.get('spring.cloud.stream.bindings.input.group') } : {}),
      partitioned: props.bool('spring.cloud.stream.bindings.input.consumer.partitioned', false),
      instanceIndex: props.int('spring.cloud.stream.bindings.input.consumer.instance-index') ?? props.int('spring.cloud.stream.instance-index') ?? 0,
      instanceCount: props.int('spring.cloud.stream.bindings.input.consumer.instance-count') ?? props.int('spring.cloud.stream.instance-count') ?? 1,
    };
  }
  const output = props.get('spring.cloud.stream.bindings.output.destination');
  if (output) {
    const expression = props.get('spring.cloud.stream.bindings.output.producer.partition-key-expression');
    const count = props.int('spring.cloud.stream.bindings.output.producer.partition-count') ?? 1;
    result.output = {
      destination: output,
      // The runtime writes the original's `new String(payload).field` (the payload is bytes in Java); here the payload
      // already is the parsed JSON or text, so `new String(payload)` is just `payload`.
      ...(expression ? { keyExpression: compileSpel(expression.replace(/new\s+String\(\s*payload\s*\)/g, 'payload')) } : {}),
      partitionCount: count,
      requiredGroups: props.list('spring.cloud.stream.bindings.output.producer.required-groups'),
    };
  }
  return result;
}

/** The partition of an outbound message, or undefined when the output is not partitioned. */
function partitionOf(out: NonNullable<Bindings['output']>, message: ScsMessage): number | undefined {
  if (!out.keyExpression || out.partitionCount < 2) return undefined;
  const text = message.payload.toString('utf8');
  let payload: unknown = text;
  if (/json/i.test(message.headers.contentType ?? '')) {
    try { payload = JSON.parse(text) as unknown; } catch { payload = text; }
  }
  const key = out.keyExpression.evaluate({ payload, headers: message.headers });
  if (key === null || key === undefined) throw new Error('Partition key cannot be null');
  return selectPartition(typeof key === 'string' ? key : JSON.stringify(key), out.partitionCount);
}

class KafkaBinder implements Binder {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;

  constructor(private readonly brokers: string[], private readonly b: Bindings, clientId: string) {
    this.kafka = new Kafka({ clientId, brokers, logLevel: logLevel.WARN, retry: { retries: 10 } });
  }

  describe(): string {
    return `kafka ${this.brokers.join(',')}: input ${this.b.input ? `${this.b.input.destination} (group ${this.b.input.group ?? 'anonymous'})` : '-'}, output ${this.b.output?.destination ?? '-'}`;
  }

  async consume(handler: (message: ScsMessage) => Promise<void> | void): Promise<void> {
    const input = this.b.input;
    if (!input) throw new Error('no input binding: SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION is not set');
    const group = input.group ?? `anonymous.${randomUUID()}`;
    // Short fetch waits so records move promptly; 10 s sessions as the processor uses on real Kafka.
    this.consumer = this.kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [input.destination], fromBeginning: input.group !== undefined });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
        // Kafka commits after eachMessage returns: a message is acknowledged once handled.
        await handler({ payload: message.value ?? Buffer.alloc(0), headers });
      },
    });
  }

  async send(message: ScsMessage): Promise<void> {
    const out = this.b.output;
    if (!out) throw new Error('no output binding: SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION is not set');
    if (!this.producer) {
      this.producer = this.kafka.producer({ allowAutoTopicCreation: true });
      await this.producer.connect();
      if (out.keyExpression) out.partitionCount = await this.partitionsToUse(out.destination, out.partitionCount);
    }
    const partition = partitionOf(out, message);
    const headers = partition === undefined ? message.headers : { ...message.headers, scst_partition: String(partition) };
    await this.producer.send({ topic: out.destination, acks: -1, messages: [{ value: message.payload, headers, ...(partition === undefined ? {} : { partition }) }] });
  }

  /**
   * The partition count of a partitioned output: the topic's own count. Spring's Kafka binder creates a missing topic
   * with partitionCount partitions and uses the topic's count when it is larger; when it is smaller Spring refuses to
   * start (unless partitions can be added), which on a dev cluster that cannot grow topics would leave the sample
   * dead: here it warns and uses the partitions that exist.
   */
  private async partitionsToUse(topic: string, wanted: number): Promise<number> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: wanted }] }).catch(() => false);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const actual = metadata.topics[0]?.partitions.length ?? 0;
      if (actual === 0) return wanted;
      if (actual < wanted) console.warn(`topic ${topic} has ${actual} partition(s), fewer than partitionCount ${wanted}: using ${actual}`);
      return actual;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }
}

class RabbitBinder implements Binder {
  private connection: amqp.ChannelModel | undefined;
  private opening: Promise<amqp.ConfirmChannel> | undefined;
  private closing = false;
  /** The output exchange (and required groups' queues) are declared once, before the first publish. */
  private declared = false;

  constructor(private readonly url: string, private readonly shownUrl: string, private readonly b: Bindings) {}

  describe(): string {
    return `rabbit ${this.shownUrl}: input ${this.b.input ? `${this.b.input.destination} (group ${this.b.input.group ?? 'anonymous'})` : '-'}, output ${this.b.output?.destination ?? '-'}`;
  }

  /** One connection and confirm channel, opened by whichever of consume/send comes first. */
  private open(): Promise<amqp.ConfirmChannel> {
    this.opening ??= (async () => {
      this.connection = await amqp.connect(this.url);
      // A lost connection ends the application; the runtime restarts it (as a container would be).
      this.connection.on('close', () => { if (!this.closing) { console.error('RabbitMQ connection closed'); process.exit(1); } });
      return this.connection.createConfirmChannel();
    })();
    return this.opening;
  }

  async consume(handler: (message: ScsMessage) => Promise<void> | void): Promise<void> {
    const input = this.b.input;
    if (!input) throw new Error('no input binding: SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION is not set');
    const ch = await this.open();
    await ch.assertExchange(input.destination, 'topic', { durable: true });
    let queue: string;
    if (input.group) {
      const suffix = input.partitioned ? `-${input.instanceIndex}` : '';
      queue = `${input.destination}.${input.group}${suffix}`;
      await ch.assertQueue(queue, { durable: true });
      await ch.bindQueue(queue, input.destination, input.partitioned ? `${input.destination}-${input.instanceIndex}` : '#');
    } else {
      queue = (await ch.assertQueue(`${input.destination}.anonymous.${randomUUID()}`, { exclusive: true, autoDelete: true, durable: false })).queue;
      await ch.bindQueue(queue, input.destination, input.partitioned ? `${input.destination}-${input.instanceIndex}` : '#');
    }
    await ch.prefetch(100);
    await ch.consume(queue, (m) => {
      if (!m) return;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((m.properties.headers ?? {}) as Record<string, unknown>)) {
        if (v !== undefined && v !== null) headers[k] = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'object' ? JSON.stringify(v) : String(v);
      }
      if (m.properties.contentType && !headers.contentType) headers.contentType = String(m.properties.contentType);
      Promise.resolve().then(() => handler({ payload: m.content, headers })).then(
        () => ch.ack(m),
        (err: unknown) => { console.error(`handler failed: ${err instanceof Error ? err.message : String(err)}`); ch.nack(m, false, false); },
      );
    });
  }

  async send(message: ScsMessage): Promise<void> {
    const out = this.b.output;
    if (!out) throw new Error('no output binding: SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION is not set');
    const ch = await this.open();
    if (!this.declared) {
      await ch.assertExchange(out.destination, 'topic', { durable: true });
      for (const group of out.requiredGroups) {
        await ch.assertQueue(`${out.destination}.${group}`, { durable: true });
        await ch.bindQueue(`${out.destination}.${group}`, out.destination, '#');
      }
      this.declared = true;
    }
    const partition = partitionOf(out, message);
    const headers = partition === undefined ? message.headers : { ...message.headers, scst_partition: String(partition) };
    const routingKey = partition === undefined ? out.destination : `${out.destination}-${partition}`;
    await new Promise<void>((resolve, reject) => {
      ch.publish(out.destination, routingKey, message.payload, { headers, persistent: true, ...(headers.contentType ? { contentType: headers.contentType } : {}) },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.connection?.close().catch(() => undefined);
  }
}

/** The binder the environment asks for (SPRING_CLOUD_STREAM_DEFAULTBINDER, else whichever broker is configured). */
export function binderFromEnvironment(props: SpringProperties, clientId: string): Binder {
  const b = bindings(props);
  const kafkaBrokers = props.get('spring.cloud.stream.kafka.binder.brokers') ?? props.get('spring.kafka.bootstrap-servers');
  const rabbitHost = props.get('spring.rabbitmq.host');
  const wanted = props.get('spring.cloud.stream.default-binder') ?? (kafkaBrokers ? 'kafka' : rabbitHost ? 'rabbit' : 'kafka');
  if (wanted === 'kafka') {
    return new KafkaBinder((kafkaBrokers ?? 'localhost:9092').split(',').map((s) => s.trim()).filter(Boolean), b, clientId);
  }
  if (wanted !== 'rabbit' && wanted !== 'rabbitmq') throw new Error(`unknown binder "${wanted}" (kafka or rabbit)`);
  const host = rabbitHost ?? 'localhost';
  const port = props.get('spring.rabbitmq.port') ?? '5672';
  const user = props.get('spring.rabbitmq.username') ?? 'guest';
  const password = props.get('spring.rabbitmq.password') ?? 'guest';
  const vhost = props.get('spring.rabbitmq.virtual-host');
  const path = vhost ? `/${encodeURIComponent(vhost)}` : '';
  return new RabbitBinder(`amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}${path}`, `amqp://${host}:${port}${path}`, b);
}

/** Closes the binder on SIGTERM / SIGINT and exits 0 (the runtime stops containers with SIGTERM). */
export function closeOnSignal(binder: Binder, also?: () => void): void {
  const stop = (): void => {
    also?.();
    void binder.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
