// The kafkajs client every Kafka consumer and producer of a binding is made from (brokers, timeouts, retry policy,
// SASL credentials, logging), and the life cycle both share: the first connect retried until the brokers answer, the
// disconnect bounded because kafkajs may never finish it.
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaBrokers as brokerList } from '../../crds/addresses';
import type { BrokerServer } from '../config';

/** How long a consumer or producer may take to disconnect before it is left behind. */
export const DISCONNECT_TIMEOUT_MS = 5000;

/** Waits for `work`, but no longer than `ms` (then calls `onTimeout` and returns). */
export async function withDeadline(work: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => { timer = setTimeout(() => resolve('expired'), ms); });
  try {
    if ((await Promise.race([work, expired])) === 'expired') onTimeout();
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `connect` until it succeeds (backoff from 100 ms, doubling up to 5 s): a processor may start before its
 *  brokers. After a failure, `failed` hears of it, or the wait ends (false) when `stopped()` says so. */
export async function untilConnected(connect: () => Promise<void>, stopped: () => boolean, failed: (err: unknown) => void): Promise<boolean> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await connect();
      return true;
    } catch (err) {
      if (stopped()) return false;
      failed(err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** The bootstrap brokers of a binding's server (crds/addresses.ts: the controllers read addresses the same way). */
export function kafkaBrokers(server: BrokerServer): string[] {
  return brokerList(server.url);
}

export function kafkaClient(server: BrokerServer, clientId: string, log: Logger): Kafka {
  const config: KafkaConfig = {
    clientId,
    brokers: kafkaBrokers(server),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 30 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      // kafkajs is chatty about retriable conditions we already handle; keep them at debug.
      log.debug({ kafka: entry.namespace, ...entry.log }, entry.log.message);
    },
  };
  if (server.credentials) {
    config.sasl = { mechanism: 'plain', username: server.credentials.username, password: server.credentials.password };
  }
  return new Kafka(config);
}
