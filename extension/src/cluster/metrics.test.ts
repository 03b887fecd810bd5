import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ApiClient } from './api-client';
import { parseKubeconfig } from './kubeconfig';
import { edgeCounters, fetchLocalMetrics, isLocalMetricsUrl, METRICS_LIMIT_BYTES, METRICS_URL_ANNOTATION, parsePrometheusText, RateTracker, readProcessorMetrics } from './metrics';

// What prom-client writes for processor/metrics.ts counters.
const SCRAPE = `# HELP sr_processor_messages_in_total Messages received, by input stream
# TYPE sr_processor_messages_in_total counter
sr_processor_messages_in_total{input="orders"} 1200
sr_processor_messages_in_total{input="pay\\"ments"} 5
# HELP sr_processor_messages_out_total Messages confirmed by the broker, by output stream
# TYPE sr_processor_messages_out_total counter
sr_processor_messages_out_total{output="enriched"} 800
# HELP sr_processor_udf_latency_seconds Latency
# TYPE sr_processor_udf_latency_seconds histogram
sr_processor_udf_latency_seconds_bucket{le="0.005",outcome="ok"} 3
sr_processor_open_windows 2
`;

describe('processor metrics', () => {
  it('parses the exposition format with labels and escapes', () => {
    const samples = parsePrometheusText(SCRAPE);
    assert.equal(samples.length, 5);
    assert.deepEqual(samples[1], { name: 'sr_processor_messages_in_total', labels: { input: 'pay"ments' }, value: 5 });
    assert.deepEqual(samples[4], { name: 'sr_processor_open_windows', labels: {}, value: 2 });
    assert.deepEqual(parsePrometheusText('garbage {{{\n\n# only comments'), []);
  });

  it('turns two scrapes into per-edge rates, surviving counter resets', () => {
    const tracker = new RateTracker();
    tracker.record(edgeCounters('Processor/default/p', parsePrometheusText(SCRAPE)), 1000);
    assert.equal(tracker.current().size, 0);
    const later = SCRAPE.replace('{input="orders"} 1200', '{input="orders"} 1500').replace('{output="enriched"} 800', '{output="enriched"} 1000');
    tracker.record(edgeCounters('Processor/default/p', parsePrometheusText(later)), 3000);
    assert.equal(tracker.current().get('Processor/default/p|in|orders'), 150);
    assert.equal(tracker.current().get('Processor/default/p|out|enriched'), 100);
    const reset = later.replace('{input="orders"} 1500', '{input="orders"} 10');
    tracker.record(edgeCounters('Processor/default/p', parsePrometheusText(reset)), 4000);
    assert.equal(tracker.current().get('Processor/default/p|in|orders'), 150, 'a reset keeps the last rate');
  });

  it('fetches only loopback /metrics URLs, within the size limit, and tolerates unreachable endpoints', async () => {
    const server = createServer((request, response) => response.end(request.url === '/metrics' ? SCRAPE : 'x'.repeat(METRICS_LIMIT_BYTES + 1)));
    const port = await listen(server);
    try {
      assert.equal(await fetchLocalMetrics(`http://127.0.0.1:${port}/metrics`), SCRAPE);
      assert.equal(await fetchLocalMetrics(`http://127.0.0.1:${port}/metrics`, 100), undefined, 'larger than the limit');
      assert.equal(await fetchLocalMetrics('http://127.0.0.1:1/metrics'), undefined);
      assert.equal(await fetchLocalMetrics('not a url'), undefined);
      for (const refused of ['http://10.0.0.1:9090/metrics', `http://127.0.0.1:${port}/admin`, `http://u:p@127.0.0.1:${port}/metrics`,
        `http://127.0.0.1:${port}/metrics?x=1`, `https://127.0.0.1:${port}/metrics`, 'http://metadata.google.internal/metrics', 'file:///etc/passwd']) {
        assert.equal(isLocalMetricsUrl(refused), false, refused);
      }
    } finally {
      server.close();
    }
  });

  it('reads pods\' metrics through the API server\'s pod proxy with the user\'s credentials, never the annotation', async () => {
    // A stand-in speaking kube-apiserver's wire format for the two calls (no kube-apiserver runs here).
    const seen: string[] = [];
    let annotationHits = 0;
    const elsewhere = createServer((_, response) => {
      annotationHits++;
      response.end(SCRAPE);
    });
    const elsewherePort = await listen(elsewhere);
    const kube = createServer((request: IncomingMessage, response) => {
      seen.push(`${request.headers.authorization} ${request.url}`);
      if (request.url === `/api/v1/namespaces/team-a/pods?labelSelector=${encodeURIComponent('streaming.tanzu.vmware.com/processor=enrich')}`) {
        response.end(JSON.stringify({ kind: 'PodList', items: [
          { metadata: { name: 'enrich-0' }, status: { phase: 'Running' } },
          { metadata: { name: 'enrich-1' }, status: { phase: 'Pending' } },
          { metadata: { name: 'enrich-2' }, status: { phase: 'Running' } },
        ] }));
      } else if (request.url === '/api/v1/namespaces/team-a/pods/enrich-0%3Ahttp/proxy/metrics') {
        response.end(SCRAPE);
      } else if (request.url === '/api/v1/namespaces/team-a/pods/enrich-2%3Ahttp/proxy/metrics') {
        response.end('x'.repeat(METRICS_LIMIT_BYTES + 10));
      } else {
        response.statusCode = 404;
        response.end('{}');
      }
    });
    const port = await listen(kube);
    const api = new ApiClient(parseKubeconfig(JSON.stringify({
      'current-context': 'k',
      clusters: [{ name: 'k', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      contexts: [{ name: 'k', context: { cluster: 'k', user: 'u' } }],
      users: [{ name: 'u', user: { token: 'user-token' } }],
    }), '.'));
    try {
      const texts = await readProcessorMetrics(api, { kind: 'Processor', metadata: { name: 'enrich', namespace: 'team-a',
        annotations: { [METRICS_URL_ANNOTATION]: `http://127.0.0.1:${elsewherePort}/metrics` } } });
      assert.deepEqual(texts, [SCRAPE], 'the running pod within the limit; the oversized answer is dropped');
      assert.ok(seen.every((line) => line.startsWith('Bearer user-token ')), seen.join('\n'));
      assert.equal(seen.length, 3, seen.join('\n'));
      assert.equal(annotationHits, 0, 'a cluster with pods is never asked through the annotation');
    } finally {
      api.dispose();
      kube.close();
      elsewhere.close();
    }
  });
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
