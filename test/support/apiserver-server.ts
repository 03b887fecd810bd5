// Starts the real `sr apiserver` (dist/cli/sr.js) as a child process for a test file: free port, its own cert dir,
// a static token with system:masters, and a kubeconfig for kubectl. Used by the apiserver, controllers and editor
// tests. Call `stop()` in `after()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startEtcd, type EtcdHandle } from './etcd';
import { freePort, waitFor } from './ports';
import { tempDir } from './tmp';

export interface ApiServerHandle {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Bearer token of an admin user (system:masters). */
  token: string;
  /** kubeconfig with the CA, the URL and the token. */
  kubeconfigPath: string;
  /** PEM of the CA that signed the serving certificate. */
  caPem: string;
  caFile: string;
  /** Directory of this server's files (token file, certs, kubeconfig). */
  dir: string;
  /** The process' stderr so far (pino JSON logs), for failure messages. */
  logs(): string;
  /** One HTTPS request with the admin token (or `headers.authorization` given). */
  request(method: string, path: string, options?: ApiRequestOptions): Promise<ApiResponse>;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its files. */
  stop(): Promise<void>;
  /** Stops and starts it again on the same port and files. */
  restart(): Promise<void>;
}

export interface ApiRequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Abort after this many ms (default 30 s). */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = unknown>(): T;
}

export interface StartApiServerOptions {
  etcdEndpoint: string;
  /** Default: a unique prefix per server (/registry-<random>) so servers sharing an etcd never see each other. */
  etcdPrefix?: string;
  /** --etcd-compaction-interval (default 5m0s). */
  compactionInterval?: string;
  /** Extra flags for `sr apiserver`. */
  extraArgs?: string[];
  /** Extra lines for the token CSV (token,user,uid,"groups"). */
  extraTokens?: string[];
  logLevel?: string;
  /** What must answer 200 before the server counts as started (default /readyz; /livez: serving, maybe unsynced). */
  readyPath?: string;
}

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

export function apiRequest(url: string, caPem: string, token: string | undefined, method: string, path: string, options: ApiRequestOptions = {}): Promise<ApiResponse> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(path, url);
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (token && !Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    // A server may answer before it has read the whole body (413 for a body over the limit) and close the connection;
    // like Go's client (kubectl), keep its answer when writing the rest then fails (EPIPE, ECONNRESET).
    let answered: (() => void) | undefined;
    const req = httpsRequest(target, { method, headers, ca: caPem, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      answered = () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', answered);
      res.on('error', (err) => (res.statusCode ? answered?.() : reject(err)));
    });
    req.on('timeout', () => req.destroy(new Error(`request ${method} ${path} timed out`)));
    req.on('error', (err) => (answered ? answered() : reject(err)));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export async function startApiServer(options: StartApiServerOptions): Promise<ApiServerHandle> {
  const root = repoRoot();
  const dir = tempDir('sr-apiserver-');
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(dir.path, 'tokens.csv');
  writeFileSync(tokenFile, [`${token},admin,admin-uid,"system:masters"`, ...(options.extraTokens ?? [])].join('\n') + '\n', { mode: 0o600 });
  const certDir = join(dir.path, 'certs');
  const prefix = options.etcdPrefix ?? `/registry-${randomBytes(4).toString('hex')}`;
  const args = [
    // e.g. SR_APISERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under a benchmark.
    ...(process.env.SR_APISERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    join(root, 'dist', 'cli', 'sr.js'), 'apiserver',
    '--etcd-servers', options.etcdEndpoint,
    '--etcd-prefix', prefix,
    '--secure-port', String(port),
    '--bind-address', '127.0.0.1',
    '--cert-dir', certDir,
    '--token-auth-file', tokenFile,
    '--etcd-compaction-interval', options.compactionInterval ?? '5m0s',
    '--log-level', options.logLevel ?? 'warn',
    ...(options.extraArgs ?? []),
  ];
  let proc: ChildProcess | undefined;
  let stderr = '';
  const url = `https://127.0.0.1:${port}`;
  let caPem = '';

  const launch = async (): Promise<void> => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
    child.stdout?.on('data', () => undefined);
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`sr apiserver exited (${code}): ${stderr}`))));
    exited.catch(() => undefined);
    await Promise.race([
      waitFor('sr apiserver /readyz', async () => {
        if (!existsSync(join(certDir, 'ca.crt'))) return false;
        caPem = readFileSync(join(certDir, 'ca.crt'), 'utf8');
        const res = await apiRequest(url, caPem, token, 'GET', options.readyPath ?? '/readyz', { timeoutMs: 3000 });
        return res.status === 200;
      }, 60_000, 100),
      exited,
    ]);
  };

  const stopProcess = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolveStop) => {
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => { clearTimeout(timer); resolveStop(); });
      p.kill('SIGTERM');
    });
  };

  await launch();
  const caFile = join(certDir, 'ca.crt');
  const kubeconfigPath = join(dir.path, 'kubeconfig');
  writeFileSync(kubeconfigPath, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sr',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: sr',
    '  context:',
    '    cluster: sr',
    '    user: admin',
    '    namespace: default',
    'current-context: sr',
    '',
  ].join('\n'), { mode: 0o600 });

  return {
    url,
    port,
    token,
    kubeconfigPath,
    caPem,
    caFile,
    dir: dir.path,
    logs: () => stderr,
    request: (method, path, requestOptions) => apiRequest(url, caPem, token, method, path, requestOptions),
    stop: async () => { await stopProcess(); dir.remove(); },
    restart: async () => { await stopProcess(); await launch(); },
  };
}

/** An etcd of its own and one `sr apiserver` on it: what an apiserver test file starts in `before`. */
export interface ApiServerOnEtcd {
  etcd: EtcdHandle;
  api: ApiServerHandle;
}

export async function startEtcdAndApiServer(options: Omit<StartApiServerOptions, 'etcdEndpoint'> = {}): Promise<ApiServerOnEtcd> {
  const etcd = await startEtcd();
  try {
    return { etcd, api: await startApiServer({ ...options, etcdEndpoint: etcd.endpoint }) };
  } catch (err) {
    // The caller never gets the handle, so it could not destroy this etcd in its `after`.
    await etcd.destroy();
    throw err;
  }
}

/** Undoes startEtcdAndApiServer in `after`; either may be missing when `before` failed. */
export async function stopApiServerAndEtcd(api: ApiServerHandle | undefined, etcd: EtcdHandle | undefined): Promise<void> {
  await api?.stop();
  await etcd?.destroy();
}
