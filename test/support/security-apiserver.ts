// Runs the real `sr apiserver` (dist/cli/sr.js) for the security end-to-end tests, with the serving certificate from
// the security fixtures and whatever security flags a test passes; ready once /readyz answers 200 over verified TLS.
// Also what such a test file sets up first (the fixtures and an etcd) and the full set of kube-apiserver security flags.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { startEtcd, type EtcdHandle } from './etcd';
import { freePort, waitFor } from './ports';
import { httpsCall } from './security-client';
import { createSecurityFixtures, type SecurityFixtures } from './security-fixtures';

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
    stop: () => stopApiserverProcess(child),
  };
}

/** SIGTERM, and SIGKILL if the server has not exited 5 s later; at once when it has exited already. */
export async function stopApiserverProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/** The certificates, tokens and policy of the security tests, and an etcd for the servers of one test file. */
export interface SecurityTestBed {
  fixtures: SecurityFixtures;
  etcd: EtcdHandle;
}

export async function startSecurityTestBed(): Promise<SecurityTestBed> {
  const fixtures = createSecurityFixtures();
  try {
    return { fixtures, etcd: await startEtcd() };
  } catch (err) {
    // The caller never gets the fixtures, so it could not remove them in its `after`.
    fixtures.remove();
    throw err;
  }
}

/** Undoes startSecurityTestBed in `after`; either may be missing when `before` failed. */
export async function stopSecurityTestBed(etcd: EtcdHandle | undefined, fixtures: SecurityFixtures | undefined): Promise<void> {
  await etcd?.destroy();
  fixtures?.remove();
}

/** kube-apiserver's security flags all at once, with the fixtures: client CA, static tokens, the front proxy
 *  (allowed name and X-Remote-* headers), RBAC with the fixtures' policy, and an audit log at `auditLogPath`. */
export function fullSecurityFlags(fixtures: SecurityFixtures, auditLogPath: string): string[] {
  return [
    `--client-ca-file=${fixtures.clientCaFile}`,
    `--token-auth-file=${fixtures.tokenFile}`,
    `--requestheader-client-ca-file=${fixtures.frontProxyCaFile}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--authorization-mode=RBAC',
    `--authorization-policy-file=${fixtures.policyFile}`,
    `--audit-log-path=${auditLogPath}`,
  ];
}
