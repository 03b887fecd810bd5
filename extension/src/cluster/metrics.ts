// Throughput for the topology's edges from the processors' Prometheus metrics
// (`sr_processor_messages_in_total{input}` and `sr_processor_messages_out_total{output}`, see processor/metrics.ts).
// A Processor advertises where its instances' metrics are with the annotation METRICS_URL_ANNOTATION (comma-separated
// URLs, set by the controllers' local runtime); counters of all instances are summed; rates are the
// difference of two scrapes over their interval.
import * as http from 'node:http';
import * as https from 'node:https';

export { METRICS_URL_ANNOTATION } from '../../../crds/types';

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

/** GETs a metrics URL (2 s timeout); undefined when unreachable: throughput is best effort. */
export function fetchMetrics(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve(undefined);
      return;
    }
    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.get(target, { timeout: 2000 }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        resolve(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}
