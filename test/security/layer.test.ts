// The security layer on a small fastify HTTPS app of its own (the route only echoes what the layer decided), so
// every authentication path, RBAC outcome, header stripping, the audit log, in-flight limits and delegation to
// kube-apiserver (TokenReview, SubjectAccessReview, the published front-proxy ConfigMap) can be observed directly.
// The same layer inside the real `sr apiserver` is covered by apiserver.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecurityFixtures, GROUP, GROUP_VERSION_PATH as GV, TOKENS, type SecurityFixtures } from '../support/security-fixtures';
import { startSecuredApp, type EchoBody, type SecuredApp } from '../support/security-app';
import { httpsCall, plainHttpProbe, statusOf, type RequestOptions, type Response } from '../support/security-client';
import { kubeStubTls, publishedFrontProxy, startKubeStub, type KubeStub } from '../support/security-kube-stub';
import { waitFor } from '../support/ports';

let fixtures: SecurityFixtures;

before(() => {
  fixtures = createSecurityFixtures();
});

after(() => {
  fixtures.remove();
});

function caller(app: () => SecuredApp) {
  return (path: string, opts: RequestOptions = {}): Promise<Response> => httpsCall(app().url, fixtures.servingCaPem, path, opts);
}

function echo(response: Response): EchoBody {
  assert.equal(response.status, 200, response.text);
  return response.json as EchoBody;
}

