// End to end in a real VS Code (code-server 4.100.3, driven by headless chromium): the extension's tests run in
// the extension host against a real `sr apiserver` on etcd; then the packaged .vsix is installed into code-server
// and shown to work from the install. Screenshots go to docs/images/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Browser, Page } from 'playwright-core';
import { startTestCluster, TestCluster } from './cluster';
import { CodeServer, installVsix, launchBrowser, runExtensionTests, startCodeServer, testUrl } from './code-server';

const runFile = promisify(execFile);
const EXTENSION_ROOT = join(__dirname, '..', '..', '..', '..', '..');
const REPO_ROOT = join(EXTENSION_ROOT, '..');
const IMAGES = join(REPO_ROOT, 'docs', 'images');
const CODE_SERVER = process.env.SR_CODE_SERVER ?? join(REPO_ROOT, '.sr', 'code-server', 'node_modules', '.bin', 'code-server');
const VERBOSE = process.env.SR_EXT_VERBOSE === '1';

describe('the extension in code-server', () => {
  let root: string;
  let cluster: TestCluster;
  let browser: Browser;
  const servers: CodeServer[] = [];

  before(async () => {
    assert.ok(existsSync(CODE_SERVER), `code-server is not installed at ${CODE_SERVER}: run hack/install-code-server.sh`);
    root = join(tmpdir(), `sr-vscode-${process.pid}-${Date.now()}`);
    mkdirSync(root, { recursive: true });
    cpSync(join(EXTENSION_ROOT, 'test-fixtures', 'workspace'), join(root, 'workspace'), { recursive: true });
    mkdirSync(join(root, 'signals'));
    mkdirSync(IMAGES, { recursive: true });
    [cluster, browser] = await Promise.all([startTestCluster(), launchBrowser()]);
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    for (const server of servers) await server.stop();
    await cluster?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('passes its tests in the extension host (diagnostics, completion, hover, quick fix, apply, topology)', async () => {
    const signals = join(root, 'signals');
    const server = await startCodeServer({
      binary: CODE_SERVER,
      userDataDir: join(root, 'user-data'),
      extensionsDir: join(root, 'extensions'),
      settings: { 'streamingRuntime.kubeconfig': cluster.kubeconfig },
      env: {
        SR_EXT_WORKSPACE: join(root, 'workspace'),
        SR_TEST_KUBECONFIG: cluster.kubeconfig,
        SR_EXT_SIGNAL_DIR: signals,
        ...(process.env.SR_EXT_TEST_FILTER ? { SR_EXT_TEST_FILTER: process.env.SR_EXT_TEST_FILTER } : {}),
      },
    });
    servers.push(server);
    const logs: string[] = [];
    const log = (line: string): void => {
      logs.push(line);
      if (VERBOSE || /^\[\w+\] (ok|not ok) - /.test(line) || line.includes('topology latency')) console.log(`  ${line}`);
    };
    const uiChecks: string[] = [];
    let poller: NodeJS.Timeout | undefined;
    const serveScreenshots = (page: Page): void => {
      let busy = false;
      poller = setInterval(() => {
        if (busy) return;
        const requests = readdirSync(signals).filter((f) => f.endsWith('.request'));
        if (requests.length === 0) return;
        busy = true;
        void (async () => {
          for (const request of requests) {
            const name = request.replace(/\.request$/, '');
            if (name === 'diagnostics') {
              await page.waitForSelector('.squiggly-error', { timeout: 20_000 }).catch(() => undefined);
              uiChecks.push(`squiggly-error:${await page.locator('.squiggly-error').count()}`);
            }
            if (name === 'topology-live') {
              // The webview draws in a nested frame; wait for its nodes (and the explorer rows) before the picture.
              const drawn = await waitForFrameSelector(page, 'g.node', 20_000);
              uiChecks.push(`topology-nodes:${drawn}`);
              await page.locator('.monaco-list-row', { hasText: 'enrich' }).first().waitFor({ timeout: 10_000 }).catch(() => undefined);
            }
            await page.screenshot({ path: join(IMAGES, `${name}.png`) }).catch((error: unknown) => uiChecks.push(`screenshot ${name} failed: ${String(error)}`));
            unlinkSync(join(signals, request));
            writeFileSync(join(signals, `${name}.done`), '');
          }
          busy = false;
        })();
      }, 200);
    };
    const extensionTests = join(EXTENSION_ROOT, 'out', 'extension', 'src', 'test', 'integration', 'suite', 'index.js');
    const code = await runExtensionTests(browser, testUrl(server, join(root, 'workspace'), EXTENSION_ROOT, extensionTests), log, 240_000, serveScreenshots);
    if (poller) clearInterval(poller);
    const resultsFile = join(signals, 'results.json');
    const results = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { failures: string[] }) : undefined;
    assert.equal(code, 0, `extension tests exited ${code}:\n${results?.failures.join('\n') ?? logs.slice(-40).join('\n')}`);
    assert.ok(results, 'the extension tests did not report results');
    if (!process.env.SR_EXT_TEST_FILTER) {
      const squiggles = uiChecks.find((c) => c.startsWith('squiggly-error:'));
      assert.ok(squiggles && Number(squiggles.split(':')[1]) > 0, `no error squiggles in the editor DOM: ${uiChecks.join(', ')}`);
      const nodes = uiChecks.find((c) => c.startsWith('topology-nodes:'));
      assert.ok(nodes && Number(nodes.split(':')[1]) >= 4, `the topology webview drew no graph: ${uiChecks.join(', ')}`);
    }
  });

  it('packages a .vsix with vsce that installs into code-server and works from the install', async () => {
    const vsix = join(root, 'streaming-runtime.vsix');
    await runFile(process.execPath, [join(EXTENSION_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-rewrite-relative-links', '--out', vsix], { cwd: EXTENSION_ROOT, timeout: 180_000 });
    assert.ok(existsSync(vsix));
    const installedDir = join(root, 'installed-extensions');
    const userData = join(root, 'user-data-installed');
    const listed = await installVsix(CODE_SERVER, vsix, installedDir, userData);
    const manifest = JSON.parse(readFileSync(join(EXTENSION_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
    assert.ok(listed.includes(`${manifest.publisher}.${manifest.name}@${manifest.version}`), `installed: ${listed.join(', ')}`);

    // Open the broken file in a code-server that only has the installed extension: squiggles prove it activates.
    const server = await startCodeServer({ binary: CODE_SERVER, userDataDir: userData, extensionsDir: installedDir });
    servers.push(server);
    const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    try {
      const workspace = join(root, 'workspace');
      await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
      await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
      await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'broken.yaml' }).click();
      await page.waitForSelector('.squiggly-error', { timeout: 90_000 });
      assert.ok((await page.locator('.squiggly-error').count()) > 0);
    } finally {
      await page.close();
    }
  });
});

/** Polls every frame of the page (webviews are nested iframes) for `selector`; returns how many matched. */
async function waitForFrameSelector(page: Page, selector: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const count = await frame.locator(selector).count().catch(() => 0);
      if (count > 0) return count;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return 0;
}
