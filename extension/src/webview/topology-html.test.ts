// The topology page in headless Chromium: it draws what it is sent, colours by Ready, reports clicks, and redraws
// on updates. Saves docs/images/topology.png.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, chromium, Page } from 'playwright-core';
import { buildTopology, layoutTopology } from '../model/topology';
import { topologyHtml, TopologyMessage } from './topology-html';

const CHROMIUM = process.env.SR_CHROMIUM ?? '/usr/bin/chromium';
const IMAGES = join(__dirname, '..', '..', '..', '..', '..', 'docs', 'images');

function pipeline(ready: 'True' | 'False'): unknown[] {
  const condition = (status: string, reason: string): { conditions: unknown[] } => ({ conditions: [{ type: 'Ready', status, reason }] });
  return [
    { kind: 'Stream', metadata: { name: 'orders', namespace: 'shop' }, spec: { protocol: 'kafka' }, status: condition('True', 'StreamDeployed') },
    { kind: 'Stream', metadata: { name: 'payments', namespace: 'shop' }, spec: { protocol: 'kafka' }, status: condition('True', 'StreamDeployed') },
    { kind: 'Stream', metadata: { name: 'enriched', namespace: 'shop' }, spec: { protocol: 'rabbitmq' }, status: condition(ready, ready === 'True' ? 'StreamDeployed' : 'ClusterStreamNotReady') },
    { kind: 'Stream', metadata: { name: 'alerts', namespace: 'shop' }, spec: { protocol: 'rabbitmq' } },
    { kind: 'Processor', metadata: { name: 'join-orders', namespace: 'shop' }, spec: { type: 'SRP', inputs: [{ name: 'orders' }, { name: 'payments' }], outputs: [{ name: 'enriched' }] }, status: condition('True', 'ProcessorDeployed') },
    { kind: 'Processor', metadata: { name: 'detect-fraud', namespace: 'shop' }, spec: { type: 'SRP', inputs: [{ name: 'enriched' }], outputs: [{ name: 'alerts' }, { name: 'audit' }] }, status: condition(ready, ready === 'True' ? 'ProcessorDeployed' : 'ProcessorDeploying') },
  ];
}

function message(ready: 'True' | 'False'): TopologyMessage {
  const rates = new Map([['Processor/shop/join-orders|in|orders', 1250], ['Processor/shop/join-orders|out|enriched', 830.5]]);
  return { type: 'layout', mode: 'live', source: 'https://127.0.0.1:6443', layout: layoutTopology(buildTopology(pipeline(ready), rates)) };
}

describe('topology webview in headless chromium', () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 380 }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.setContent(topologyHtml('test-nonce', 'https://example.invalid'));
    assert.deepEqual(errors, []);
  });

  after(async () => {
    await browser?.close();
  });

  it('draws every node and edge, coloured by Ready, with throughput labels', async () => {
    await page.evaluate((m) => window.postMessage(m, '*'), message('False') as unknown as Record<string, unknown>);
    await page.waitForSelector('g.node');
    assert.equal(await page.locator('g.node').count(), 7); // 4 Streams + the undeclared "audit" + 2 Processors
    assert.equal(await page.locator('g.edge').count(), 6);
    assert.equal(await page.locator('g.node.missing').count(), 1);
    assert.equal(await page.locator('g.node[data-id="Processor/shop/detect-fraud"]').getAttribute('data-ready'), 'False');
    const stroke = await page.locator('g.node[data-id="Processor/shop/detect-fraud"] rect').getAttribute('stroke');
    assert.equal(stroke, '#c62828');
    assert.deepEqual(await page.locator('text.rate').allTextContents(), ['1250 msg/s', '831 msg/s']);
    assert.match((await page.locator('#status').textContent()) ?? '', /Live · https:\/\/127\.0\.0\.1:6443 · 7 nodes, 6 edges/);
  });

  it('redraws on update and reports a click on a node', async () => {
    await page.evaluate((m) => window.postMessage(m, '*'), message('True') as unknown as Record<string, unknown>);
    await page.waitForSelector('g.node[data-id="Processor/shop/detect-fraud"][data-ready="True"]');
    await page.locator('g.node[data-id="Stream/shop/enriched"]').click();
    const posted = await page.evaluate(() => (window as unknown as { __posted?: unknown[] }).__posted ?? []);
    assert.deepEqual(posted.at(-1), { type: 'open', id: 'Stream/shop/enriched' });
    mkdirSync(IMAGES, { recursive: true });
    await page.evaluate((m) => window.postMessage(m, '*'), message('False') as unknown as Record<string, unknown>);
    await page.waitForSelector('g.node[data-id="Processor/shop/detect-fraud"][data-ready="False"]');
    await page.screenshot({ path: join(IMAGES, 'topology.png'), fullPage: true });
  });

  it('shows an empty state', async () => {
    const empty: TopologyMessage = { type: 'layout', mode: 'offline', source: 'workspace files', layout: layoutTopology({ nodes: [], edges: [] }) };
    await page.evaluate((m) => window.postMessage(m, '*'), empty as unknown as Record<string, unknown>);
    await page.waitForSelector('p.empty');
    assert.equal(await page.locator('body').getAttribute('data-mode'), 'offline');
  });
});
