// Reads a kubeconfig into what an HTTPS request needs: server URL, CA, bearer token or client certificate.
// Covers what `sr up` writes (CA + token) and the usual kubectl shapes (inline *-data or file paths, contexts).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';

export interface ClusterConnection {
  server: string;
  namespace: string;
  contextName: string;
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  username?: string;
  password?: string;
}

/** The kubeconfig path to use: the setting, else the first entry of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(setting: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const expand = (p: string): string => (p.startsWith('~') ? join(homedir(), p.slice(1)) : p);
  if (setting && setting.trim() !== '') return resolve(expand(setting.trim()));
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  if (fromEnv) return resolve(expand(fromEnv));
  return join(homedir(), '.kube', 'config');
}

type Named<T> = { name?: unknown } & Record<string, T>;

export function loadKubeconfig(path: string, contextOverride?: string): ClusterConnection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseKubeconfig(text, dirname(path), contextOverride);
}

export function parseKubeconfig(text: string, baseDirectory: string, contextOverride?: string): ClusterConnection {
  const config = asRecord(parse(text), 'kubeconfig is not a YAML mapping');
  const contextName = contextOverride || String(config['current-context'] ?? '');
  const contexts = asList(config.contexts);
  const context = contexts.find((c) => c.name === contextName) ?? (contextName === '' ? contexts[0] : undefined);
  if (!context) throw new Error(`kubeconfig: context "${contextName}" not found`);
  const contextBody = asRecord(context.context, `kubeconfig: context "${String(context.name)}" has no body`);
  const clusterName = String(contextBody.cluster ?? '');
  const userName = String(contextBody.user ?? '');
  const cluster = asList(config.clusters).find((c) => c.name === clusterName);
  if (!cluster) throw new Error(`kubeconfig: cluster "${clusterName}" not found`);
  const clusterBody = asRecord(cluster.cluster, `kubeconfig: cluster "${clusterName}" has no body`);
  const userEntry = asList(config.users).find((u) => u.name === userName);
  const user = userEntry ? asRecord(userEntry.user ?? {}, `kubeconfig: user "${userName}" has no body`) : {};
  const server = String(clusterBody.server ?? '');
  if (!server) throw new Error(`kubeconfig: cluster "${clusterName}" has no server`);

  const fileOrData = (dataKey: string, fileKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const data = from[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const file = from[fileKey];
    if (typeof file === 'string' && file !== '') return readFileSync(isAbsolute(file) ? file : join(baseDirectory, file));
    return undefined;
  };
  let token = typeof user.token === 'string' && user.token !== '' ? user.token : undefined;
  if (!token && typeof user.tokenFile === 'string') {
    token = readFileSync(isAbsolute(user.tokenFile) ? user.tokenFile : join(baseDirectory, user.tokenFile), 'utf8').trim();
  }
  const connection: ClusterConnection = {
    server: server.replace(/\/+$/, ''),
    namespace: typeof contextBody.namespace === 'string' && contextBody.namespace !== '' ? contextBody.namespace : 'default',
    contextName: String(context.name ?? ''),
    insecureSkipTlsVerify: clusterBody['insecure-skip-tls-verify'] === true,
  };
  const ca = fileOrData('certificate-authority-data', 'certificate-authority', clusterBody);
  if (ca) connection.ca = ca;
  if (token) connection.token = token;
  const cert = fileOrData('client-certificate-data', 'client-certificate', user);
  const key = fileOrData('client-key-data', 'client-key', user);
  if (cert && key) {
    connection.cert = cert;
    connection.key = key;
  }
  if (typeof user.username === 'string' && typeof user.password === 'string') {
    connection.username = user.username;
    connection.password = user.password;
  }
  return connection;
}

function asRecord(value: unknown, error: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(error);
  return value as Record<string, unknown>;
}

function asList(value: unknown): Named<unknown>[] {
  return Array.isArray(value) ? (value as unknown[]).filter((v): v is Named<unknown> => typeof v === 'object' && v !== null) : [];
}
