// A local HTTP server that answers like the Kubernetes API for the kinds the kubernetes runtime writes
// (ConfigMap, Secret, Service, Deployment, StatefulSet): discovery, get, create, replace, delete, list and watch
// (`?watch=true`: one JSON event per line, ADDED / MODIFIED / DELETED, as the Kubernetes API streams them), with an
// in-memory store and resourceVersions, and records every request. Used to test create/update/delete logic and
// the runtime's watches without a cluster (there is none on these machines).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

export interface RecordedRequest { method: string; path: string; body?: Record<string, unknown> }

const RESOURCES: Record<string, { group: string; kind: string; plural: string }[]> = {
  '/api/v1': [{ group: '', kind: 'ConfigMap', plural: 'configmaps' }, { group: '', kind: 'Secret', plural: 'secrets' }, { group: '', kind: 'Service', plural: 'services' }],
  '/apis/apps/v1': [{ group: 'apps', kind: 'Deployment', plural: 'deployments' }, { group: 'apps', kind: 'StatefulSet', plural: 'statefulsets' }],
};

export interface RecordingServer {
  url: string;
  requests: RecordedRequest[];
  store: Map<string, Record<string, unknown>>;
  /** Changes a stored object as a cluster's own controllers would (e.g. a Deployment's status) and tells watchers. */
  modify(key: string, change: (obj: Record<string, unknown>) => void): void;
  /** Ends every open watch (an API server restart, a load balancer timeout): clients must watch again. */
  endWatches(): void;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((res) => { let b = ''; req.on('data', (d: Buffer) => { b += d.toString(); }); req.on('end', () => res(b)); });
}

function matchesSelector(selector: string | null, obj: Record<string, unknown>): boolean {
  if (!selector) return true;
  const labels = (obj.metadata as { labels?: Record<string, string> }).labels ?? {};
  return selector.split(',').every((s) => { const [k, v] = s.split('='); return labels[k] === v; });
}

interface Watcher { prefix: string; plural: string; selector: string | null; send(line: string): void; end(): void }

export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const store = new Map<string, Record<string, unknown>>();
  const watchers = new Set<Watcher>();
  let rv = 1;
  const notify = (type: 'ADDED' | 'MODIFIED' | 'DELETED', key: string, obj: Record<string, unknown>): void => {
    for (const w of watchers) {
      if (key.startsWith(`${w.prefix}/`) && key.includes(`/${w.plural}/`) && matchesSelector(w.selector, obj)) w.send(`${JSON.stringify({ type, object: obj })}\n`);
    }
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = await readBody(req);
      const body = text ? JSON.parse(text) as Record<string, unknown> : undefined;
      requests.push({ method: req.method ?? '', path: url.pathname + (url.search || ''), ...(body ? { body } : {}) });
      const send = (code: number, obj: unknown): void => { res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(obj)); };
      const status = (code: number, reason: string, message: string): void => send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
      if (RESOURCES[url.pathname]) {
        send(200, { kind: 'APIResourceList', groupVersion: url.pathname.replace(/^\/apis?\//, ''), resources: RESOURCES[url.pathname].map((r) => ({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: true, kind: r.kind, verbs: ['create', 'delete', 'get', 'list', 'update', 'watch'] })) });
        return;
      }
      const m = /^(\/api\/v1|\/apis\/apps\/v1)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/.exec(url.pathname);
      if (!m) { status(404, 'NotFound', `no route ${url.pathname}`); return; }
      const [, prefix, ns, plural, name] = m;
      const key = `${prefix}/${ns}/${plural}/${name}`;
      if (req.method === 'GET' && !name && url.searchParams.get('watch') === 'true') {
        // Events from now on (the tests change objects after the client has listed them).
        res.writeHead(200, { 'content-type': 'application/json' });
        const watcher: Watcher = { prefix, plural, selector: url.searchParams.get('labelSelector'), send: (line) => res.write(line), end: () => res.end() };
        watchers.add(watcher);
        res.on('close', () => watchers.delete(watcher));
        return;
      }
      if (req.method === 'GET' && !name) {
        const items = [...store.entries()].filter(([k]) => k.startsWith(`${prefix}/`) && k.includes(`/${plural}/`)).map(([, v]) => v);
        const selector = url.searchParams.get('labelSelector');
        send(200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: items.filter((i) => matchesSelector(selector, i)) });
        return;
      }
      const existing = store.get(key);
      switch (req.method) {
        case 'GET':
          if (!existing) status(404, 'NotFound', `${plural} "${name}" not found`); else send(200, existing);
          return;
        case 'POST': {
          const objName = (body?.metadata as { name: string }).name;
          const k = `${prefix}/${ns}/${plural}/${objName}`;
          if (store.has(k)) { status(409, 'AlreadyExists', `${plural} "${objName}" already exists`); return; }
          const obj = { ...body, metadata: { ...(body?.metadata as object), resourceVersion: String(++rv) } };
          store.set(k, obj);
          notify('ADDED', k, obj);
          send(201, obj);
          return;
        }
        case 'PUT': {
          if (!existing) { status(404, 'NotFound', `${plural} "${name}" not found`); return; }
          const sent = (body?.metadata as { resourceVersion?: string }).resourceVersion;
          if (sent !== (existing.metadata as { resourceVersion: string }).resourceVersion) { status(409, 'Conflict', 'the object has been modified'); return; }
          const obj = { ...body, metadata: { ...(body?.metadata as object), resourceVersion: String(++rv) } };
          store.set(key, obj);
          notify('MODIFIED', key, obj);
          send(200, obj);
          return;
        }
        case 'DELETE':
          if (!existing) { status(404, 'NotFound', `${plural} "${name}" not found`); return; }
          store.delete(key);
          notify('DELETED', key, existing);
          send(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
          return;
        default:
          status(405, 'MethodNotAllowed', String(req.method));
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    url, requests, store,
    modify: (key, change) => {
      const obj = store.get(key);
      if (!obj) throw new Error(`no object ${key}`);
      change(obj);
      obj.metadata = { ...(obj.metadata as object), resourceVersion: String(++rv) };
      notify('MODIFIED', key, obj);
    },
    endWatches: () => { for (const w of [...watchers]) { watchers.delete(w); w.end(); } },
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'rec', server: url, skipTLSVerify: true }],
        users: [{ name: 'u', token: 'test-token' }],
        contexts: [{ name: 'rec', cluster: 'rec', user: 'u' }],
        currentContext: 'rec',
      });
      return kc;
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
