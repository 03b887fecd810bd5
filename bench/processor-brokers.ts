// Broker benchmarks of the processor (at-least-once bridge), each against a raw client pipe with the same
// acknowledgement and confirm settings on the same broker, measured in the same run:
//   RabbitMQ -> processor -> RabbitMQ   vs   raw amqplib consume -> publish (confirm) -> ack    (target >= 0.8x)
//   Kafka    -> processor -> Kafka      vs   raw kafkajs eachBatch -> send(acks -1) -> commit    (target >= 0.8x)
//   Kafka    -> streaming SQL processor (a filter and a projection every row passes) -> Kafka, same raw pipe
//                                                                                                  (target >= 0.8x)
// Throughput = messages confirmed on the output per second, from connecting to the last confirm; best of the rounds
// (the machine is shared, so single runs are noisy).
import * as amqp from 'amqplib';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import pino from 'pino';
import type { ProcessorConfig } from '../processor/config';
import { ProcessorRuntime } from '../processor/pipeline/runtime';
import { SqlProcessorRuntime } from '../processor/sql-runtime/runtime';
import type { SqlTable, TableColumn } from '../crds/sql/table';
import { startKafka, type KafkaHandle } from '../test/support/kafka';
import { rabbitUrl, uniqueName } from '../test/support/rabbitmq';

const PREFETCH = 500;
const RABBIT_N = Number(process.env.BENCH_RABBIT_N ?? 20_000);
const KAFKA_N = Number(process.env.BENCH_KAFKA_N ?? 50_000);
const silent = pino({ level: 'silent' });

function payload(i: number): Buffer {
  return Buffer.from(JSON.stringify({ id: i, fullName: `User ${i}`, team: ['red', 'blue', 'green'][i % 3], email: `u${i}@example.com`, score: i % 100, score_time: Date.now() }));
}

async function waitUntil(probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ------------------------------------------------------------------ RabbitMQ

async function rabbitPrefill(url: string, input: string, group: string, output: string, n: number): Promise<void> {
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(input, 'topic', { durable: true });
  await channel.assertQueue(`${input}.${group}`, { durable: true });
  await channel.bindQueue(`${input}.${group}`, input, '#');
  await channel.assertExchange(output, 'topic', { durable: true });
  await channel.assertQueue(`${output}.sink`, { durable: true });
  await channel.bindQueue(`${output}.sink`, output, '#');
  for (let i = 0; i < n; i++) {
    if (!channel.publish(input, input, payload(i), { persistent: true, contentType: 'application/json', headers: { contentType: 'application/json', 'x-seq': String(i) } })) {
      await new Promise((r) => channel.once('drain', r));
    }
  }
  await channel.waitForConfirms();
  await connection.close();
}

async function rabbitCleanupAll(url: string, input: string, group: string, output: string): Promise<void> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.deleteQueue(`${input}.${group}`);
  await channel.deleteQueue(`${output}.sink`);
  await channel.deleteQueue(`${input}.${group}.dlq.${group}`).catch(() => undefined);
  await channel.deleteExchange(input);
  await channel.deleteExchange(output);
  await connection.close().catch(() => undefined);
}

/** The raw pipe: consume (manual ack, prefetch) -> publish on a confirm channel -> ack when confirmed. */
async function rawRabbitPipe(url: string, input: string, group: string, output: string, n: number): Promise<number> {
  // Like the processor's figure, this one includes connecting.
  const started = performance.now();
  const consumerConnection = await amqp.connect(url);
  const publisherConnection = await amqp.connect(url);
  const consumer = await consumerConnection.createChannel();
  await consumer.prefetch(PREFETCH);
  const publisher = await publisherConnection.createConfirmChannel();
  let confirmed = 0;
  await consumer.consume(`${input}.${group}`, (msg) => {
    if (!msg) return;
    publisher.publish(output, output, msg.content, { persistent: true, contentType: msg.properties.contentType as string, headers: msg.properties.headers }, (err) => {
      if (err) return;
      confirmed++;
      consumer.ack(msg);
    });
  });
  await waitUntil(() => confirmed >= n, 120_000);
  const seconds = (performance.now() - started) / 1000;
  await consumerConnection.close();
  await publisherConnection.close();
  return n / seconds;
}