describe('authentication, RBAC and audit (client CA, tokens, front proxy)', () => {
  let app: SecuredApp;
  const call = caller(() => app);
  let auditPath: string;

  before(async () => {
    auditPath = join(fixtures.dir, 'audit-rbac.log');
    app = await startSecuredApp(fixtures, {
      clientCaFile: fixtures.clientCaFile,
      tokenAuthFile: fixtures.tokenFile,
      requestheaderClientCaFile: fixtures.frontProxyCaFile,
      requestheaderAllowedNames: ['front-proxy-client'],
      authorizationMode: ['RBAC'],
      authorizationPolicyFile: fixtures.policyFile,
      auditLogPath: auditPath,
    });
  });
  after(async () => {
    await app?.close();
  });

  test('no credentials: 401 Unauthorized Status; health still answers', async () => {
    const response = await call(`${GV}/namespaces/default/streams`);
    assert.equal(response.status, 401);
    assert.deepEqual(response.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    assert.equal((await call('/apis')).status, 401, 'anonymous is off: discovery needs credentials');
    assert.equal((await call('/version')).status, 401);
    assert.equal((await call('/healthz')).status, 200);
    assert.equal((await call('/readyz/etcd')).status, 200);
  });

  test('forged identity headers without the front-proxy certificate: 401', async () => {
    const forged = { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' };
    assert.equal((await call(`${GV}/namespaces/default/streams`, { headers: forged })).status, 401);
    const rogue = await call(`${GV}/namespaces/default/streams`, { headers: forged, cert: fixtures.rogueAdmin });
    assert.equal(rogue.status, 401, 'a certificate from an untrusted CA is no credential');
  });

  test('a client-CA user cannot borrow identity headers; they are stripped', async () => {
    const body = echo(await call(`${GV}/namespaces/team-a/streams`, { cert: fixtures.alice, headers: { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters', 'x-remote-extra-scopes': 'all' } }));
    assert.equal(body.user?.name, 'alice');
    assert.deepEqual(body.user?.groups, ['team-a', 'system:authenticated']);
    assert.equal(body.headers['x-remote-user'], undefined);
    assert.equal(body.headers['x-remote-group'], undefined);
    assert.equal(body.headers['x-remote-extra-scopes'], undefined);
  });

  test('front proxy: verified, allowed certificate makes the headers the identity (repeated groups, extras)', async () => {
    const response = await call(`${GV}/namespaces/default/streams`, {
      cert: fixtures.frontProxy,
      headers: { 'X-Remote-User': 'reader', 'X-Remote-Uid': 'u-1', 'X-Remote-Extra-Scopes': 'view', 'X-Remote-Extra-Acme.com%2Fproject': 'p1' },
      repeatedHeaders: [['X-Remote-Group', 'sr:readers'], ['X-Remote-Group', 'group, with comma']],
    });
    const body = echo(response);
    assert.equal(body.user?.name, 'reader');
    assert.equal(body.user?.uid, 'u-1');
    assert.deepEqual(body.user?.groups, ['sr:readers', 'group, with comma', 'system:authenticated']);
    assert.deepEqual(body.user?.extra, { scopes: ['view'], 'acme.com/project': ['p1'] });
    for (const header of Object.keys(body.headers)) assert.doesNotMatch(header, /^x-remote-/, `${header} reached the handler`);
    // The named user's own permissions apply (reader may list but not create).
    const denied = await call(`${GV}/namespaces/default/streams`, { method: 'POST', body: {}, cert: fixtures.frontProxy, headers: { 'X-Remote-User': 'reader' } });
    assert.equal(denied.status, 403);
    assert.match(statusOf(denied).message ?? '', /User "reader" cannot create/);
  });

  test('front proxy: CN not in the allowed names, or the right CN from the wrong CA: headers ignored', async () => {
    const headers = { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' };
    assert.equal((await call(`${GV}/streams`, { cert: fixtures.frontProxyNotAllowed, headers })).status, 401);
    // Signed by the client CA: it authenticates as itself, never as the header's user.
    const wrongCa = echo(await call('/version', { cert: fixtures.frontProxyWrongCa, headers }));
    assert.equal(wrongCa.user?.name, 'front-proxy-client');
    assert.ok(!wrongCa.user?.groups.includes('system:masters'));
    // A front-proxy certificate without identity headers is not a client certificate of this server.
    assert.equal((await call('/version', { cert: fixtures.frontProxy })).status, 401);
  });

  test('client certificate: CN is the user, O the groups; system:masters is allowed everything', async () => {
    const admin = echo(await call(`${GV}/namespaces/x/processors/p/status`, { method: 'PUT', body: {}, cert: fixtures.admin }));
    assert.equal(admin.user?.name, 'admin');
    assert.deepEqual(admin.user?.groups, ['system:masters', 'system:authenticated']);
    assert.equal(admin.requestInfo?.subresource, 'status');
  });

  test('static tokens: the user of the CSV line; unknown tokens 401; Authorization never reaches handlers', async () => {
    const body = echo(await call(`${GV}/namespaces/team-a/streams`, { token: TOKENS.teamA }));
    assert.deepEqual(body.user, { name: 'carol', uid: 'uid-carol', groups: ['team-a', 'developers', 'system:authenticated'] });
    assert.equal(body.headers.authorization, undefined);
    assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: 'not-a-token' })).status, 401);
    assert.equal((await call(`${GV}/namespaces/team-a/streams`, { headers: { authorization: 'Basic YTpi' } })).status, 401);
  });

  test('read-only user: 403 on create, update, patch, delete, deletecollection and /status, with Kubernetes messages', async () => {
    const asReader = { token: TOKENS.reader };
    assert.equal((await call(`${GV}/namespaces/default/streams`, asReader)).status, 200);
    assert.equal((await call(`${GV}/namespaces/default/streams/s1`, asReader)).status, 200);
    assert.equal((await call(`${GV}/streams?watch=1`, asReader)).status, 200);

    const create = await call(`${GV}/namespaces/default/streams`, { ...asReader, method: 'POST', body: { metadata: { name: 'x' } } });
    assert.equal(create.status, 403);
    assert.deepEqual(create.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `streams.${GROUP} is forbidden: User "reader" cannot create resource "streams" in API group "${GROUP}" in the namespace "default"`,
      reason: 'Forbidden',
      details: { group: GROUP, kind: 'streams' },
      code: 403,
    });
    const patch = await call(`${GV}/namespaces/default/streams/x`, { ...asReader, method: 'PATCH', body: {}, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patch.status, 403);
    assert.equal(statusOf(patch).message, `streams.${GROUP} "x" is forbidden: User "reader" cannot patch resource "streams" in API group "${GROUP}" in the namespace "default"`);
    assert.deepEqual(statusOf(patch).details, { name: 'x', group: GROUP, kind: 'streams' });
    for (const [method, path] of [['PUT', `${GV}/namespaces/default/streams/x`], ['DELETE', `${GV}/namespaces/default/streams/x`], ['DELETE', `${GV}/namespaces/default/streams`]]) {
      assert.equal((await call(path, { ...asReader, method })).status, 403, `${method} ${path}`);
    }
    const status = await call(`${GV}/namespaces/default/processors/p1/status`, { ...asReader, method: 'PUT', body: {} });
    assert.equal(status.status, 403);
    assert.equal(statusOf(status).message, `processors.${GROUP} "p1" is forbidden: User "reader" cannot update resource "processors/status" in API group "${GROUP}" in the namespace "default"`);
    const cluster = await call(`${GV}/clusterstreams`, { ...asReader, method: 'POST', body: {} });
    assert.equal(statusOf(cluster).message, `clusterstreams.${GROUP} is forbidden: User "reader" cannot create resource "clusterstreams" in API group "${GROUP}" at the cluster scope`);
    const metrics = await call('/metrics', asReader);
    assert.equal(metrics.status, 403);
    assert.equal(statusOf(metrics).message, 'forbidden: User "reader" cannot get path "/metrics"');
    // Discovery is granted to every authenticated user by the built-in policy.
    assert.equal((await call(`${GV}`, asReader)).status, 200);
    assert.equal((await call('/openapi/v3', asReader)).status, 200);
  });

  test('RBAC: namespaces, subresources and resourceNames', async () => {
    const teamA = { token: TOKENS.teamA };
    assert.equal((await call(`${GV}/namespaces/team-a/processors`, { ...teamA, method: 'POST', body: {} })).status, 200);
    assert.equal((await call(`${GV}/namespaces/team-b/processors`, { ...teamA, method: 'POST', body: {} })).status, 403);
    assert.equal((await call(`${GV}/processors`, teamA)).status, 403, 'a RoleBinding does not grant across namespaces');
    assert.equal((await call(`${GV}/namespaces/team-a/processors/p/scale`, { ...teamA, method: 'PATCH', body: {} })).status, 200);
    assert.equal((await call(`${GV}/namespaces/team-a/processors/p/status`, { ...teamA, method: 'PUT', body: {} })).status, 403);
    assert.equal((await call(`${GV}/namespaces/team-a/clusterstreams`, teamA)).status, 403);

    const bob = { token: TOKENS.bob };
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, bob)).status, 200);
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, { ...bob, method: 'PUT', body: {} })).status, 200);
    assert.equal((await call(`${GV}/namespaces/team-b/streams/payments`, bob)).status, 403);
    assert.equal((await call(`${GV}/namespaces/team-b/streams`, bob)).status, 403);
    assert.equal((await call(`${GV}/namespaces/team-b/streams?fieldSelector=metadata.name%3Dorders`, bob)).status, 403, 'list is not a granted verb');
    assert.equal((await call(`${GV}/namespaces/team-b/streams/orders`, { ...bob, method: 'DELETE' })).status, 403);

    // Service accounts arrive through the front proxy as system:serviceaccount:<ns>:<name>.
    const controller = { cert: fixtures.frontProxy, headers: { 'x-remote-user': 'system:serviceaccount:streaming-runtime:sr-controllers' }, repeatedHeaders: [['x-remote-group', 'system:serviceaccounts'] as [string, string]] };
    assert.equal((await call(`${GV}/namespaces/any/processors/p/status`, { ...controller, method: 'PATCH', body: {} })).status, 200);
    assert.equal((await call('/metrics', controller)).status, 200);
    assert.equal((await call(`${GV}/namespaces/any/processors/p`, { ...controller, method: 'PATCH', body: {} })).status, 403);
  });

  test('impersonation (kubectl --as): authorized per user and group, then the request runs as the target', async () => {
    const asReader = echo(await call(`${GV}/namespaces/default/streams`, { token: TOKENS.admin, headers: { 'Impersonate-User': 'reader' } }));
    assert.deepEqual(asReader.user, { name: 'reader', groups: ['system:authenticated'] });
    assert.equal(asReader.headers['impersonate-user'], undefined, 'impersonation headers never reach handlers');
    const denied = await call(`${GV}/namespaces/default/streams`, { token: TOKENS.admin, method: 'POST', body: {}, headers: { 'Impersonate-User': 'reader' } });
    assert.equal(denied.status, 403);
    assert.match(statusOf(denied).message ?? '', /User "reader" cannot create resource "streams"/);

    const carol = { token: TOKENS.teamA };
    const withGroup = echo(await call(`${GV}/namespaces/default/streams`, { ...carol, headers: { 'Impersonate-User': 'reader' }, repeatedHeaders: [['Impersonate-Group', 'sr:readers']] }));
    assert.deepEqual(withGroup.user, { name: 'reader', groups: ['sr:readers', 'system:authenticated'] });
    const notBob = await call(`${GV}/namespaces/default/streams`, { ...carol, headers: { 'Impersonate-User': 'bob' } });
    assert.equal(notBob.status, 403);
    assert.equal(statusOf(notBob).message, 'users "bob" is forbidden: User "carol" cannot impersonate resource "users" in API group "" at the cluster scope');
    const notMasters = await call(`${GV}/namespaces/default/streams`, { ...carol, headers: { 'Impersonate-User': 'reader', 'Impersonate-Group': 'system:masters' } });
    assert.equal(statusOf(notMasters).message, 'groups "system:masters" is forbidden: User "carol" cannot impersonate resource "groups" in API group "" at the cluster scope');
    const serviceAccount = await call(`${GV}/namespaces/default/streams`, { token: TOKENS.reader, headers: { 'Impersonate-User': 'system:serviceaccount:streaming-runtime:sr-controllers' } });
    assert.equal(statusOf(serviceAccount).message, 'serviceaccounts "sr-controllers" is forbidden: User "reader" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "streaming-runtime"');
    const asServiceAccount = echo(await call('/version', { token: TOKENS.admin, headers: { 'Impersonate-User': 'system:serviceaccount:streaming-runtime:sr-controllers' } }));
    assert.deepEqual(asServiceAccount.user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:streaming-runtime', 'system:authenticated']);
    const groupOnly = await call(`${GV}/namespaces/default/streams`, { token: TOKENS.admin, headers: { 'Impersonate-Group': 'dev' } });
    assert.equal(groupOnly.status, 400);
    assert.equal(statusOf(groupOnly).reason, 'BadRequest');
  });

  test('audit log: one JSON line per request with who/what/outcome, never a token or a body', async () => {
    const marker = `audit-marker-${Date.now()}`;
    await call(`${GV}/namespaces/default/streams?marker=${marker}`, { token: TOKENS.reader, method: 'POST', body: { secretField: 'body-must-not-be-logged' } });
    await call(`${GV}/namespaces/default/streams?marker=${marker}&access_token=${TOKENS.admin}`, { token: TOKENS.reader });
    let lines: Array<Record<string, unknown>> = [];
    await waitFor('audit lines', () => {
      lines = readFileSync(auditPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      return lines.filter((line) => String(line.requestURI).includes(marker)).length === 2;
    });
    const text = readFileSync(auditPath, 'utf8');
    for (const token of Object.values(TOKENS)) assert.ok(!text.includes(token), 'a token leaked into the audit log');
    assert.ok(!text.includes('body-must-not-be-logged'));
    assert.ok(!text.includes('BEGIN'), 'no certificates');
    const create = lines.find((line) => String(line.requestURI).includes(marker) && line.verb === 'create');
    assert.ok(create);
    assert.equal(create.user, 'reader');
    assert.deepEqual(create.groups, ['system:authenticated']);
    assert.equal(create.resource, 'streams');
    assert.equal(create.namespace, 'default');
    assert.equal(create.apiGroup, GROUP);
    assert.equal(create.code, 403);
    assert.equal(typeof create.latencyMs, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(create.timestamp))));
    const list = lines.find((line) => String(line.requestURI).includes(marker) && line.verb === 'list');
    assert.equal(list?.code, 200);
    assert.match(String(list?.requestURI), /access_token=REDACTED/);
    const unauthorized = lines.find((line) => line.code === 401);
    assert.equal(unauthorized?.user, '', 'failed authentication is audited without a user');
    const statusUpdate = lines.find((line) => line.subresource === 'status' && line.user === 'admin');
    assert.equal(statusUpdate?.name, 'p');
    const impersonated = lines.find((line) => line.user === 'reader' && line.impersonatedBy === 'carol');
    assert.ok(impersonated, 'impersonated requests record the real user');
  });

  test('plain HTTP to the secure port is not served', async () => {
    const answer = await plainHttpProbe(app.port, `${GV}/namespaces/default/streams`);
    assert.doesNotMatch(answer, /^HTTP\/1\.[01] 2/);
    assert.ok(!answer.includes('"kind"'));
  });
});

