// A stand-in for the three kube-apiserver endpoints an aggregated API server delegates to (there is no
// kube-apiserver on these machines): TokenReview, SubjectAccessReview and the extension-apiserver-authentication
// ConfigMap. It speaks the real wire format over HTTPS, so the code under test uses the real
// @kubernetes/client-node client and a real kubeconfig. It counts calls so tests can prove caching.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecurityFixtures } from './security-fixtures';

export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface SubjectAccessReviewSpecSeen {
  user?: string;
  groups?: string[];
  resourceAttributes?: Record<string, string>;
  nonResourceAttributes?: Record<string, string>;
}

export interface KubeStubOptions {
  certPem: string;
  keyPem: string;
  caPem: string;
  dir: string;
  /** Tokens kube-apiserver "knows". */
  tokens: Record<string, ReviewedUser>;
  /** Decides a SubjectAccessReview. */
  decide: (spec: SubjectAccessReviewSpecSeen) => { allowed: boolean; denied?: boolean; reason?: string };
  /** Data of kube-system/extension-apiserver-authentication; undefined answers 404. */
  publishedAuthentication?: Record<string, string>;
  /** The ConfigMap answers 500 until `setConfigMapBroken(false)` (a kube-apiserver that is still starting). */
  configMapBroken?: boolean;
}

export interface KubeStub {
  url: string;
  kubeconfigPath: string;
  calls: { tokenReviews: number; subjectAccessReviews: number; configMaps: number };
  /** Every SubjectAccessReview spec received, in order. */
  reviews: SubjectAccessReviewSpecSeen[];
  /** Makes every later call fail with 500 (kube-apiserver unavailable). */
  setBroken(broken: boolean): void;
  /** Makes later reads of the extension-apiserver-authentication ConfigMap alone fail with 500 (they are counted). */
  setConfigMapBroken(broken: boolean): void;
  /** Replaces the ConfigMap's data (a rotated front-proxy CA); undefined answers 404. */
  setPublishedAuthentication(data: Record<string, string> | undefined): void;
  close(): Promise<void>;
}

/** The token the stub requires from its own clients (the aggregated server's service account, in a cluster). */
export const DELEGATOR_TOKEN = 'delegator-service-account-token';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startKubeStub(opts: KubeStubOptions): Promise<KubeStub> {
  const calls = { tokenReviews: 0, subjectAccessReviews: 0, configMaps: 0 };
  const reviews: SubjectAccessReviewSpecSeen[] = [];
  let broken = false;
  let configMapBroken = opts.configMapBroken === true;
  let publishedAuthentication = opts.publishedAuthentication;
  const server: Server = createServer({ cert: opts.certPem, key: opts.keyPem }, (req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${DELEGATOR_TOKEN}`) return reply(res, 401, { kind: 'Status', code: 401 });
      const path = (req.url ?? '').split('?')[0];
      if (broken) return reply(res, 500, { kind: 'Status', code: 500, message: 'broken on purpose' });
      if (req.method === 'POST' && path === '/apis/authentication.k8s.io/v1/tokenreviews') {
        calls.tokenReviews++;
        const review = JSON.parse(await readBody(req)) as { spec?: { token?: string } };
        const user = opts.tokens[review.spec?.token ?? ''];
        return reply(res, 201, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: review.spec,
          status: user ? { authenticated: true, user } : { authenticated: false, error: 'unknown token' },
        });
      }
      if (req.method === 'POST' && path === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
        calls.subjectAccessReviews++;
        const review = JSON.parse(await readBody(req)) as { spec: SubjectAccessReviewSpecSeen };
        reviews.push(review.spec);
        return reply(res, 201, { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: review.spec, status: opts.decide(review.spec) });
      }
      if (req.method === 'GET' && path === '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication') {
        calls.configMaps++;
        if (configMapBroken) return reply(res, 500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, reason: 'InternalError', message: 'etcdserver: leader changed' });
        if (!publishedAuthentication) return reply(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' });
        return reply(res, 200, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system' },
          data: publishedAuthentication,
        });
      }
      return reply(res, 404, { kind: 'Status', code: 404 });
    })().catch((err: unknown) => reply(res, 500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(opts.dir, `kube-stub-${port}.kubeconfig`);
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stub', cluster: { server: url, 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') } }],
      users: [{ name: 'delegator', user: { token: DELEGATOR_TOKEN } }],
      contexts: [{ name: 'stub', context: { cluster: 'stub', user: 'delegator' } }],
      'current-context': 'stub',
    }),
  );
  return {
    url,
    kubeconfigPath,
    calls,
    reviews,
    setBroken: (value) => { broken = value; },
    setConfigMapBroken: (value) => { configMapBroken = value; },
    setPublishedAuthentication: (data) => { publishedAuthentication = data; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The stub's TLS and kubeconfig directory from the security fixtures: it serves the fixtures' serving pair. */
export function kubeStubTls(fixtures: SecurityFixtures): Pick<KubeStubOptions, 'certPem' | 'keyPem' | 'caPem' | 'dir'> {
  return { certPem: fixtures.serving.certPem, keyPem: fixtures.serving.keyPem, caPem: fixtures.servingCaPem, dir: fixtures.dir };
}

/** extension-apiserver-authentication's data as kube-apiserver publishes it for the front proxy of the security
 *  fixtures (allowed name and X-Remote-* headers), trusting the front-proxy CA `caPem`. */
export function publishedFrontProxy(caPem: string): Record<string, string> {
  return {
    'requestheader-client-ca-file': caPem,
    'requestheader-allowed-names': '["front-proxy-client"]',
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  };
}
