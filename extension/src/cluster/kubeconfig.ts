// The kubeconfig, read by @kubernetes/client-node's loader rather than our own parser, so every way kubectl
// authenticates works here too: exec credential plugins (EKS `aws eks get-token`, GKE `gke-gcloud-auth-plugin`, AKS
// `kubelogin`), auth providers (OIDC), token files, client certificates, merged $KUBECONFIG lists, proxy-url.
// Credentials are asked for per request, because exec plugins and OIDC hand out tokens that expire.
import * as http from 'node:http';
import * as https from 'node:https';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** What one request needs besides its path: headers (Authorization) and the agent carrying TLS material or a proxy. */
export interface RequestCredentials {
  headers: Record<string, string>;
  agent: http.Agent;
}

export interface ClusterConnection {
  server: string;
  /** The context's namespace ("default" when it names none): where a user limited to one namespace may list. */
  namespace: string;
  contextName: string;
  /** Runs the exec plugin / refreshes the token when needed; rejects with the plugin's error. */
  credentials(): Promise<RequestCredentials>;
  dispose(): void;
}

/** The kubeconfig path the setting names, or undefined for the loader's default ($KUBECONFIG list, ~/.kube/config). */
export function kubeconfigPath(setting: string | undefined): string | undefined {
  if (!setting || setting.trim() === '') return undefined;
  const path = setting.trim();
  return resolve(path.startsWith('~') ? join(homedir(), path.slice(1)) : path);
}

