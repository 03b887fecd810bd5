// `--audit-policy-file` against the real `sr apiserver` on real etcd: requests over HTTPS (and kubectl) as several
// users, and the audit.k8s.io/v1 Event lines they leave: None for some users, resources and paths, Request and
// RequestResponse with the bodies, Metadata without them, omitted stages, impersonation, error statuses, and never
// a credential (a ClusterStream URL's password, a bearer token, an access_token query parameter).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlFor } from '../support/apiserver-kubectl';
import type { EtcdHandle } from '../support/etcd';
import { freePort, waitFor } from '../support/ports';
import { SR_CLI, startSecuredApiserver, startSecurityTestBed, stopSecurityTestBed, type RunningApiserver } from '../support/security-apiserver';
import { httpsCall, type RequestOptions, type Response } from '../support/security-client';
import { GROUP, GROUP_VERSION_PATH as GV, streamManifest, TOKENS, type SecurityFixtures } from '../support/security-fixtures';

const POLICY = `
apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
# Nobody wants bob's traffic, nor health probes.
- level: None
  users: ["bob"]
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"]
# Processors are not audited at all.
- level: None
  resources:
  - group: ${GROUP}
    resources: ["processors"]
# ClusterStreams carry addresses: everything, bodies included.
- level: RequestResponse
  resources:
  - group: ${GROUP}
    resources: ["clusterstreams"]
# team-a's writes in its namespace: the request body.
- level: Request
  userGroups: ["team-a"]
  verbs: ["create", "update", "patch"]
  namespaces: ["team-a"]
# The rest: who did what, one line.
- level: Metadata
  omitStages: ["RequestReceived"]
`;

interface AuditLine {
  kind: string;
  apiVersion: string;
  level: string;
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
  user: { username: string; uid?: string; groups?: string[] };
  impersonatedUser?: { username: string; groups?: string[] };
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; apiVersion?: string; subresource?: string };
  responseStatus?: { code: number; reason?: string; message?: string };
  requestObject?: Record<string, unknown>;
  responseObject?: Record<string, unknown>;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

let fixtures: SecurityFixtures;
let etcd: EtcdHandle;

before(async () => {
  ({ fixtures, etcd } = await startSecurityTestBed());
});

after(() => stopSecurityTestBed(etcd, fixtures));

function clusterStream(name: string, url: string): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'ClusterStream',
    metadata: { name },
    spec: { name, keys: ['truckid'], streamModes: ['read', 'write'], storage: { server: { url, protocol: 'rabbitmq' }, reclaimPolicy: 'Retain' } },
  };
}

