import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { edgeCounters, fetchMetrics, parsePrometheusText, RateTracker } from './metrics';

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

  it('fetches over HTTP and tolerates unreachable endpoints', async () => {
    const server = createServer((_, response) => response.end(SCRAPE));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      assert.equal(await fetchMetrics(`http://127.0.0.1:${port}/metrics`), SCRAPE);
      assert.equal(await fetchMetrics('http://127.0.0.1:1/metrics'), undefined);
      assert.equal(await fetchMetrics('not a url'), undefined);
    } finally {
      server.close();
    }
  });
});