/** Loads a kubeconfig file (or the default chain when `path` is undefined) and picks the context. */
export function loadKubeconfig(path: string | undefined, contextOverride?: string, env: NodeJS.ProcessEnv = process.env): ClusterConnection {
  const config = newKubeConfig();
  // The default chain as kubectl walks it: every file of $KUBECONFIG (the first one's current-context wins), else
  // ~/.kube/config, else the loader's own default (in-cluster service account).
  const files = path ? [path] : (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (!path && files.length === 0 && existsSync(join(homedir(), '.kube', 'config'))) files.push(join(homedir(), '.kube', 'config'));
  const tokenFiles = new Map<string, TokenFile>();
  try {
    if (files.length === 0) config.loadFromDefault();
    files.forEach((file, i) => {
      const one = i === 0 ? config : newKubeConfig();
      one.loadFromString(withTokenFilesRead(readFileSync(file, 'utf8'), dirname(file), tokenFiles));
      one.makePathsAbsolute(dirname(file));
      if (i > 0) config.mergeConfig(one, true);
    });
  } catch (error) {
    throw new Error(`cannot read kubeconfig ${files.join(delimiter) || '(default)'}: ${messageOf(error)}`);
  }
  return connectionFor(config, contextOverride, tokenFiles);
}

/** Same from kubeconfig text (tests; files it names are resolved against `baseDirectory`). */
export function parseKubeconfig(text: string, baseDirectory: string, contextOverride?: string): ClusterConnection {
  const config = newKubeConfig();
  const tokenFiles = new Map<string, TokenFile>();
  try {
    config.loadFromString(withTokenFilesRead(text, baseDirectory, tokenFiles));
  } catch (error) {
    throw new Error(`kubeconfig: ${messageOf(error)}`);
  }
  config.makePathsAbsolute(baseDirectory);
  return connectionFor(config, contextOverride, tokenFiles);
}

/**
 * A user's token file, re-read whenever it changes: bound service-account tokens and `sr up`'s are rotated in place,
 * and client-go re-reads its token file too, so a rotation must not need a reconnect.
 */
class TokenFile {
  private seen = '';
  private token = '';

  constructor(readonly path: string) {}

  /** The token, trailing newline trimmed; read again when the file's size or mtime moved. */
  current(): string {
    const stat = statSync(this.path);
    const version = `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
    if (version !== this.seen) {
      this.token = readFileSync(this.path, 'utf8').trim();
      this.seen = version;
    }
    return this.token;
  }
}

/**
 * kubectl's `tokenFile` (relative to the kubeconfig, trailing newline trimmed) as an inline token: the loader knows
 * only `token-file`, resolves it against the working directory and keeps the newline, which no header may carry.
 * Each user's file is recorded in `tokenFiles` (by user name), so every request reads the token as it is now.
 */
function withTokenFilesRead(text: string, baseDirectory: string, tokenFiles: Map<string, TokenFile>): string {
  const config: unknown = parse(text);
  const users = (config as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) return text;
  let changed = false;
  for (const entry of users as { name?: unknown; user?: Record<string, unknown> }[]) {
    const user = entry?.user;
    const file = user?.tokenFile ?? user?.['token-file'];
    if (!user || typeof file !== 'string' || file === '' || (typeof user.token === 'string' && user.token !== '')) continue;
    const tokenFile = new TokenFile(isAbsolute(file) ? file : join(baseDirectory, file));
    user.token = tokenFile.current();
    if (typeof entry.name === 'string') tokenFiles.set(entry.name, tokenFile);
    delete user.tokenFile;
    delete user['token-file'];
    changed = true;
  }
  return changed ? JSON.stringify(config) : text;
}

function connectionFor(config: KubeConfig, contextOverride: string | undefined, tokenFiles: Map<string, TokenFile>): ClusterConnection {
  if (contextOverride) {
    if (!config.getContextObject(contextOverride)) throw new Error(`kubeconfig: context "${contextOverride}" not found`);
    config.setCurrentContext(contextOverride);
  }
  const contextName = config.getCurrentContext();
  const context = config.getContextObject(contextName);
  if (!context) throw new Error(`kubeconfig: context "${contextName}" not found`);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig: cluster "${context.cluster}" of context "${contextName}" not found`);
  if (!cluster.server) throw new Error(`kubeconfig: cluster "${cluster.name}" has no server`);
  const server = cluster.server.replace(/\/+$/, '');
  // One keep-alive agent per distinct TLS material: an exec plugin may hand out a new client certificate.
  const agents = new Map<string, http.Agent>();
  return {
    server,
    namespace: context.namespace || 'default',
    contextName,
    async credentials() {
      const options: https.RequestOptions = {};
      try {
        await config.applyToHTTPSOptions(options);
      } catch (error) {
        // The loader refuses plain-http servers unless insecure-skip-tls-verify; kubectl accepts them. The
        // credentials were applied before the agent step that throws, so they are complete.
        if (!server.startsWith('http:') || options.headers === undefined) throw new Error(`credentials for context "${contextName}": ${messageOf(error)}`);
      }
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(options.headers ?? {})) {
        if (typeof value === 'string' || typeof value === 'number') headers[key] = String(value);
      }
      const tokenFile = tokenFiles.get(context.user);
      if (tokenFile) {
        try {
          headers.Authorization = `Bearer ${tokenFile.current()}`;
        } catch (error) {
          throw new Error(`credentials for context "${contextName}": token file ${tokenFile.path}: ${messageOf(error)}`);
        }
      }
      if (typeof options.auth === 'string' && headers.Authorization === undefined) {
        headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
      }
      if (cluster.proxyUrl && options.agent instanceof http.Agent) return { headers, agent: options.agent };
      const tls = {
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.cert ? { cert: options.cert } : {}),
        ...(options.key ? { key: options.key } : {}),
        rejectUnauthorized: !cluster.skipTLSVerify,
        ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
      };
      const key = createHash('sha256').update(JSON.stringify([String(tls.ca ?? ''), String(tls.cert ?? ''), String(tls.key ?? ''), tls.rejectUnauthorized, tls.servername])).digest('hex');
      let agent = agents.get(key);
      if (!agent) {
        agent = server.startsWith('https:') ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
        agents.set(key, agent);
      }
      return { headers, agent };
    },
    dispose() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}

/** @kubernetes/client-node is ESM and large: loaded on first use (Node >= 20.19 requires ES modules). */
function newKubeConfig(): KubeConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KubeConfig: Loader } = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  return new Loader();
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
