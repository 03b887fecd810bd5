// Security end to end: the real `sr apiserver` on real etcd, started with kube-apiserver's security flags, called
// over verified TLS with generated certificates — as kubectl users with client certificates and tokens, and exactly
// as kube-aggregator calls an aggregated API server (front-proxy client certificate + X-Remote-* headers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlFor } from '../support/apiserver-kubectl';
import type { EtcdHandle } from '../support/etcd';
import { waitFor } from '../support/ports';
import { fullSecurityFlags, startSecuredApiserver, startSecurityTestBed, stopSecurityTestBed, type RunningApiserver } from '../support/security-apiserver';
import { httpsCall, plainHttpProbe, statusOf, type RequestOptions, type Response } from '../support/security-client';
import { GROUP, GROUP_VERSION_PATH as GV, streamManifest, TOKENS, type SecurityFixtures } from '../support/security-fixtures';

const AGGREGATED_DISCOVERY = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

let fixtures: SecurityFixtures;
let etcd: EtcdHandle;

before(async () => {
  ({ fixtures, etcd } = await startSecurityTestBed());
});

after(() => stopSecurityTestBed(etcd, fixtures));

describe('sr apiserver with client CA, tokens, front proxy, RBAC and audit', () => {
  let server: RunningApiserver;
  let auditPath: string;
  const call = (path: string, opts: RequestOptions = {}): Promise<Response> => httpsCall(server.url, fixtures.servingCaPem, path, opts);
  /** As kube-aggregator proxies a user's request: its front-proxy certificate, the user in headers. */
  const viaAggregator = (user: string, groups: string[], opts: RequestOptions = {}): RequestOptions => ({
    ...opts,
    cert: fixtures.frontProxy,
    headers: { ...opts.headers, 'X-Remote-User': user },
    repeatedHeaders: groups.map((group) => ['X-Remote-Group', group] as [string, string]),
  });

  before(async () => {
    auditPath = join(fixtures.dir, 'audit-e2e.log');
    server = await startSecuredApiserver(fixtures, etcd.endpoint, fullSecurityFlags(fixtures, auditPath));
    // Objects the permission checks act on, created by an administrator (client certificate in system:masters).
    for (const [name, namespace] of [['orders', 'team-b'], ['payments', 'team-b'], ['existing', 'default']]) {
      const created = await call(`${GV}/namespaces/${namespace}/streams`, { method: 'POST', body: streamManifest(name, namespace), cert: fixtures.admin });
      assert.equal(created.status, 201, created.text);
    }
  });
  after(async () => {
    await server?.stop();
  });

  test('no credentials, or forged identity headers without the front-proxy certificate: 401 Status', async () => {
    const plain = await call(`${GV}/namespaces/default/streams`);
    assert.equal(plain.status, 401);
    assert.equal(statusOf(plain).kind, 'Status');
    assert.equal(statusOf(plain).reason, 'Unauthorized');
    const forged = await call(`${GV}/namespaces/default/streams`, { headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    assert.equal(forged.status, 401);
    assert.equal((await call(`${GV}/namespaces/default/streams`, { cert: fixtures.rogueAdmin })).status, 401);
    assert.equal((await call('/healthz')).status, 200, 'probes need no credentials');
  });

  test('front proxy with an allowed CN: the header user, with that user\'s permissions', async () => {
    const list = await call(`${GV}/namespaces/default/streams`, viaAggregator('reader', []));
    assert.equal(list.status, 200, list.text);
    const create = await call(`${GV}/namespaces/default/streams`, viaAggregator('reader', [], { method: 'POST', body: streamManifest('by-reader', 'default') }));
    assert.equal(create.status, 403);
    assert.equal(statusOf(create).message, `streams.${GROUP} is forbidden: User "reader" cannot create resource "streams" in API group "${GROUP}" in the namespace "default"`);
    // Groups from headers count: sr:readers may read.
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, viaAggregator('someone', ['sr:readers']))).status, 200);
  });

  test('front proxy certificate with a CN outside the allowed names: headers ignored', async () => {
    const response = await call(`${GV}/namespaces/default/streams`, { cert: fixtures.frontProxyNotAllowed, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    assert.equal(response.status, 401);
    // The right CN from the wrong CA authenticates as itself (client CA), never as the header's user.
    const wrongCa = await call(`${GV}/namespaces/default/streams`, { cert: fixtures.frontProxyWrongCa, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    assert.equal(wrongCa.status, 403);
    assert.match(statusOf(wrongCa).message ?? '', /User "front-proxy-client" cannot list/);
  });

  test('a read-only user gets 403 on create, update, patch, delete, deletecollection and /status', async () => {
    const reader = { token: TOKENS.reader };
    assert.equal((await call(`${GV}/namespaces/default/streams/existing`, reader)).status, 200);
    const attempts: Array<[string, string, unknown, string?]> = [
      ['POST', `${GV}/namespaces/default/streams`, streamManifest('nope', 'default')],
      ['PUT', `${GV}/namespaces/default/streams/existing`, streamManifest('existing', 'default')],
      ['PATCH', `${GV}/namespaces/default/streams/existing`, { metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json'],
      ['DELETE', `${GV}/namespaces/default/streams/existing`, undefined],
      ['DELETE', `${GV}/namespaces/default/streams`, undefined],
      ['PUT', `${GV}/namespaces/default/streams/existing/status`, { ...streamManifest('existing', 'default'), status: {} }],
      ['PATCH', `${GV}/namespaces/default/streams/existing/status`, { status: { conditions: [] } }, 'application/merge-patch+json'],
    ];
    for (const [method, path, body, contentType] of attempts) {
      const response = await call(path, { ...reader, method, body, headers: contentType ? { 'content-type': contentType } : {} });
      assert.equal(response.status, 403, `${method} ${path}: ${response.text}`);
      assert.equal(statusOf(response).reason, 'Forbidden');
    }
    const status = await call(`${GV}/namespaces/default/streams/existing/status`, { ...reader, method: 'PUT', body: streamManifest('existing', 'default') });
    assert.equal(statusOf(status).message, `streams.${GROUP} "existing" is forbidden: User "reader" cannot update resource "streams/status" in API group "${GROUP}" in the namespace "default"`);
    // Nothing changed.
    const after = await call(`${GV}/namespaces/default/streams/existing`, { cert: fixtures.admin });
    assert.equal(after.status, 200);
    assert.equal((after.json as { metadata: { labels?: Record<string, string> } }).metadata.labels?.a, undefined);
  });

  test('RBAC: namespaces, resourceNames and subresources', async () => {
    // Client certificate alice (O=team-a): the team-a RoleBinding to sr-editor applies in team-a only.
    const alice = { cert: fixtures.alice };
    const created = await call(`${GV}/namespaces/team-a/streams`, { ...alice, method: 'POST', body: streamManifest('alice-stream', 'team-a') });
    assert.equal(created.status, 201, created.text);
    assert.equal((await call(`${GV}/namespaces/team-b/streams`, { ...alice, method: 'POST', body: streamManifest('alice-stream', 'team-b') })).status, 403);
    assert.equal((await call(`${GV}/streams`, alice)).status, 403, 'all-namespace list needs a cluster-wide grant');
    assert.equal((await call(`${GV}/namespaces/team-a/streams/alice-stream/status`, { ...alice, method: 'PUT', body: streamManifest('alice-stream', 'team-a') })).status, 403, 'status is not granted');
    const scale = await call(`${GV}/namespaces/team-a/processors/p/scale`, alice);
    assert.ok(scale.status !== 401 && scale.status !== 403, `processors/scale is granted (got ${scale.status})`);
    const deleted = await call(`${GV}/namespaces/team-a/streams/alice-stream`, { ...alice, method: 'DELETE' });
    assert.equal(deleted.status, 200, deleted.text);

    // Token user bob: only the Stream named "orders" in team-b, only get/update/patch.
    const bob = { token: TOKENS.bob };
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, bob)).status, 200);
    const patched = await call(`${GV}/namespaces/team-b/streams/orders`, { ...bob, method: 'PATCH', body: { metadata: { labels: { owner: 'bob' } } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await call(`${GV}/namespaces/team-b/streams/payments`, bob)).status, 403);
    assert.equal((await call(`${GV}/namespaces/team-b/streams`, bob)).status, 403);
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, { ...bob, method: 'DELETE' })).status, 403);

    // A service account (through the front proxy) with only */status rights.
    const controller = viaAggregator('system:serviceaccount:streaming-runtime:sr-controllers', ['system:serviceaccounts', 'system:serviceaccounts:streaming-runtime']);
    const statusPatch = await call(`${GV}/namespaces/team-b/streams/orders/status`, { ...controller, method: 'PATCH', body: { status: { conditions: [] } }, headers: { ...controller.headers, 'content-type': 'application/merge-patch+json' } });
    assert.ok(statusPatch.status < 300, `status patch allowed: ${statusPatch.status} ${statusPatch.text}`);
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, { ...controller, method: 'DELETE' })).status, 403);
  });

  test('client certificate and token users: identity as expected', async () => {
    const carol = await call(`${GV}/namespaces/team-a/streams`, { token: TOKENS.teamA, method: 'POST', body: streamManifest('carol-stream', 'team-a') });
    assert.equal(carol.status, 201, carol.text);
    assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: 'wrong-token' })).status, 401);
    const admin = await call(`${GV}/clusterstreams`, { token: TOKENS.admin });
    assert.equal(admin.status, 200, 'token user in system:masters');
  });

  test('called exactly as kube-aggregator calls an aggregated API server: discovery, OpenAPI, CRUD', async () => {
    // Availability checks and discovery: system:kube-aggregator in system:masters.
    const aggregator = viaAggregator('system:kube-aggregator', ['system:masters']);
    const resources = await call(GV, aggregator);
    assert.equal(resources.status, 200, resources.text);
    assert.equal((resources.json as { kind: string }).kind, 'APIResourceList');
    const discovery = await call('/apis', { ...aggregator, headers: { ...aggregator.headers, accept: AGGREGATED_DISCOVERY } });
    assert.equal(discovery.status, 200, discovery.text);
    // OpenAPI aggregation: system:aggregator in system:masters.
    const openapiUser = viaAggregator('system:aggregator', ['system:masters']);
    assert.equal((await call('/openapi/v2', openapiUser)).status, 200);
    const v3 = await call('/openapi/v3', openapiUser);
    assert.equal(v3.status, 200, v3.text);
    const paths = (v3.json as { paths: Record<string, { serverRelativeURL: string }> }).paths;
    const groupDoc = paths[`apis/${GROUP}/v1alpha1`];
    assert.ok(groupDoc, 'OpenAPI v3 lists our group version');
    assert.equal((await call(groupDoc.serverRelativeURL, openapiUser)).status, 200);

    // A user's CRUD, proxied: the user in X-Remote-User, groups in repeated X-Remote-Group.
    const alice = (opts: RequestOptions = {}): RequestOptions => viaAggregator('alice', ['team-a', 'system:authenticated'], opts);
    const base = `${GV}/namespaces/team-a/streams`;
    const created = await call(base, alice({ method: 'POST', body: streamManifest('via-aggregator', 'team-a') }));
    assert.equal(created.status, 201, created.text);
    assert.equal((await call(`${base}/via-aggregator`, alice())).status, 200);
    assert.equal((await call(base, alice())).status, 200);
    const patched = await call(`${base}/via-aggregator`, alice({ method: 'PATCH', body: { metadata: { labels: { via: 'aggregator' } } }, headers: { 'content-type': 'application/merge-patch+json' } }));
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await call(`${base}/via-aggregator`, alice({ method: 'DELETE' }))).status, 200);
    assert.equal((await call(`${GV}/namespaces/team-b/streams`, alice({ method: 'POST', body: streamManifest('x', 'team-b') }))).status, 403);
    // Without its certificate the same headers are nothing.
    assert.equal((await call(base, { headers: { 'X-Remote-User': 'alice', 'X-Remote-Group': 'team-a' } })).status, 401);
  });

  test('audit log: user, groups, verb, resource, namespace, name, code, latency; no tokens, no bodies', async () => {
    let lines: Array<Record<string, unknown>> = [];
    await waitFor('audit of the aggregator CRUD', () => {
      lines = readFileSync(auditPath, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      return lines.some((line) => line.name === 'via-aggregator' && line.verb === 'delete');
    });
    const text = readFileSync(auditPath, 'utf8');
    for (const token of Object.values(TOKENS)) assert.ok(!text.includes(token), 'token in the audit log');
    assert.ok(!text.includes('truckid'), 'request bodies are not audited');
    const create = lines.find((line) => line.name === '' && line.verb === 'create' && line.user === 'alice' && line.code === 201);
    assert.ok(create, 'alice\'s create through the aggregator is audited as alice');
    assert.deepEqual(create.groups, ['team-a', 'system:authenticated']);
    assert.equal(create.resource, 'streams');
    assert.equal(create.namespace, 'team-a');
    assert.equal(typeof create.latencyMs, 'number');
    assert.ok(Date.parse(String(create.timestamp)) > 0);
    const denied = lines.find((line) => line.user === 'reader' && line.subresource === 'status' && line.code === 403);
    assert.ok(denied, 'a denied /status update is audited');
    assert.equal(denied.name, 'existing');
    assert.ok(lines.some((line) => line.code === 401 && line.user === ''), 'unauthenticated requests are audited');
  });

  test('kubectl (a Go TLS client) with a client certificate and with a token; Forbidden as kubectl shows it', async () => {
    const kubeconfig = (name: string, user: Record<string, string>): string => {
      const path = join(fixtures.dir, `${name}.kubeconfig`);
      writeFileSync(path, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': name,
        clusters: [{ name, cluster: { server: server.url, 'certificate-authority-data': Buffer.from(fixtures.servingCaPem).toString('base64') } }],
        users: [{ name, user }],
        contexts: [{ name, context: { cluster: name, user: name, namespace: 'team-a' } }],
      }));
      return path;
    };
    const alice = kubectlFor(kubeconfig('alice', {
      'client-certificate-data': Buffer.from(fixtures.alice.certPem).toString('base64'),
      'client-key-data': Buffer.from(fixtures.alice.keyPem).toString('base64'),
    }));
    const reader = kubectlFor(kubeconfig('reader', { token: TOKENS.reader }));
    try {
      const manifest = JSON.stringify(streamManifest('kubectl-stream', 'team-a'));
      assert.match(await alice.ok(['create', '-f', '-'], { input: manifest }), /kubectl-stream created/);
      assert.match(await reader.ok(['get', 'streams', '-n', 'team-a', 'kubectl-stream', '-o', 'name']), /kubectl-stream/);
      const denied = await reader.run(['delete', 'stream', 'kubectl-stream', '-n', 'team-a']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /Error from server \(Forbidden\): streams\.streaming\.tanzu\.vmware\.com "kubectl-stream" is forbidden: User "reader" cannot delete resource "streams" in API group "streaming\.tanzu\.vmware\.com" in the namespace "team-a"/);
      const impersonation = await reader.run(['get', 'streams', '-n', 'team-a', '--as=admin', '--as-group=system:masters']);
      assert.notEqual(impersonation.code, 0);
      assert.match(impersonation.stderr, /users "admin" is forbidden: User "reader" cannot impersonate resource "users" in API group "" at the cluster scope/);
      const elsewhere = await alice.run(['create', '-n', 'team-b', '-f', '-'], { input: JSON.stringify(streamManifest('kubectl-stream', 'team-b')) });
      assert.notEqual(elsewhere.code, 0);
      assert.match(elsewhere.stderr, /is forbidden: User "alice" cannot create resource "streams"/);
      assert.equal((await call(`${GV}/namespaces/team-a/streams/kubectl-stream`, { cert: fixtures.alice, method: 'DELETE' })).status, 200);
    } finally {
      alice.cleanup();
      reader.cleanup();
    }
  });

  test('plain HTTP to the secure port is not served', async () => {
    const answer = await plainHttpProbe(server.port, `${GV}/namespaces/default/streams`);
    assert.doesNotMatch(answer, /^HTTP\/1\.[01] 2/);
    assert.ok(!answer.includes('existing'), 'no data over plain HTTP');
  });
});

