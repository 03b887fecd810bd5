// A Kafka-protocol cluster for tests: hack/bin/kafka-mock (librdkafka's mock cluster) on loopback, or a real
// Kafka when KAFKA_BROKERS is set. The mock has no CreateTopics API, so topics are pre-created through its
// control port; against real Kafka, createTopic uses the kafkajs admin client.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';

export interface KafkaHandle {
  /** Comma-separated bootstrap servers. */
  bootstrap: string;
  /** The mock's control address (absent against a real Kafka). */
  control?: string;
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Fault injection (mock only). */
  brokerDown(brokerId: number): Promise<void>;
  brokerUp(brokerId: number): Promise<void>;
  /** Moves a partition's leadership to another broker, as a failover does (mock only). */
  partitionLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  /** The next `count` Produce requests (any client) fail with Kafka error `code`, e.g. 10 MESSAGE_TOO_LARGE (mock
   *  only: it enforces no size limit of its own). */
  produceErrors(count: number, code: number): Promise<void>;
  clearProduceErrors(): Promise<void>;
  stop(): Promise<void>;
}

export const KAFKA_MOCK_BINARY = resolve(__dirname, '..', '..', '..', 'hack', 'bin', 'kafka-mock');

/** Sends one control command to a kafka-mock and resolves with its one-line answer. */
export function kafkaMockCommand(control: string, line: string): Promise<string> {
  const [host, port] = control.split(':');
  return new Promise((res, rej) => {
    const sock = connect(Number(port), host, () => sock.write(line + '\n'));
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { sock.end(); res(buf.slice(0, nl)); }
    });
    sock.on('error', rej);
  });
}

export async function startKafka(opts: { brokers?: number } = {}): Promise<KafkaHandle> {
  const external = process.env.KAFKA_BROKERS;
  if (external) {
    const kafka = new Kafka({ brokers: external.split(','), logLevel: logLevel.NOTHING });
    return {
      bootstrap: external,
      createTopic: async (topic, partitions) => {
        const admin = kafka.admin();
        await admin.connect();
        try { await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true }); }
        finally { await admin.disconnect(); }
      },
      brokerDown: async () => { throw new Error('broker fault injection needs the kafka-mock cluster'); },
      brokerUp: async () => { throw new Error('broker fault injection needs the kafka-mock cluster'); },
      partitionLeader: async () => { throw new Error('moving a partition leader needs the kafka-mock cluster'); },
      produceErrors: async () => { throw new Error('injecting produce errors needs the kafka-mock cluster'); },
      clearProduceErrors: async () => undefined,
      stop: async () => undefined,
    };
  }
  const proc: ChildProcess = spawn(KAFKA_MOCK_BINARY, ['--brokers', String(opts.brokers ?? 3)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((res, rej) => {
    proc.once('error', rej);
    proc.once('exit', (code) => rej(new Error(`kafka-mock exited (${code}); run hack/setup.sh`)));
    createInterface({ input: proc.stdout! }).once('line', res);
  });
  const { bootstrap, control } = JSON.parse(first) as { bootstrap: string; control: string };
  const command = async (line: string): Promise<void> => {
    const answer = await kafkaMockCommand(control, line);
    if (answer !== 'ok') throw new Error(`kafka-mock ${line}: ${answer}`);
  };
  return {
    bootstrap,
    control,
    createTopic: (topic, partitions) => command(`create ${topic} ${partitions}`),
    brokerDown: (id) => command(`down ${id}`),
    brokerUp: (id) => command(`up ${id}`),
    partitionLeader: (topic, partition, id) => command(`leader ${topic} ${partition} ${id}`),
    produceErrors: (count, code) => command(`produce-errors ${count} ${code}`),
    clearProduceErrors: () => command('clear-produce-errors'),
    stop: async () => {
      if (proc.exitCode !== null) return;
      await new Promise<void>((r) => { proc.once('exit', () => r()); proc.stdin?.end(); proc.kill('SIGTERM'); });
    },
  };
}
