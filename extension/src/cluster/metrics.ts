// Throughput for the topology's edges from the processors' Prometheus metrics
// (`sr_processor_messages_in_total{input}` and `sr_processor_messages_out_total{output}`, see processor/metrics.ts).
// Counters of all instances are summed; rates are the difference of two scrapes over their interval.
//
// Where the metrics are read (never from an arbitrary URL: whoever may annotate a Processor must not be able to make
// every editor watching it send requests to hosts of their choosing):
// - in a Kubernetes cluster, through the API server: the processor's pods (label PROCESSOR_LABEL) and kube-apiserver's
//   pod proxy on the port named `http` (the pod template of controllers/runtime/kubernetes), with the user's own
//   credentials and RBAC (`pods` list, `pods/proxy` get);
// - under `sr up` (the local runtime, whose API server serves no pods), the METRICS_URL_ANNOTATION URLs, but only
//   `http://<loopback>:<port>/metrics` and only when the API server itself is on this machine's loopback, which is
//   where the local runtime runs the processors.
// Every answer is capped at METRICS_LIMIT_BYTES and METRICS_TIMEOUT_MS.
import * as http from 'node:http';
import { METRICS_URL_ANNOTATION, PROCESSOR_LABEL } from '../../../crds/types';
import { ApiClient, KubeObject, readLimited } from './api-client';

export { METRICS_URL_ANNOTATION };

export const METRICS_LIMIT_BYTES = 1024 * 1024;
export const METRICS_TIMEOUT_MS = 2000;
/** The container port name of the processor's debug/metrics endpoint in the generated pod template. */
const METRICS_PORT_NAME = 'http';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface CounterSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (the subset prom-client writes: no timestamps needed). */
export function parsePrometheusText(text: string): CounterSample[] {
  const samples: CounterSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[4]);
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let label = labelPattern.exec(body); label; label = labelPattern.exec(body)) {
      labels[label[1] ?? ''] = (label[2] ?? '').replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1] ?? '', labels, value });
  }
  return samples;
}

/** Message counters of one processor, keyed like topology rates: `<processorId>|in|<stream>` / `|out|`. */
export function edgeCounters(processorId: string, samples: CounterSample[]): Map<string, number> {
  const counters = new Map<string, number>();
  const add = (key: string, value: number): void => {
    counters.set(key, (counters.get(key) ?? 0) + value);
  };
  for (const sample of samples) {
    if (sample.name === 'sr_processor_messages_in_total' && sample.labels.input) add(`${processorId}|in|${sample.labels.input}`, sample.value);
    if (sample.name === 'sr_processor_messages_out_total' && sample.labels.output) add(`${processorId}|out|${sample.labels.output}`, sample.value);
  }
  return counters;
}

/** Turns successive counter readings into per-second rates (a counter reset restarts from the new reading). */
export class RateTracker {
  private readonly previous = new Map<string, { value: number; at: number }>();
  private readonly rates = new Map<string, number>();

  record(counters: Map<string, number>, at: number): void {
    for (const [key, value] of counters) {
      const before = this.previous.get(key);
      if (before && at > before.at && value >= before.value) {
        this.rates.set(key, ((value - before.value) * 1000) / (at - before.at));
      }
      this.previous.set(key, { value, at });
    }
  }

  current(): ReadonlyMap<string, number> {
    return this.rates;
  }
}

/**
 * The metrics texts of a processor's instances (empty when none can be read: throughput is best effort). Pods through
 * the API server first; the loopback annotation only where the server has no pods API (404) and is local.
 */
export async function readProcessorMetrics(api: ApiClient, processor: KubeObject): Promise<string[]> {
  const name = processor.metadata?.name;
  const namespace = processor.metadata?.namespace ?? 'default';
  if (!name) return [];
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
  const pods = await api.request('GET', `${base}?labelSelector=${encodeURIComponent(`${PROCESSOR_LABEL}=${name}`)}`).catch(() => undefined);
  if (pods?.status === 200) {
    const items = ((pods.body as { items?: unknown } | undefined)?.items ?? []) as { metadata?: { name?: unknown }; status?: { phase?: unknown } }[];
    const running = items.filter((pod) => pod?.status?.phase === 'Running' && typeof pod.metadata?.name === 'string');
    const texts = await Promise.all(running.map(async (pod) => {
      const path = `${base}/${encodeURIComponent(`${String(pod.metadata?.name)}:${METRICS_PORT_NAME}`)}/proxy/metrics`;
      const answer = await api.getText(path, METRICS_LIMIT_BYTES, METRICS_TIMEOUT_MS).catch(() => undefined);
      return answer?.status === 200 ? answer.text : undefined;
    }));
    return texts.filter((text): text is string => text !== undefined);
  }
  if (pods?.status !== 404 || !isLoopbackUrl(api.connection.server)) return [];
  const annotation = (processor.metadata?.annotations as Record<string, unknown> | undefined)?.[METRICS_URL_ANNOTATION];
  if (typeof annotation !== 'string') return [];
  // One URL per instance: their counters add up to the processor's throughput.
  const urls = annotation.split(',').map((url) => url.trim()).filter(isLocalMetricsUrl);
  const texts = await Promise.all(urls.map((url) => fetchLocalMetrics(url)));
  return texts.filter((text): text is string => text !== undefined);
}

function isLoopbackUrl(text: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(text).hostname);
  } catch {
    return false;
  }
}

/** `http://<loopback>:<port>/metrics` and nothing else (no credentials, query or other path). */
export function isLocalMetricsUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.port !== '' && url.pathname === '/metrics'
    && url.search === '' && url.username === '' && url.password === '';
}

/** GETs a local metrics URL with the size and time limits; undefined when unreachable, refused or too large. */
export function fetchLocalMetrics(url: string, limitBytes = METRICS_LIMIT_BYTES): Promise<string | undefined> {
  if (!isLocalMetricsUrl(url)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: METRICS_TIMEOUT_MS }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolve(undefined);
        return;
      }
      readLimited(response, limitBytes).then(resolve, () => {
        request.destroy();
        resolve(undefined);
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}
