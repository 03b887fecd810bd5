// gRPC client of a user-defined function (MessagingService.requestReply): a deadline per call (srp.udf.timeout),
// retries with exponential backoff (srp.udf.maxAttempts), a fresh channel after repeated connection failures, and a
// status the runtime reports (reachable / unreachable + last error) as a Processor condition and on /debug/state.

import * as grpc from '@grpc/grpc-js';
import type { Message } from '../message';
import { messagingService, type GrpcMessage } from './proto';

export interface UdfClientOptions {
  /** host:port of the UDF. */
  address: string;
  /** Deadline of one call; default 5000. */
  timeoutMs?: number;
  /** Attempts per message before giving up; default 3. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs. Defaults 100 / 2000. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export type UdfReachability = 'unknown' | 'reachable' | 'unreachable';

export interface UdfStatus {
  address: string;
  state: UdfReachability;
  lastError?: string;
  /** Epoch ms of the last failed attempt / the last successful call. */
  lastErrorAt?: number;
  lastSuccessAt?: number;
  calls: number;
  failedCalls: number;
  retries: number;
  /** Attempts failed in a row (0 after a success). */
  consecutiveFailures: number;
  lastLatencyMs?: number;
}

/** A call failed after every attempt. The runtime dead-letters the message with this text. */
export class UdfError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    /** grpc status code name of the last attempt, e.g. UNAVAILABLE, DEADLINE_EXCEEDED. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'UdfError';
  }
}

type RequestReply = (
  request: GrpcMessage,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: GrpcMessage) => void,
) => grpc.ClientUnaryCall;

interface MessagingClient extends grpc.Client {
  requestReply: RequestReply;
}

/** After this many connection failures in a row the channel is replaced (a restarted UDF is found at once). */
const RECREATE_AFTER_FAILURES = 2;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // The UDF is a local sidecar: reconnect quickly when it comes back instead of grpc's default 1 s..120 s backoff.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

export class UdfClient {
  private client: MessagingClient;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly state: UdfStatus;
  private connectionFailures = 0;
  private closed = false;

  constructor(private readonly options: UdfClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.state = { address: options.address, state: 'unknown', calls: 0, failedCalls: 0, retries: 0, consecutiveFailures: 0 };
    this.client = this.createClient();
  }

  private createClient(): MessagingClient {
    const { client: Client } = messagingService();
    return new Client(this.options.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as MessagingClient;
  }

  status(): UdfStatus {
    return { ...this.state };
  }

  /** Sends one message and returns the reply; retries per the options; throws UdfError after the last attempt. */
  async requestReply(message: Message): Promise<Message> {
    if (this.closed) throw new UdfError('UDF client is closed', 0, 'CANCELLED');
    this.state.calls++;
    let lastError: grpc.ServiceError | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) {
        this.state.retries++;
        await delay(Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 2)));
        if (this.closed) break;
      }
      const started = performance.now();
      try {
        const reply = await this.call({ payload: message.payload, headers: message.headers });
        this.state.lastLatencyMs = performance.now() - started;
        this.state.state = 'reachable';
        this.state.lastSuccessAt = Date.now();
        this.state.consecutiveFailures = 0;
        this.connectionFailures = 0;
        return { payload: Buffer.from(reply.payload ?? Buffer.alloc(0)), headers: { ...(reply.headers ?? {}) } };
      } catch (error: unknown) {
        lastError = error as grpc.ServiceError;
        this.recordFailure(lastError);
      }
    }
    this.state.failedCalls++;
    const code = lastError ? codeName(lastError.code) : 'CANCELLED';
    throw new UdfError(
      `UDF at ${this.options.address} failed after ${this.maxAttempts} attempt(s): ${code}: ${lastError?.details || lastError?.message || 'closed'}`,
      this.maxAttempts,
      code,
    );
  }

  private call(request: GrpcMessage): Promise<GrpcMessage> {
    return new Promise((resolve, reject) => {
      this.client.requestReply(request, { deadline: Date.now() + this.timeoutMs }, (error, response) => {
        if (error) reject(error);
        else resolve(response ?? { payload: Buffer.alloc(0), headers: {} });
      });
    });
  }

  private recordFailure(error: grpc.ServiceError): void {
    this.state.consecutiveFailures++;
    this.state.lastError = `${codeName(error.code)}: ${error.details || error.message}`;
    this.state.lastErrorAt = Date.now();
    // The function answering with an error still means the UDF is reachable.
    const connectionProblem = error.code === grpc.status.UNAVAILABLE || error.code === grpc.status.DEADLINE_EXCEEDED;
    this.state.state = connectionProblem ? 'unreachable' : 'reachable';
    if (error.code === grpc.status.UNAVAILABLE && ++this.connectionFailures >= RECREATE_AFTER_FAILURES && !this.closed) {
      this.connectionFailures = 0;
      this.client.close();
      this.client = this.createClient();
    }
  }

  /** Resolves once a connection is established (or rejects after `timeoutMs`). Calls do not need it. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }
}

function codeName(code: number | undefined): string {
  if (code === undefined) return 'UNKNOWN';
  return (grpc.status as unknown as Record<number, string>)[code] ?? `CODE_${code}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
