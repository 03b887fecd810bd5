// Helpers for the processor's end-to-end tests: run `node dist/cli/sr.js processor` as a child process, publish to
// and collect from RabbitMQ exchanges and Kafka topics.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import * as amqp from 'amqplib';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import type { ProcessorConfig } from '../../processor/config';
import { after, before } from 'node:test';
import { startKafka, type KafkaHandle } from './kafka';
import { rabbitUrl } from './rabbitmq';
import { tempDir } from './tmp';
import { waitFor } from './ports';

export const SR_CLI = resolve(__dirname, '..', '..', 'cli', 'sr.js');

export interface ReceivedMessage {
  payload: string;
  headers: Record<string, string>;
  routingKey?: string;
  partition?: number;
  key?: string;
}

export interface ProcessorProcess {
  debugPort: number;
  debugUrl: string;
  proc: ChildProcess;
  stderr(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash). */
  kill(): Promise<void>;
}

export async function startProcessor(config: ProcessorConfig, opts: { logLevel?: string } = {}): Promise<ProcessorProcess> {
  const dir = tempDir('sr-proc-');
  const file = join(dir.path, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const proc = spawn(process.execPath, [SR_CLI, 'processor', '--config', file, '--log-level', opts.logLevel ?? 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
    if (process.env.SR_TEST_VERBOSE) process.stderr.write(d);
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => { dir.remove(); r(code); }));
  const debugPort = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`processor did not start: ${stderr}`)), 30_000);
    void exited.then((code) => rej(new Error(`processor exited (${code}): ${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; debugPort?: number };
        if (event.event === 'listening' && event.debugPort) { clearTimeout(timer); res(event.debugPort); }
      } catch { /* not ours */ }
    });
  });
  return {
    debugPort,
    debugUrl: `http://127.0.0.1:${debugPort}`,
    proc,
    stderr: () => stderr,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitReady(debugUrl: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${debugUrl}/readyz`, async () => (await fetch(`${debugUrl}/readyz`)).status === 200, timeoutMs, 100);
}

/** Consumes a RabbitMQ exchange through a group queue (declared like the processor would) and records messages. */
export class RabbitCollector {
  readonly messages: ReceivedMessage[] = [];
  private connection: amqp.ChannelModel | undefined;

  static async start(url: string, exchange: string, opts: { queue?: string; bindingKey?: string } = {}): Promise<RabbitCollector> {
    const collector = new RabbitCollector();
    const connection = await amqp.connect(url);
    collector.connection = connection;
    const channel = await connection.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const queue = opts.queue ?? `${exchange}.collector`;
    await channel.assertQueue(queue, { durable: false, autoDelete: false });
    await channel.bindQueue(queue, exchange, opts.bindingKey ?? '#');
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((msg.properties.headers ?? {}) as Record<string, unknown>)) headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
      collector.messages.push({ payload: msg.content.toString(), headers, routingKey: msg.fields.routingKey });
    }, { noAck: true });
    return collector;
  }

  async close(deleteQueues: string[] = []): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    try {
      const channel = await connection.createChannel();
      for (const q of deleteQueues) await channel.deleteQueue(q).catch(() => undefined);
    } catch { /* broker gone */ }
    await connection.close().catch(() => undefined);
  }
}

/** Publishes to a RabbitMQ exchange with publisher confirms. */
export async function rabbitPublish(
  url: string,
  exchange: string,
  messages: Array<{ payload: string | Buffer; headers?: Record<string, string>; routingKey?: string }>,
): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    for (const m of messages) {
      const options: amqp.Options.Publish = { headers: m.headers ?? {}, persistent: true };
      if (m.headers?.contentType) options.contentType = m.headers.contentType;
      if (!channel.publish(exchange, m.routingKey ?? exchange, Buffer.isBuffer(m.payload) ? m.payload : Buffer.from(m.payload), options)) {
        await new Promise((r) => channel.once('drain', r));
      }
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Deletes exchanges and queues a test created (best effort). */
export async function rabbitCleanup(url: string, exchanges: string[], queues: string[]): Promise<void> {
  const connection = await amqp.connect(url).catch(() => undefined);
  if (!connection) return;
  try {
    for (const q of queues) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(q).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const e of exchanges) {
      const channel = await connection.createChannel();
      await channel.deleteExchange(e).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export function kafkaClientFor(bootstrap: string): Kafka {
  return new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 } });
}

export async function kafkaProduce(
  bootstrap: string,
  topic: string,
  messages: Array<{ payload: string; headers?: Record<string, string>; key?: string; partition?: number }>,
): Promise<void> {
  const producer: Producer = kafkaClientFor(bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(i, i + 500).map((m) => {
          const record: { value: string; headers?: Record<string, string>; key?: string; partition?: number } = { value: m.payload };
          if (m.headers) record.headers = m.headers;
          if (m.key !== undefined) record.key = m.key;
          if (m.partition !== undefined) record.partition = m.partition;
          return record;
        }),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Reads a Kafka topic from the beginning with its own group and records messages. */
/** A Kafka record as received: `payload` as text, `value` as the bytes (Avro and other binary payloads). */
export interface ReceivedKafkaMessage extends ReceivedMessage {
  value: Buffer;
}

export class KafkaCollector {
  readonly messages: ReceivedKafkaMessage[] = [];
  private consumer: Consumer | undefined;

  static async start(bootstrap: string, topic: string, group: string): Promise<KafkaCollector> {
    const collector = new KafkaCollector();
    const consumer = kafkaClientFor(bootstrap).consumer({ groupId: group, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 1000 });
    collector.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        const value = message.value ?? Buffer.alloc(0);
        const received: ReceivedKafkaMessage = { payload: value.toString(), value, headers, partition };
        if (message.key) received.key = message.key.toString();
        collector.messages.push(received);
      },
    });
    return collector;
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/** Counts of each distinct payload: for loss / duplicate accounting. */
export function countPayloads(messages: ReceivedMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.payload, (counts.get(m.payload) ?? 0) + 1);
  return counts;
}

/** What one processor test file starts (a Kafka-protocol cluster, processors, collectors) and the RabbitMQ
 *  exchanges and queues it declares; `useProcessorTestResources` registers the before/after hooks that start and
 *  clean them up. */
export interface ProcessorTestResources {
  kafka: KafkaHandle;
  processes: ProcessorProcess[];
  closers: Array<{ close(): Promise<void> }>;
  exchanges: string[];
  queues: string[];
  /** Starts a processor (killed after the file, if still running) and waits until it is ready. */
  startReady(config: ProcessorConfig): Promise<ProcessorProcess>;
}

export function useProcessorTestResources(): ProcessorTestResources {
  const resources: Omit<ProcessorTestResources, 'kafka'> & { kafka?: KafkaHandle } = {
    processes: [],
    closers: [],
    exchanges: [],
    queues: [],
    async startReady(config) {
      const proc = await startProcessor(config);
      resources.processes.push(proc);
      await waitReady(proc.debugUrl);
      return proc;
    },
  };
  before(async () => {
    resources.kafka = await startKafka();
  });
  after(async () => {
    for (const p of resources.processes) await p.kill();
    for (const c of resources.closers) await c.close();
    await resources.kafka?.stop();
    await rabbitCleanup(rabbitUrl(), resources.exchanges, resources.queues);
  });
  return resources as ProcessorTestResources;
}
