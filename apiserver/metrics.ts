// Prometheus metrics with kube-apiserver's names: requests by verb/resource/code, request latency, open watches,
// etcd latency, writes per etcd transaction. One registry per server (tests start several in one process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface RequestLabels {
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  scope: string;
  code: string;
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<keyof RequestLabels>;
  readonly latency: Histogram<'verb' | 'group' | 'version' | 'resource' | 'subresource' | 'scope'>;
  readonly longRunning: Gauge<'verb' | 'group' | 'version' | 'resource' | 'scope'>;
  readonly registeredWatchers: Gauge<'group' | 'kind'>;
  readonly terminatedWatchers: Counter<'group' | 'resource'>;
  readonly etcdLatency: Histogram<'operation' | 'type'>;
  readonly etcdErrors: Counter<'operation'>;
  readonly etcdWritesPerTxn: Histogram;

  constructor() {
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, version, resource, scope and HTTP response code.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource and scope.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.longRunning = new Gauge({
      name: 'apiserver_longrunning_requests',
      help: 'Gauge of all active long-running apiserver requests (watches) broken out by verb, group, version, resource and scope.',
      labelNames: ['verb', 'group', 'version', 'resource', 'scope'],
      registers: [this.registry],
    });
    this.registeredWatchers = new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Number of currently registered watchers for a given resource.',
      labelNames: ['group', 'kind'],
      registers: [this.registry],
    });
    this.terminatedWatchers = new Counter({
      name: 'apiserver_terminated_watchers_total',
      help: 'Counter of watchers closed due to unresponsiveness (their client did not read fast enough).',
      labelNames: ['group', 'resource'],
      registers: [this.registry],
    });
    this.etcdLatency = new Histogram({
      name: 'etcd_request_duration_seconds',
      help: 'Etcd request latency in seconds for each operation and object type.',
      labelNames: ['operation', 'type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.etcdErrors = new Counter({
      name: 'etcd_request_errors_total',
      help: 'Etcd failed request counts for each operation.',
      labelNames: ['operation'],
      registers: [this.registry],
    });
    this.etcdWritesPerTxn = new Histogram({
      name: 'etcd_writes_per_transaction',
      help: 'Writes carried by each etcd write transaction (more than 1 when concurrent writes were coalesced).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