describe('sr apiserver with anonymous access and tiny in-flight limits', () => {
  let server: RunningApiserver;
  const call = (path: string, opts: RequestOptions = {}): Promise<Response> => httpsCall(server.url, fixtures.servingCaPem, path, opts);

  before(async () => {
    server = await startSecuredApiserver(fixtures, etcd.endpoint, [
      '--anonymous-auth=true',
      `--token-auth-file=${fixtures.tokenFile}`,
      '--authorization-mode=RBAC',
      `--authorization-policy-file=${fixtures.policyFile}`,
      '--max-requests-inflight=1',
      '--max-mutating-requests-inflight=1',
    ]);
  });
  after(async () => {
    await server?.stop();
  });

  test('anonymous on: discovery and health only', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version', '/apis', GV, '/openapi/v3']) {
      const response = await call(path);
      assert.equal(response.status, 200, `${path}: ${response.text}`);
    }
    for (const path of [`${GV}/namespaces/default/streams`, `${GV}/clusterstreams`, '/metrics']) {
      assert.equal((await call(path)).status, 401, path);
    }
    assert.equal((await call(`${GV}/namespaces/default/streams`, { method: 'POST', body: streamManifest('anon', 'default') })).status, 401);
  });

  test('429 TooManyRequests with Retry-After while the mutating budget is taken', async () => {
    // A create whose body is still arriving occupies the single mutating slot. system:masters is exempt from the
    // limits, so the slot is held by a counted user: carol (group team-a), creating in team-a.
    const body = JSON.stringify(streamManifest('slow', 'team-a'));
    const held = httpsRequest({
      hostname: '127.0.0.1', port: server.port, path: `${GV}/namespaces/team-a/streams`, method: 'POST', ca: [fixtures.servingCaPem], servername: 'localhost', agent: false,
      headers: { authorization: `Bearer ${TOKENS.teamA}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) + 10 },
    });
    held.on('error', () => undefined);
    held.write(body.slice(0, 10));
    try {
      let rejected: Response | undefined;
      await waitFor('the held create to occupy the mutating slot', async () => {
        rejected = await call(`${GV}/namespaces/team-a/streams`, { token: TOKENS.teamA, method: 'POST', body: streamManifest('second', 'team-a') });
        return rejected.status === 429;
      }, 15_000, 100);
      assert.equal(rejected?.headers['retry-after'], '1');
      assert.equal(statusOf(rejected!).reason, 'TooManyRequests');
      assert.equal(statusOf(rejected!).code, 429);
      // Reads have their own budget; an administrator is never limited.
      assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: TOKENS.teamA })).status, 200);
      assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: TOKENS.admin, method: 'POST', body: streamManifest('by-admin', 'team-a') })).status, 201);
    } finally {
      held.destroy();
    }
    await waitFor('the slot to be released', async () => (await call(`${GV}/namespaces/team-a/streams`, { token: TOKENS.teamA, method: 'POST', body: streamManifest('after', 'team-a') })).status === 201, 15_000, 100);
  });
});