function confirmedOut(runtime: ProcessorRuntime | SqlProcessorRuntime): number {
  let total = 0;
  // prom-client counters: read the hashMap of label values without serialising the registry.
  const values = (runtime.metrics.messagesOut as unknown as { hashMap: Record<string, { value: number }> }).hashMap;
  for (const entry of Object.values(values)) total += entry.value;
  return total;
}

async function processorPipe(config: ProcessorConfig, n: number): Promise<number> {
  const runtime = config.sql ? new SqlProcessorRuntime(config, silent) : new ProcessorRuntime(config, silent);
  const started = performance.now();
  await runtime.start();
  await waitUntil(() => confirmedOut(runtime) >= n, 120_000);
  const seconds = (performance.now() - started) / 1000;
  await runtime.stop();
  return n / seconds;
}

async function benchRabbit(): Promise<{ raw: number; processor: number }> {
  const url = rabbitUrl();
  const best = { raw: 0, processor: 0 };
  for (let round = 0; round < 3; round++) {
    for (const variant of ['raw', 'processor'] as const) {
      const input = uniqueName('bench-rin');
      const output = uniqueName('bench-rout');
      const group = 'bench';
      await rabbitPrefill(url, input, group, output, RABBIT_N);
      const cpuBefore = process.cpuUsage();
      const rate = variant === 'raw'
        ? await rawRabbitPipe(url, input, group, output, RABBIT_N)
        : await processorPipe({
          name: 'bench', namespace: 'bench', group, instanceIndex: 0, instanceCount: 1,
          inputs: [{ stream: 'in', protocol: 'rabbitmq', destination: input, server: { url }, prefetch: PREFETCH }],
          outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: output, server: { url } }],
          attributes: { 'srp.lateEventMode': 'UPSERT' },
          http: { port: 0 },
        }, RABBIT_N);
      const cpu = process.cpuUsage(cpuBefore);
      await rabbitCleanupAll(url, input, group, output);
      process.stdout.write(`  rabbitmq ${variant.padEnd(9)} round ${round + 1}: ${Math.round(rate)} msg/s, ${((cpu.user + cpu.system) / RABBIT_N).toFixed(1)} µs CPU/msg\n`);
      best[variant] = Math.max(best[variant], rate);
    }
  }
  return best;
}

// ------------------------------------------------------------------ Kafka

async function kafkaPrefill(kafka: KafkaHandle, input: string, n: number): Promise<void> {
  const client = new Kafka({ brokers: kafka.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < n; i += 1000) {
    await producer.send({
      topic: input,
      acks: -1,
      messages: Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ value: payload(i + j), partition: (i + j) % 4, headers: { contentType: 'application/json' } })),
    });
  }
  await producer.disconnect();
}

/** The raw pipe: eachBatch -> one send of the whole batch with acks -1 -> resolve offsets (committed by kafkajs). */
async function rawKafkaPipe(bootstrap: string, input: string, output: string, n: number): Promise<number> {
  const started = performance.now();
  const client = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: false });
  const consumer = client.consumer({ groupId: uniqueName('raw'), maxWaitTimeInMs: 100 });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  let confirmed = 0;
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      await producer.send({ topic: output, acks: -1, messages: batch.messages.map((m) => ({ value: m.value, key: m.key, headers: m.headers })) });
      confirmed += batch.messages.length;
      resolveOffset(batch.messages[batch.messages.length - 1].offset);
      await heartbeat();
    },
  });
  await waitUntil(() => confirmed >= n, 120_000);
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return n / seconds;
}

