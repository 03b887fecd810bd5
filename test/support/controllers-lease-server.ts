// A FAKE of the one Kubernetes API leader election uses: coordination.k8s.io/v1 Leases (GET, POST, PUT) on a local
// HTTP server. No Kubernetes cluster runs on these machines, and our own API server serves only our group, so
// controllers/leader.ts is tested against this. It answers as the real API server does in what the lock relies on:
// 404 NotFound for a missing Lease, 409 AlreadyExists when two candidates create it, 409 Conflict for a PUT whose
// metadata.resourceVersion is not the stored one (optimistic concurrency), a new resourceVersion on every write,
// Status bodies, and 400 for Lease times that are not MicroTime (RFC 3339 with exactly six fractional digits: the
// real server parses them with Go's "2006-01-02T15:04:05.000000Z07:00"). Not exercised: authentication beyond a
// bearer token per client, admission, watch, and the real server's latency.
//
// Fault injection: `partition(token)` makes every request of that client hang, unanswered, until `heal(token)` or
// close() — a leader cut off from the API (its requests time out, they are not refused).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export interface StoredLease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; creationTimestamp: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** One answered write, in order: who (bearer token), what, and the outcome. */
export interface LeaseWrite {
  token: string;
  /** namespace/name of the Lease. */
  lease: string;
  method: 'POST' | 'PUT';
  status: number;
  holder?: string;
  at: number;
}

export interface FakeLeaseServer {
  url: string;
  writes: LeaseWrite[];
  /** Clients (by bearer token) whose requests hang until healed. */
  partition(...tokens: string[]): void;
  /** Answers the held requests of these clients (all of them before any is answered) and stops holding. */
  heal(...tokens: string[]): void;
  /** Requests held so far for a client. */
  heldRequests(token: string): number;
  lease(namespace: string, name: string): StoredLease | undefined;
  /** Puts a Lease in the store as if another controller had written it (e.g. one that crashed long ago). */
  seed(namespace: string, name: string, spec: StoredLease['spec']): void;
  /** A kubeconfig for one client: its bearer token identifies it in `writes` and for `partition`. */
  kubeConfig(token: string): KubeConfig;
  close(): Promise<void>;
}

const LEASE_PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res, rej) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => res(body));
    req.on('error', rej);
  });
}

export async function startFakeLeaseServer(): Promise<FakeLeaseServer> {
  const store = new Map<string, StoredLease>();
  const writes: LeaseWrite[] = [];
  const partitioned = new Set<string>();
  const held: { token: string; handle: () => void }[] = [];
  let resourceVersion = 100;
  let uid = 0;

  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
    send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, token: string): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = LEASE_PATH.exec(url.pathname);
    if (!m) { status(res, 404, 'NotFound', `the fake serves only Leases, not ${url.pathname}`); return; }
    const [, namespace, name] = m;
    const text = await readBody(req);
    const key = (n: string): string => `${namespace}/${n}`;
    if (req.method === 'GET' && name) {
      const lease = store.get(key(name));
      if (!lease) status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
      else send(res, 200, lease);
      return;
    }
    if ((req.method === 'POST' && !name) || (req.method === 'PUT' && name)) {
      const method = req.method;
      const body = JSON.parse(text) as { metadata?: { name?: string; resourceVersion?: string }; spec?: StoredLease['spec'] };
      const leaseName = body.metadata?.name ?? '';
      const record = (code: number): void => { writes.push({ token, lease: key(leaseName), method, status: code, holder: body.spec?.holderIdentity, at: Date.now() }); };
      for (const field of ['acquireTime', 'renewTime'] as const) {
        const value = body.spec?.[field];
        if (value !== undefined && (typeof value !== 'string' || !MICRO_TIME.test(value))) {
          record(400);
          status(res, 400, 'BadRequest', `Lease in version "v1" cannot be handled as a Lease: v1.LeaseSpec.${field[0].toUpperCase()}${field.slice(1)}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00"`);
          return;
        }
      }
      const existing = store.get(key(leaseName));
      if (method === 'POST') {
        if (existing) { record(409); status(res, 409, 'AlreadyExists', `leases.coordination.k8s.io "${leaseName}" already exists`); return; }
      } else {
        if (leaseName !== name) { record(400); status(res, 400, 'BadRequest', 'the name of the object does not match the name on the URL'); return; }
        if (!existing) { record(404); status(res, 404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`); return; }
        const sent = body.metadata?.resourceVersion;
        if (sent && sent !== existing.metadata.resourceVersion) {
          record(409);
          status(res, 409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
          return;
        }
      }
      const lease: StoredLease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: leaseName, namespace, resourceVersion: String(++resourceVersion),
          uid: existing?.metadata.uid ?? `uid-${++uid}`, creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
        spec: { ...(body.spec ?? {}) },
      };
      store.set(key(leaseName), lease);
      record(method === 'POST' ? 201 : 200);
      send(res, method === 'POST' ? 201 : 200, lease);
      return;
    }
    status(res, 405, 'MethodNotAllowed', `${req.method ?? ''} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const run = (): void => {
      handle(req, res, token).catch((err: unknown) => status(res, 500, 'InternalError', String(err)));
    };
    if (partitioned.has(token)) held.push({ token, handle: run });
    else run();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    writes,
    partition: (...tokens) => { for (const t of tokens) partitioned.add(t); },
    heal: (...tokens) => {
      for (const t of tokens) partitioned.delete(t);
      const release = held.filter((x) => tokens.includes(x.token));
      for (const h of release) held.splice(held.indexOf(h), 1);
      for (const h of release) h.handle();
    },
    heldRequests: (token) => held.filter((x) => x.token === token).length,
    lease: (namespace, name) => store.get(`${namespace}/${name}`),
    seed: (namespace, name, spec) => {
      store.set(`${namespace}/${name}`, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name, namespace, resourceVersion: String(++resourceVersion), uid: `uid-${++uid}`, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        spec,
      });
    },
    kubeConfig: (token) => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: token, token }],
        contexts: [{ name: 'fake', cluster: 'fake', user: token }],
        currentContext: 'fake',
      });
      return kc;
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