describe('anonymous access', () => {
  let app: SecuredApp;
  const call = caller(() => app);
  before(async () => {
    app = await startSecuredApp(fixtures, { anonymousAuth: true, clientCaFile: fixtures.clientCaFile, tokenAuthFile: fixtures.tokenFile, authorizationMode: ['RBAC'], authorizationPolicyFile: fixtures.policyFile });
  });
  after(async () => {
    await app?.close();
  });

  test('on: health, version, discovery and OpenAPI only', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version', '/apis', `/apis/${GROUP}`, GV, '/openapi/v2', '/openapi/v3', `/openapi/v3${GV}?hash=abc`]) {
      const response = await call(path);
      assert.equal(response.status, 200, path);
      assert.equal((response.json as EchoBody).user?.name, 'system:anonymous', path);
    }
    for (const path of [`${GV}/namespaces/default/streams`, `${GV}/clusterstreams`, '/metrics', '/debug/pprof']) {
      const response = await call(path);
      assert.equal(response.status, 401, path);
      assert.equal(statusOf(response).reason, 'Unauthorized');
    }
    assert.equal((await call('/apis', { method: 'POST', body: {} })).status, 403, 'anonymous may only read discovery');
  });

  test('wrong credentials are not downgraded to anonymous', async () => {
    assert.equal((await call('/apis', { token: 'wrong' })).status, 401);
    assert.equal((await call('/apis', { cert: fixtures.rogueAdmin })).status, 401);
    assert.equal(echo(await call('/apis', { token: TOKENS.reader })).user?.name, 'reader');
  });
});