/** The payload's fields as a table (what a Stream's dataSchemaContext gives the SQL processor). */
function usersTable(stream: string, name: string, fields: [string, TableColumn['type']['name']][]): SqlTable {
  return {
    name, stream, valueFormat: 'json', upsert: false, startupMode: 'earliest-offset', options: {},
    columns: fields.map(([column, type]) => ({ name: column, type: { name: type, nullable: true }, source: 'payload' })),
  };
}

const SQL_INPUT = usersTable('in', 'Users', [['id', 'BIGINT'], ['fullName', 'STRING'], ['team', 'STRING'], ['email', 'STRING'], ['score', 'INT'], ['score_time', 'BIGINT']]);
const SQL_OUTPUT = usersTable('out', 'Scores', [['id', 'BIGINT'], ['fullName', 'STRING'], ['team', 'STRING'], ['score', 'INT']]);
const SQL_STATEMENT = 'INSERT INTO [[STREAM:out]] SELECT id, fullName, team, score FROM [[STREAM:in]] WHERE score >= 0';

async function benchKafka(): Promise<{ raw: number; processor: number; sql: number }> {
  const kafka = await startKafka({ brokers: 1 });
  const best = { raw: 0, processor: 0, sql: 0 };
  try {
    for (let round = 0; round < 2; round++) {
      for (const variant of ['raw', 'processor', 'sql'] as const) {
        const input = uniqueName('bench-kin');
        const output = uniqueName('bench-kout');
        await kafka.createTopic(input, 4);
        await kafka.createTopic(output, 4);
        await kafkaPrefill(kafka, input, KAFKA_N);
        const cpuBefore = process.cpuUsage();
        const rate = variant === 'raw'
          ? await rawKafkaPipe(kafka.bootstrap, input, output, KAFKA_N)
          : await processorPipe({
            name: 'bench', namespace: 'bench', group: uniqueName('proc'), instanceIndex: 0, instanceCount: 1,
            inputs: [{ stream: 'in', protocol: 'kafka', destination: input, server: { url: kafka.bootstrap }, prefetch: 5000 }],
            outputs: [{ stream: 'out', protocol: 'kafka', destination: output, server: { url: kafka.bootstrap } }],
            attributes: variant === 'sql' ? {} : { 'srp.lateEventMode': 'UPSERT' },
            http: { port: 0 },
            ...(variant === 'sql' ? { sql: { statements: [SQL_STATEMENT], tables: [SQL_INPUT, SQL_OUTPUT] } } : {}),
          }, KAFKA_N);
        const cpu = process.cpuUsage(cpuBefore);
        process.stdout.write(`  kafka    ${variant.padEnd(9)} round ${round + 1}: ${Math.round(rate)} msg/s, ${((cpu.user + cpu.system) / KAFKA_N).toFixed(1)} µs CPU/msg\n`);
        best[variant] = Math.max(best[variant], rate);
      }
    }
  } finally {
    await kafka.stop();
  }
  return best;
}

async function main(): Promise<void> {
  process.stdout.write(`processor broker benchmarks (rabbitmq ${RABBIT_N} msgs, prefetch ${PREFETCH}; kafka ${KAFKA_N} msgs, 4 partitions)\n`);
  const rabbit = await benchRabbit();
  process.stdout.write(`rabbitmq: raw ${Math.round(rabbit.raw)} msg/s, processor ${Math.round(rabbit.processor)} msg/s, ratio ${(rabbit.processor / rabbit.raw).toFixed(2)}x (target >= 0.8x)\n`);
  const kafka = await benchKafka();
  process.stdout.write(`kafka:    raw ${Math.round(kafka.raw)} msg/s, processor ${Math.round(kafka.processor)} msg/s, ratio ${(kafka.processor / kafka.raw).toFixed(2)}x (target >= 0.8x)\n`);
  process.stdout.write(`kafka sql: raw ${Math.round(kafka.raw)} msg/s, SQL processor ${Math.round(kafka.sql)} msg/s, ratio ${(kafka.sql / kafka.raw).toFixed(2)}x (target >= 0.8x)\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
