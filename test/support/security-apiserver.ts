// Runs the real `sr apiserver` (dist/cli/sr.js) for the security end-to-end tests, with the serving certificate from
// the security fixtures and whatever security flags a test passes; ready once /readyz answers 200 over verified TLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from './ports';
import { httpsCall } from './security-client';
import type { SecurityFixtures } from './security-fixtures';

const ROOT = resolve(__dirname, '..', '..', '..');
export const SR_CLI = join(ROOT, 'dist', 'cli', 'sr.js');

export interface RunningApiserver {
  url: string;
  port: number;
  /** The last lines the server wrote to stderr (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export async function startSecuredApiserver(fixtures: SecurityFixtures, etcdEndpoint: string, securityFlags: string[]): Promise<RunningApiserver> {
  const port = await freePort();
  const args = [
    SR_CLI,
    'apiserver',
    `--etcd-servers=${etcdEndpoint}`,
    `--etcd-prefix=/registry-${port}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${fixtures.serving.certFile}`,
    `--tls-private-key-file=${fixtures.serving.keyFile}`,
    '--log-level=warn',
    ...securityFlags,
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8000); });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`sr apiserver exited (${code}): ${stderr}`))));
  const url = `https://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitFor('sr apiserver /readyz', async () => (await httpsCall(url, fixtures.servingCaPem, '/readyz')).status === 200, 30_000, 100),
      exited,
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  exited.catch(() => undefined);
  return {
    url,
    port,
    logs: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((r) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(timer); r(); });
        child.kill('SIGTERM');
      });
    },
  };
}
