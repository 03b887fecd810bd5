// A real Streaming Runtime API server for the extension's tests: etcd (test/support/etcd.ts) plus `sr apiserver`
// from the repository's build (dist/cli/sr.js), serving TLS with a CA made here and a static bearer token — the
// same shape of kubeconfig `sr up` writes (CA + token).
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEtcd } from '../../../../test/support/etcd';
import { freePort, waitFor } from '../../../../test/support/ports';

const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..', '..', '..');
const SR_CLI = process.env.SR_CLI ?? join(REPO_ROOT, 'dist', 'cli', 'sr.js');
const TOKEN = 'sr-vscode-test-token-0123456789';

export interface TestCluster {
  kubeconfig: string;
  server: string;
  /** stderr tail of the API server (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=sr-vscode-test-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

function readyz(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolveProbe) => {
    const request = https.get(`${url}/readyz`, { ca, headers: { Authorization: `Bearer ${TOKEN}` }, timeout: 2000 }, (response) => {
      response.resume();
      resolveProbe(response.statusCode === 200);
    });
    request.on('error', () => resolveProbe(false));
    request.on('timeout', () => request.destroy());
  });
}

export async function startTestCluster(): Promise<TestCluster> {
  if (!existsSync(SR_CLI)) throw new Error(`${SR_CLI} is missing: build the repository first (npx tsc -p tsconfig.json)`);
  const dir = mkdtempSync(join(tmpdir(), 'sr-vscode-cluster-'));
  const certificates = makeCertificates(dir);
  writeFileSync(join(dir, 'tokens.csv'), `${TOKEN},vscode-admin,uid-vscode-admin,"system:masters"\n`);
  const etcd = await startEtcd();
  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      SR_CLI, 'apiserver',
      `--etcd-servers=${etcd.endpoint}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${certificates.cert}`,
      `--tls-private-key-file=${certificates.key}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO_ROOT },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`sr apiserver exited (${code}): ${stderr}`))));
  exited.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((r) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          r();
        });
        child.kill('SIGTERM');
      });
    }
    await etcd.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ca = readFileSync(certificates.ca);
    await Promise.race([waitFor('sr apiserver /readyz', () => readyz(server, ca), 60_000, 200), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1',
    'kind: Config',
    'current-context: sr-test',
    'clusters:',
    '- name: sr-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${readFileSync(certificates.ca).toString('base64')}`,
    'contexts:',
    '- name: sr-test',
    '  context:',
    '    cluster: sr-test',
    '    user: vscode-admin',
    '    namespace: default',
    'users:',
    '- name: vscode-admin',
    '  user:',
    `    token: ${TOKEN}`,
    '',
  ].join('\n'));
  return { kubeconfig, server, logs: () => stderr, stop };
}