describe('sr apiserver --audit-policy-file', () => {
  let server: RunningApiserver;
  let auditPath: string;
  const call = (path: string, opts: RequestOptions = {}): Promise<Response> => httpsCall(server.url, fixtures.servingCaPem, path, opts);
  const lines = (): AuditLine[] => readFileSync(auditPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditLine);

  before(async () => {
    auditPath = join(fixtures.dir, 'audit-policy.log');
    const policyPath = join(fixtures.dir, 'audit-policy.yaml');
    writeFileSync(policyPath, POLICY);
    server = await startSecuredApiserver(fixtures, etcd.endpoint, [
      `--token-auth-file=${fixtures.tokenFile}`,
      `--client-ca-file=${fixtures.clientCaFile}`,
      `--audit-log-path=${auditPath}`,
      `--audit-policy-file=${policyPath}`,
    ]);
  });
  after(async () => {
    await server?.stop();
  });

  test('levels, stages, bodies and identities as the policy says; no credential written', async () => {
    const marker = `m${Date.now()}`;
    // RequestResponse: a ClusterStream whose URL carries a password.
    const created = await call(`/apis/${GROUP}/v1alpha1/clusterstreams?marker=${marker}&fieldManager=audit-test`, {
      token: TOKENS.admin, method: 'POST', body: clusterStream('audited-cs', 'amqp://producer:s3cr3t-pw@rabbit.example:5672/vhost'),
    });
    assert.equal(created.status, 201, created.text);
    assert.ok((created.json as { metadata: { managedFields?: unknown } }).metadata.managedFields, 'the response has managedFields (the policy omits them)');
    // Request: carol (team-a) creates a Stream in team-a.
    assert.equal((await call(`${GV}/namespaces/team-a/streams?marker=${marker}`, { token: TOKENS.teamA, method: 'POST', body: streamManifest('carols', 'team-a') })).status, 201);
    // Metadata: reader lists and misses; the token in the query is masked.
    assert.equal((await call(`${GV}/namespaces/default/streams?marker=${marker}&access_token=${TOKENS.reader}`, { token: TOKENS.reader })).status, 200);
    assert.equal((await call(`${GV}/namespaces/default/streams/absent?marker=${marker}`, { token: TOKENS.reader })).status, 404);
    // None: bob, processors, health.
    assert.equal((await call(`${GV}/namespaces/default/streams?marker=${marker}`, { token: TOKENS.bob })).status, 200);
    assert.equal((await call(`${GV}/namespaces/default/processors?marker=${marker}`, { token: TOKENS.admin })).status, 200);
    assert.equal((await call(`/readyz?marker=${marker}`)).status, 200);
    // Impersonation: the policy looks at the real user; the event names both.
    assert.equal((await call(`${GV}/namespaces/default/streams?marker=${marker}&as=1`, { token: TOKENS.admin, headers: { 'Impersonate-User': 'reader' } })).status, 200);
    // No credentials: Metadata with an empty user and the 401 Status.
    assert.equal((await call(`${GV}/namespaces/default/streams?marker=${marker}&anon=1`)).status, 401);
    // A client certificate user through kubectl (RequestResponse: a ClusterStream), its response body audited too.
    const kubeconfig = join(fixtures.dir, 'audit-alice.kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority-data': Buffer.from(fixtures.servingCaPem).toString('base64') } }],
      users: [{ name: 'u', user: { 'client-certificate-data': Buffer.from(fixtures.alice.certPem).toString('base64'), 'client-key-data': Buffer.from(fixtures.alice.keyPem).toString('base64') } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    const kubectl = kubectlFor(kubeconfig);
    try {
      await kubectl.ok(['get', 'clusterstream', 'audited-cs', '-o', 'json']);
    } finally {
      kubectl.cleanup();
    }

    let all: AuditLine[] = [];
    await waitFor('the audit lines', () => {
      all = lines();
      return all.some((l) => l.requestURI.includes('anon=1')) && all.some((l) => l.user.username === 'alice' && l.verb === 'get' && l.stage === 'ResponseComplete');
    }, 15_000, 100);
    const text = readFileSync(auditPath, 'utf8');
    assert.ok(!text.includes('s3cr3t-pw'), 'the ClusterStream password was written');
    assert.ok(!text.includes('producer:'), 'the ClusterStream user info was written');
    for (const token of Object.values(TOKENS)) assert.ok(!text.includes(token), 'a token was written');
    assert.ok(!text.includes('BEGIN'), 'no certificates');
    for (const line of all) {
      assert.equal(line.kind, 'Event');
      assert.equal(line.apiVersion, 'audit.k8s.io/v1');
      assert.match(line.requestReceivedTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.match(line.stageTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.deepEqual(line.sourceIPs, ['127.0.0.1']);
    }
    const ours = all.filter((l) => l.requestURI.includes(marker));

    // RequestResponse: both stages, one auditID, both bodies, redacted.
    const cs = ours.filter((l) => l.objectRef?.resource === 'clusterstreams');
    assert.deepEqual(cs.map((l) => l.stage), ['RequestReceived', 'ResponseComplete']);
    assert.equal(cs[0].auditID, cs[1].auditID);
    const [received, complete] = cs;
    assert.equal(received.level, 'RequestResponse');
    assert.equal(received.responseStatus, undefined);
    assert.equal(received.requestObject, undefined, 'the body is not known when the request is received');
    assert.equal(complete.verb, 'create');
    assert.deepEqual(complete.user, { username: 'token-admin', uid: 'uid-admin', groups: ['system:masters', 'system:authenticated'] });
    assert.deepEqual(complete.objectRef, { resource: 'clusterstreams', apiGroup: GROUP, apiVersion: 'v1alpha1' });
    assert.equal(complete.responseStatus?.code, 201);
    const requestServer = ((complete.requestObject?.spec as Record<string, Record<string, Record<string, unknown>>>).storage.server);
    assert.equal(requestServer.url, 'amqp://rabbit.example:5672/vhost');
    const responseObject = complete.responseObject as { kind: string; metadata: { name: string; uid: string; managedFields?: unknown }; spec: { storage: { server: { url: string } } } };
    assert.equal(responseObject.kind, 'ClusterStream');
    assert.equal(responseObject.metadata.name, 'audited-cs');
    assert.ok(responseObject.metadata.uid);
    assert.equal(responseObject.metadata.managedFields, undefined, 'omitManagedFields');
    assert.equal(responseObject.spec.storage.server.url, 'amqp://rabbit.example:5672/vhost');
    assert.ok(Date.parse(complete.stageTimestamp.replace(/(\.\d{3})\d{3}Z$/, '$1Z')) >= Date.parse(complete.requestReceivedTimestamp.replace(/(\.\d{3})\d{3}Z$/, '$1Z')));

    // Request: the request body, no response body.
    const carol = ours.filter((l) => l.user.username === 'carol');
    assert.deepEqual(carol.map((l) => [l.stage, l.level]), [['RequestReceived', 'Request'], ['ResponseComplete', 'Request']]);
    assert.deepEqual(carol[1].objectRef, { resource: 'streams', namespace: 'team-a', apiGroup: GROUP, apiVersion: 'v1alpha1' });
    assert.equal((carol[1].requestObject?.metadata as { name: string }).name, 'carols');
    assert.equal(carol[1].responseObject, undefined);
    assert.equal(carol[1].responseStatus?.code, 201);

    // Metadata: one stage (RequestReceived omitted), no bodies; error statuses carry their reason; query masked.
    const reader = ours.filter((l) => l.user.username === 'reader');
    assert.deepEqual(reader.map((l) => [l.stage, l.level, l.verb, l.responseStatus?.code]), [['ResponseComplete', 'Metadata', 'list', 200], ['ResponseComplete', 'Metadata', 'get', 404]]);
    assert.match(reader[0].requestURI, /access_token=REDACTED/);
    assert.equal(reader[0].requestObject, undefined);
    assert.equal(reader[0].responseObject, undefined);
    assert.equal(reader[1].responseStatus?.reason, 'NotFound');
    assert.deepEqual(reader[1].objectRef, { resource: 'streams', namespace: 'default', name: 'absent', apiGroup: GROUP, apiVersion: 'v1alpha1' });

    // None: nothing at all.
    assert.ok(!ours.some((l) => l.user.username === 'bob'), 'bob is not audited');
    assert.ok(!ours.some((l) => l.objectRef?.resource === 'processors'), 'processors are not audited');
    assert.ok(!all.some((l) => l.requestURI.startsWith('/readyz')), 'health probes are not audited');

    // Impersonation: user is who authenticated, impersonatedUser whom it acted as.
    const impersonated = ours.find((l) => l.requestURI.includes('as=1'));
    assert.equal(impersonated?.user.username, 'token-admin');
    assert.equal(impersonated?.impersonatedUser?.username, 'reader');

    // Unauthenticated.
    const anonymous = ours.find((l) => l.requestURI.includes('anon=1'));
    assert.deepEqual(anonymous?.user, { username: '' });
    assert.equal(anonymous?.responseStatus?.code, 401);
    assert.equal(anonymous?.responseStatus?.reason, 'Unauthorized');

    // kubectl's get of the ClusterStream: RequestResponse, the object it read, user info removed.
    const kubectlGet = all.filter((l) => l.user.username === 'alice' && l.objectRef?.name === 'audited-cs');
    assert.deepEqual(kubectlGet.map((l) => l.stage), ['RequestReceived', 'ResponseComplete']);
    assert.match(kubectlGet[1].userAgent ?? '', /^kubectl/);
    assert.deepEqual(kubectlGet[1].user.groups, ['team-a', 'system:authenticated']);
    assert.equal(((kubectlGet[1].responseObject?.spec as { storage: { server: { url: string } } }).storage.server.url), 'amqp://rabbit.example:5672/vhost');
  });

  test('a bad policy file stops the server at startup with the field named', async () => {
    const bad = join(fixtures.dir, 'bad-audit-policy.yaml');
    writeFileSync(bad, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n- level: Everything\n  users: [x]\n');
    const port = await freePort();
    const child = spawn(process.execPath, [SR_CLI, 'apiserver', `--etcd-servers=${etcd.endpoint}`, '--bind-address=127.0.0.1', `--secure-port=${port}`,
      `--tls-cert-file=${fixtures.serving.certFile}`, `--tls-private-key-file=${fixtures.serving.keyFile}`, `--audit-log-path=${join(fixtures.dir, 'never.log')}`, `--audit-policy-file=${bad}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /--audit-policy-file .*bad-audit-policy\.yaml: rules\[1\]\.level: Unsupported value: "Everything"/);
  });
});
