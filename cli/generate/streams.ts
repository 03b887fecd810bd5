// Where a generator stream's records go: the Stream (in the namespace) whose `spec.name` is the destination its
// binding names, read from the API server with `sr up`'s kubeconfig (or --kubeconfig). The Stream's status says
// which broker holds it (Kafka bootstrap or RabbitMQ address); its `dataSchemaContext` may name a schema registry.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';
import type { Stream } from '../../crds/types';

export interface KubeAccess {
  server: string;
  namespace: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecure: boolean;
}

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const b64 = (v: unknown): Buffer | undefined => (typeof v === 'string' ? Buffer.from(v, 'base64') : undefined);
const file = (v: unknown): Buffer | undefined => (typeof v === 'string' ? readFileSync(v) : undefined);

/** The current context of a kubeconfig: server, credentials (token or client certificate) and namespace. */
export function readKubeconfig(path: string, namespace?: string): KubeAccess {
  const config = o(parse(readFileSync(path, 'utf8')));
  const contextName = String(config['current-context'] ?? '');
  const named = (list: unknown, name: string): Obj => o((Array.isArray(list) ? list : []).map(o).find((e) => e.name === name));
  const context = o(named(config.contexts, contextName).context);
  const cluster = o(named(config.clusters, String(context.cluster ?? '')).cluster);
  const user = o(named(config.users, String(context.user ?? '')).user);
  if (typeof cluster.server !== 'string') throw new Error(`${path}: the current context "${contextName}" has no cluster server`);
  const ca = b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']);
  const cert = b64(user['client-certificate-data']) ?? file(user['client-certificate']);
  const key = b64(user['client-key-data']) ?? file(user['client-key']);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    namespace: namespace ?? (typeof context.namespace === 'string' ? context.namespace : 'default'),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}),
    ...(typeof user.token === 'string' ? { token: user.token } : {}),
  };
}

function getJson(access: KubeAccess, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(`${access.server}${path}`, {
      ...(access.ca ? { ca: access.ca } : {}), ...(access.cert ? { cert: access.cert } : {}), ...(access.key ? { key: access.key } : {}),
      rejectUnauthorized: !access.insecure, timeout: 10_000,
      headers: { accept: 'application/json', ...(access.token ? { authorization: `Bearer ${access.token}` } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        try { resolve(JSON.parse(text) as unknown); } catch (err) { reject(err instanceof Error ? err : new Error(String(err))); }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', (err) => reject(new Error(`API server ${access.server}: ${err.message}`)));
    req.end();
  });
}

export async function listStreams(access: KubeAccess): Promise<Stream[]> {
  const list = o(await getJson(access, `/apis/streaming.tanzu.vmware.com/v1alpha1/namespaces/${encodeURIComponent(access.namespace)}/streams`));
  return (Array.isArray(list.items) ? list.items : []) as Stream[];
}

/** The topic or exchange a Stream's records live in: the bound ClusterStream's `spec.name`. It is the Stream's own
 *  `spec.name` unless another namespace already had that name on the server (then `<namespace>.<name>`, see
 *  controllers/README.md, claims). */
export async function boundDestination(access: KubeAccess, stream: Stream): Promise<string> {
  const bound = stream.status?.clusterStreamName;
  if (!bound) return stream.spec.name;
  const clusterStream = o(await getJson(access, `/apis/streaming.tanzu.vmware.com/v1alpha1/clusterstreams/${encodeURIComponent(bound)}`));
  const name = o(clusterStream.spec).name;
  return typeof name === 'string' && name ? name : stream.spec.name;
}

export function isReady(stream: Stream): boolean {
  return (stream.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The broker address in a Stream's status (Kafka bootstrap list, or amqp://host:port[/vhost] without credentials). */
export function serverUrl(stream: Stream): string | undefined {
  const servers = stream.status?.storageAddress?.server ?? {};
  return (servers.production ?? Object.values(servers)[0])?.url;
}

/** The Stream for a destination: the one whose spec.name it is, preferring a Ready one. */
export function streamFor(streams: Stream[], destination: string): Stream | undefined {
  const candidates = streams.filter((s) => s.spec.name === destination && !s.metadata.deletionTimestamp);
  return candidates.find(isReady) ?? candidates[0];
}

/** A RabbitMQ URL for the Stream's address with the credentials of `credentialsFrom` (sr up's --rabbitmq-url). */
export function rabbitUrlFor(address: string, credentialsFrom: string): string {
  const target = new URL(/^amqps?:\/\//.test(address) ? address : `amqp://${address}`);
  const creds = new URL(credentialsFrom);
  if (!target.username && creds.username) {
    target.username = creds.username;
    target.password = creds.password;
  }
  return target.toString();
}
