// One self-healing AMQP connection: connects, hands each new connection to `onConnected` (which declares topology
// and starts consuming or publishing), and when the connection drops reconnects with exponential backoff. Inputs and
// outputs each own one, so a blocked publisher never stalls consumer acks.
import * as amqp from 'amqplib';
import type { Logger } from 'pino';
import type { BrokerServer } from '../config';
import { errorText, type ConnectionState } from './types';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5000 };

/** amqp URL with the configured credentials (if any) filled in. */
export function amqpUrl(server: BrokerServer): string {
  if (!server.credentials) return server.url;
  const url = new URL(server.url);
  url.username = encodeURIComponent(server.credentials.username);
  url.password = encodeURIComponent(server.credentials.password);
  return url.toString();
}

export class RabbitConnection {
  state: ConnectionState = 'connecting';
  lastError: string | undefined;
  connects = 0;
  private connection: amqp.ChannelModel | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private firstConnected: { promise: Promise<void>; resolve: () => void };

  constructor(
    private readonly server: BrokerServer,
    private readonly log: Logger,
    private readonly onConnected: (connection: amqp.ChannelModel) => Promise<void>,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    this.delayMs = backoff.initialMs;
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((r) => { resolve = r; });
    this.firstConnected = { promise, resolve };
  }

  /** Starts connecting; resolves once connected the first time (retrying forever until then, or until close()). */
  open(): Promise<void> {
    void this.attempt();
    return this.firstConnected.promise;
  }

  private async attempt(): Promise<void> {
    if (this.stopping) return;
    let connection: amqp.ChannelModel | undefined;
    try {
      connection = await amqp.connect(amqpUrl(this.server), { timeout: 10_000 });
      connection.on('error', (err: unknown) => { this.lastError = errorText(err); });
      connection.on('close', () => this.lost(connection));
      this.connection = connection;
      await this.onConnected(connection);
      this.state = 'connected';
      this.connects++;
      this.delayMs = this.backoff.initialMs;
      this.lastError = undefined;
      this.firstConnected.resolve();
    } catch (err) {
      this.lastError = errorText(err);
      this.log.warn({ err: this.lastError }, 'rabbitmq connection attempt failed');
      if (connection) {
        // Topology or channel setup failed on a live connection: drop it; its close event schedules the retry.
        await connection.close().catch(() => this.lost(connection));
        return;
      }
      this.schedule();
    }
  }

  private lost(connection: amqp.ChannelModel | undefined): void {
    if (connection !== this.connection) return; // an older connection closing late
    this.connection = undefined;
    if (this.stopping) return;
    this.state = 'reconnecting';
    this.log.warn({ err: this.lastError }, 'rabbitmq connection lost; reconnecting');
    this.schedule();
  }

  private schedule(): void {
    if (this.stopping || this.timer) return;
    this.state = this.connects > 0 ? 'reconnecting' : 'connecting';
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.backoff.maxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, delay);
  }

  /** Forces a reconnect (e.g. after a channel error that left the connection up). */
  async recycle(): Promise<void> {
    const connection = this.connection;
    if (connection) await connection.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await connection.close().catch(() => undefined);
  }
}