describe('in-flight limits', () => {
  let app: SecuredApp;
  const call = caller(() => app);
  before(async () => {
    app = await startSecuredApp(fixtures, { tokenAuthFile: fixtures.tokenFile, maxRequestsInflight: 1, maxMutatingRequestsInflight: 1 });
  });
  after(async () => {
    await app?.close();
  });

  test('429 with Retry-After once a budget is full; watches and system:masters are not counted', async () => {
    const reader = { token: TOKENS.reader };
    const heldRead = call('/hold/read', reader);
    await waitFor('read request held', () => app.held() === 1);
    const rejected = await call(`${GV}/namespaces/default/streams`, reader);
    assert.equal(rejected.status, 429);
    assert.equal(rejected.headers['retry-after'], '1');
    assert.deepEqual(rejected.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Too many requests, please try again later.',
      reason: 'TooManyRequests', details: { retryAfterSeconds: 1 }, code: 429,
    });
    assert.equal((await call(`${GV}/namespaces/default/streams?watch=1`, reader)).status, 200, 'watches are long-running, not counted');
    assert.equal((await call(`${GV}/namespaces/default/streams`, { token: TOKENS.admin })).status, 200, 'system:masters is exempt');
    assert.equal((await call('/healthz')).status, 200, 'probes are exempt');

    // The mutating budget is separate: one create fits, a second is rejected.
    const heldWrite = call(`${GV}/namespaces/default/streams/hold/x`, { ...reader, method: 'POST', body: {} });
    await waitFor('write request held', () => app.held() === 2);
    assert.equal((await call(`${GV}/namespaces/default/streams`, { ...reader, method: 'POST', body: {} })).status, 429);

    app.releaseHeld();
    assert.equal((await heldRead).status, 200);
    assert.equal((await heldWrite).status, 200);
    assert.equal((await call(`${GV}/namespaces/default/streams`, reader)).status, 200, 'budget released after the response');
    assert.equal((await call(`${GV}/namespaces/default/streams`, { ...reader, method: 'POST', body: {} })).status, 200);
  });
});

