// Runs code-server (VS Code 1.100 with a Node 20 extension host) headless for tests: starts it on a free port,
// opens a workspace in Debian's chromium through playwright-core, and runs an extension's tests in the extension
// host (extensionDevelopmentPath + extensionTestsPath), reporting their exit code.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Browser, chromium, Page } from 'playwright-core';
import { freePort, waitFor } from '../../../../test/support/ports';

const run = promisify(execFile);

export const CHROMIUM = process.env.SR_CHROMIUM ?? '/usr/bin/chromium';

export interface CodeServer {
  url: string;
  port: number;
  page?: Page;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  binary: string;
  userDataDir: string;
  extensionsDir: string;
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const port = await freePort();
  mkdirSync(join(options.userDataDir, 'User'), { recursive: true });
  mkdirSync(options.extensionsDir, { recursive: true });
  writeFileSync(
    join(options.userDataDir, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'editor.minimap.enabled': false,
      'update.mode': 'none',
      'workbench.colorTheme': 'Default Light Modern',
      ...(options.settings ?? {}),
    }, null, 2),
  );
  const child: ChildProcess = spawn(
    options.binary,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', options.userDataDir,
      '--extensions-dir', options.extensionsDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(options.env ?? {}) }, detached: false },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`code-server exited (${code}): ${output}`))));
  exited.catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  await Promise.race([waitFor('code-server /healthz', async () => (await fetch(`${url}/healthz`)).ok, 90_000, 200), exited]);
  return {
    url,
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** The URL that opens `folder` and runs the tests at `testsPath` (a compiled index.js exporting run()). */
export function testUrl(server: CodeServer, folder: string, extensionPath: string, testsPath: string): string {
  const remote = (path: string): string => `vscode-remote://127.0.0.1:${server.port}${path}`;
  const payload = JSON.stringify([
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['extensionTestsPath', remote(testsPath)],
  ]);
  return `${server.url}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(payload)}`;
}

/**
 * Opens the test URL in a page and resolves with the extension tests' exit code. `onPage` runs once the page
 * exists (screenshots on request, UI checks).
 */
export async function runExtensionTests(
  browser: Browser,
  url: string,
  log: (line: string) => void,
  timeoutMs: number,
  onPage?: (page: Page) => void,
): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  onPage?.(page);
  const exitCode = new Promise<number>((resolve) => {
    void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
  });
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
    log(`[${type}] ${(Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  });
  await page.goto(url);
  const timeout = new Promise<number>((resolve) => setTimeout(() => {
    log(`extension tests timed out after ${timeoutMs} ms`);
    resolve(124);
  }, timeoutMs).unref());
  const code = await Promise.race([exitCode, timeout]);
  await page.close().catch(() => undefined);
  return code;
}

/** `code-server --install-extension x.vsix`, then the installed list. */
export async function installVsix(binary: string, vsix: string, extensionsDir: string, userDataDir: string): Promise<string[]> {
  await run(binary, ['--install-extension', vsix, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--force'], { timeout: 120_000 });
  const { stdout } = await run(binary, ['--list-extensions', '--show-versions', '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir], { timeout: 60_000 });
  return stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}
