// The seams between the pipeline and a broker. One implementation of each per broker (kafka.ts, rabbitmq.ts).
import type { Message } from '../message';
import type { BindingConfig } from '../config';
import { redactCredentials } from '../../crds/addresses';

/** One message received from an input, with the means to acknowledge it once everything it caused is confirmed. */
export interface InboundDelivery {
  message: Message;
  /** The broker partition it came from (Kafka partition; RabbitMQ: the instance's partition, or -1 unpartitioned). */
  partition: number;
  /** The broker's timestamp of the record, epoch ms (Kafka record timestamp; RabbitMQ: the `timestamp` property when
   *  set). Streaming SQL reads it as the `metadata.from: timestamp` column. */
  timestamp?: number;
  /** Kafka: the record's offset in its partition (with `partition`, the record's identity). */
  offset?: string;
  /** Settles the message at the broker (RabbitMQ basic.ack, Kafka offset eligible for commit). Idempotent. */
  ack(): void;
}

export type DeliveryHandler = (delivery: InboundDelivery) => void;

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/** What /debug/state shows about a binder: never credentials. */
export interface BinderStatus {
  stream: string;
  protocol: 'kafka' | 'rabbitmq';
  destination: string;
  /** Server address with any userinfo removed. */
  server: string;
  state: ConnectionState;
  lastError?: string;
  /** Messages handed to the pipeline and not yet acknowledged (inputs), or sent and not yet confirmed (outputs). */
  inFlight: number;
  detail?: Record<string, unknown>;
}

export interface InputBinder {
  /** Starts consuming; every message goes to `handler`. Resolves once the first connection is established. */
  start(handler: DeliveryHandler): Promise<void>;
  /** Stops fetching new messages (in-flight ones may still be acknowledged). */
  pause(): void;
  resume(): void;
  /** Stops consuming and closes; unacknowledged messages are left for redelivery. */
  stop(): Promise<void>;
  status(): BinderStatus;
}

export interface OutputBinder {
  start(): Promise<void>;
  /** Resolves once the broker confirmed the message (RabbitMQ publisher confirm, Kafka acks=-1). Retries across
   *  reconnects until confirmed or the binder is stopped (then rejects). Rejects with UndeliverableError when the
   *  broker keeps refusing the message itself (unroutable, too large, ...) after a bounded number of attempts. */
  send(message: Message, partition?: number): Promise<void>;
  /** Waits for unconfirmed sends (bounded by `timeoutMs`), then closes. */
  stop(timeoutMs?: number): Promise<void>;
  status(): BinderStatus;
  /** A /readyz reason while the broker refuses messages (returned, too large, ...), else undefined. */
  deliveryProblem?(): string | undefined;
}

/** The server address without credentials, for logs and debug output. */
/** The status every binder reports: the binding's identity (server redacted) plus its live state. */
export function binderStatus(
  binding: BindingConfig,
  live: { state: ConnectionState; inFlight: number; lastError?: string; detail?: Record<string, unknown> },
): BinderStatus {
  const status: BinderStatus = {
    stream: binding.stream,
    protocol: binding.protocol,
    destination: binding.destination,
    server: redactServer(binding.server.url),
    state: live.state,
    inFlight: live.inFlight,
  };
  if (live.detail) status.detail = live.detail;
  if (live.lastError) status.lastError = live.lastError;
  return status;
}

/** The `/readyz` line of a binder that is not connected (undefined when it is). */
export function connectionProblem(direction: 'input' | 'output', status: BinderStatus): string | undefined {
  if (status.state === 'connected') return undefined;
  return `${direction} ${status.stream}: ${status.state}${status.lastError ? ` (${status.lastError})` : ''}`;
}

/** A server address as it may be shown (logs, /readyz, /debug/state): without user info (crds/addresses.ts). */
export const redactServer = redactCredentials;

/**
 * A message the broker will never take as it is (RabbitMQ: returned as unroutable, after the attempts; Kafka: a
 * non-retriable produce error such as MESSAGE_TOO_LARGE, after the attempts). The pipeline dead-letters the input
 * that caused it (stage `produce`) instead of retrying forever (which stalls the input) or acknowledging it
 * (which loses it). Outputs reject with it; a stopping output rejects with a plain Error instead (redelivery).
 */
export class UndeliverableError extends Error {
  readonly stage = 'produce';
  constructor(
    message: string,
    /** Metric label: `unroutable`, or the Kafka error type (e.g. `MESSAGE_TOO_LARGE`). */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'UndeliverableError';
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
