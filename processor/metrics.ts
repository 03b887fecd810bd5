// Prometheus metrics of one processor instance (served on /metrics by debug/server.ts). A registry of its own, so
// tests can run several pipelines in one process without clashing on the global registry.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ProcessorMetrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'input'>;
  readonly messagesOut: Counter<'output'>;
  readonly late: Counter<'input' | 'action'>;
  readonly dropped: Counter<'input' | 'reason'>;
  readonly filtered: Counter<'input'>;
  readonly deadLettered: Counter<'input' | 'stage'>;
  readonly undeliverable: Counter<'output' | 'reason'>;
  readonly udfLatency: Histogram<'outcome'>;
  readonly udfErrors: Counter;
  readonly watermarkLag: Gauge;
  readonly openWindows: Gauge;
  readonly stateSize: Gauge;
  readonly stateLimitReached: Counter;
  readonly inFlight: Gauge<'input'>;
  readonly binderConnected: Gauge<'binding' | 'direction'>;

  constructor(labels: { processor: string; namespace: string; instance: string }, withDefaults = false) {
    this.registry.setDefaultLabels(labels);
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'sr_processor_' });
    const registers = [this.registry];
    this.messagesIn = new Counter({ name: 'sr_processor_messages_in_total', help: 'Messages received, by input stream', labelNames: ['input'], registers });
    this.messagesOut = new Counter({ name: 'sr_processor_messages_out_total', help: 'Messages confirmed by the broker, by output stream', labelNames: ['output'], registers });
    this.late = new Counter({ name: 'sr_processor_messages_late_total', help: 'Late events, by input and what was done (dropped, upserted, side_channel, passed)', labelNames: ['input', 'action'], registers });
    this.dropped = new Counter({ name: 'sr_processor_messages_dropped_total', help: 'Messages deliberately not produced (late DROP mode), by input and reason', labelNames: ['input', 'reason'], registers });
    this.filtered = new Counter({ name: 'sr_processor_messages_filtered_total', help: 'Messages removed by srp.filter.expression', labelNames: ['input'], registers });
    this.deadLettered = new Counter({ name: 'sr_processor_messages_dead_lettered_total', help: 'Messages sent to the dead-letter destination, by input and failing stage', labelNames: ['input', 'stage'], registers });
    this.undeliverable = new Counter({ name: 'sr_processor_messages_undeliverable_total', help: 'Messages an output gave up on because the broker refuses them (reason: unroutable, or the Kafka error, e.g. MESSAGE_TOO_LARGE); their inputs are dead-lettered (stage produce)', labelNames: ['output', 'reason'], registers });
    this.udfLatency = new Histogram({
      name: 'sr_processor_udf_latency_seconds',
      help: 'Latency of UDF requestReply calls (including retries)',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.udfErrors = new Counter({ name: 'sr_processor_udf_errors_total', help: 'UDF calls that failed after all attempts', registers });
    this.watermarkLag = new Gauge({ name: 'sr_processor_watermark_lag_seconds', help: 'Wall clock minus the current (minimum) watermark', registers });
    this.openWindows = new Gauge({ name: 'sr_processor_open_windows', help: 'Windows open (not yet released)', registers });
    this.stateSize = new Gauge({ name: 'sr_processor_window_state_events', help: 'Events buffered in open windows', registers });
    this.stateLimitReached = new Counter({ name: 'sr_processor_window_state_limit_reached_total', help: 'Times srp.window.maxState was reached (the inputs pause until windows are released)', registers });
    this.inFlight = new Gauge({ name: 'sr_processor_in_flight', help: 'Input messages received and not yet acknowledged', labelNames: ['input'], registers });
    this.binderConnected = new Gauge({ name: 'sr_processor_binder_connected', help: '1 when the binder is connected to its broker', labelNames: ['binding', 'direction'], registers });
  }
}