describe('delegation to kube-apiserver: TokenReview, SubjectAccessReview, published front-proxy settings', () => {
  let app: SecuredApp;
  let stub: KubeStub;
  const call = caller(() => app);
  before(async () => {
    stub = await startKubeStub({
      ...kubeStubTls(fixtures),
      tokens: { 'sa-token': { username: 'system:serviceaccount:team-a:builder', uid: 'sa-uid', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a'] } },
      decide: (spec) => {
        const attrs = spec.resourceAttributes;
        if (spec.user === 'kube-admin') return { allowed: true };
        if (attrs?.resource === 'processors' && attrs.verb === 'delete') return { allowed: false, denied: true, reason: 'deletes are reviewed by humans' };
        if (spec.user?.startsWith('system:serviceaccount:team-a:') && attrs?.namespace === 'team-a' && ['get', 'list'].includes(attrs.verb)) return { allowed: true };
        if (spec.nonResourceAttributes?.path === '/apis') return { allowed: true };
        return { allowed: false };
      },
      publishedAuthentication: publishedFrontProxy(readFileSync(fixtures.frontProxyCaFile, 'utf8')),
    });
    app = await startSecuredApp(fixtures, {
      authenticationKubeconfig: stub.kubeconfigPath,
      authorizationKubeconfig: stub.kubeconfigPath,
      authorizationMode: ['Webhook'],
    });
  });
  after(async () => {
    await app?.close();
    await stub?.close();
  });

  test('bearer tokens are checked with TokenReview and cached', async () => {
    const body = echo(await call(`${GV}/namespaces/team-a/streams`, { token: 'sa-token' }));
    assert.equal(body.user?.name, 'system:serviceaccount:team-a:builder');
    assert.deepEqual(body.user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
    const before = { ...stub.calls };
    assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: 'sa-token' })).status, 200);
    assert.equal(stub.calls.tokenReviews, before.tokenReviews, 'TokenReview answer cached');
    assert.equal(stub.calls.subjectAccessReviews, before.subjectAccessReviews, 'SubjectAccessReview answer cached');
    assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: 'unknown' })).status, 401);
  });

  test('SubjectAccessReview carries the request attributes; allow, deny and no opinion', async () => {
    await call(`${GV}/namespaces/team-a/processors/p1/scale`, { token: 'sa-token' });
    const review = stub.reviews.at(-1);
    assert.deepEqual(review?.resourceAttributes, { namespace: 'team-a', verb: 'get', group: GROUP, version: 'v1alpha1', resource: 'processors', subresource: 'scale', name: 'p1' });
    assert.equal(review?.user, 'system:serviceaccount:team-a:builder');
    const denied = await call(`${GV}/namespaces/team-a/processors/p1`, { token: 'sa-token', method: 'DELETE' });
    assert.equal(denied.status, 403);
    assert.match(statusOf(denied).message ?? '', /cannot delete resource "processors" .*: deletes are reviewed by humans$/);
    assert.equal((await call(`${GV}/namespaces/team-b/streams`, { token: 'sa-token' })).status, 403);
  });

  test('front-proxy settings come from kube-system/extension-apiserver-authentication', async () => {
    assert.ok(stub.calls.configMaps >= 1);
    const body = echo(await call('/apis', { cert: fixtures.frontProxy, headers: { 'x-remote-user': 'kube-admin' }, repeatedHeaders: [['x-remote-group', 'system:authenticated']] }));
    assert.equal(body.user?.name, 'kube-admin');
    assert.equal((await call('/apis', { cert: fixtures.frontProxyNotAllowed, headers: { 'x-remote-user': 'kube-admin' } })).status, 401);
    const nonResource = stub.reviews.find((r) => r.nonResourceAttributes);
    assert.deepEqual(nonResource?.nonResourceAttributes, { path: '/apis', verb: 'get' });
  });

  test('kube-apiserver unreachable: cached decisions hold, new questions fail closed (401/500)', async () => {
    stub.setBroken(true);
    try {
      assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: 'sa-token' })).status, 200, 'cached');
      assert.equal((await call(`${GV}/namespaces/team-a/streams`, { token: 'other-token' })).status, 401);
      const uncached = await call(`${GV}/namespaces/team-a/processors/new-one`, { token: 'sa-token' });
      assert.equal(uncached.status, 500);
      assert.equal(statusOf(uncached).reason, 'InternalError');
    } finally {
      stub.setBroken(false);
    }
  });
});
