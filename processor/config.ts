// The processor's configuration contract: everything one SRP instance needs, resolved by the controllers
// (or written by hand for debugging). The processor never reads the Kubernetes API; this is its only input.
// Documented in processor/README.md. The control plane may import this file (and only this file) from processor/.

import type { Protocol } from '../crds/types';

/** How an instance finds its configuration: `sr processor --config FILE`, or this environment variable (JSON). */
export const PROCESSOR_CONFIG_ENV = 'SR_PROCESSOR_CONFIG';

export interface BrokerServer {
  /** Kafka: comma-separated bootstrap servers `host:port,...`. RabbitMQ: an AMQP URL `amqp://host:port[/vhost]`. */
  url: string;
  /** From the Secret named by the Stream's `binding`; never logged, never exposed on debug endpoints. */
  credentials?: { username: string; password: string };
}

export interface OutputPartitioning {
  /** Header names whose values form the partition key (Stream spec.keys). */
  keys?: string[];
  /** SpEL expression over the outbound message (Stream spec.keyExpression), e.g. `payload.team`. */
  keyExpression?: string;
  partitionCount: number;
}

export interface TimeAttributeConfig {
  /** Field (payload JSON path, without `$.`) that carries the event time. */
  field: string;
  /** Watermark expression from the Stream schema, e.g. "`score_time` - INTERVAL '2' SECOND". */
  watermark?: string;
}

export interface BindingConfig {
  /** The Stream's metadata.name (for logs, metrics and debug output). */
  stream: string;
  protocol: Protocol;
  /** Kafka topic or RabbitMQ exchange (the Stream's spec.name). */
  destination: string;
  server: BrokerServer;
  /** Outputs only: how messages are spread over partitions. Absent = unpartitioned. */
  partitioning?: OutputPartitioning;
  /** Inputs only: the input is partitioned, so this instance consumes only its own partitions. */
  partitioned?: boolean;
  /** Inputs only: event-time attribute derived from the input Stream's dataSchemaContext. */
  timeAttribute?: TimeAttributeConfig;
  /** Content type of the data (e.g. application/json), from the Stream's schema context. */
  contentType?: string;
}

export interface UdfConfig {
  /** host:port of the user-defined function's gRPC MessagingService. */
  address: string;
  /** Per-call deadline; default 5000. */
  timeoutMs?: number;
  /** Attempts before a message is dead-lettered; default 3. */
  maxAttempts?: number;
}

export interface ProcessorConfig {
  /** Identity of the Processor resource (logs, metrics, headers). */
  name: string;
  namespace: string;
  /** Consumer group / queue group: the Processor's name, as in the original. */
  group: string;
  instanceIndex: number;
  instanceCount: number;
  /** Every input is consumed. */
  inputs: BindingConfig[];
  /** Every output is produced to. */
  outputs: BindingConfig[];
  /** Late events in SIDE_CHANNEL mode go here: a destination of their own. */
  lateOutput?: BindingConfig;
  /** Messages that fail (bad payload, UDF failure after retries) go here with the error in headers. */
  deadLetter?: BindingConfig;
  /** The Processor's `srp.*` attributes, verbatim (window, lateness, SpEL, headers, ...). */
  attributes: Record<string, string>;
  /** Absent, or `srp.skipUdf=true`: no UDF is called. */
  udf?: UdfConfig;
  /** The debug/metrics HTTP endpoint. Port 0 picks a free one (logged at start). */
  http: { host?: string; port: number };
}
