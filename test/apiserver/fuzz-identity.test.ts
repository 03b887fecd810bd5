// Fuzzed credentials and identity headers, against the real server with kube-apiserver's security flags (client CA,
// static tokens, front proxy, RBAC, audit log): malformed Authorization headers (Bearer, Basic, huge, unicode,
// empty), client certificates of a CA nobody trusts, X-Remote-* identity headers from clients without the front-proxy
// certificate, Impersonate-* headers from users who may not impersonate, and malformed values of all of them.
//
// Each request's answer is predicted from what its credentials give — a small model of the authentication order,
// impersonation and the RBAC policy of support/security-fixtures.ts — and must be exactly that: so a reader whose
// headers claim system:masters is refused its create, as the model says, instead of gaining it. Never a 5xx; every
// error a Status; and the audit log names, for every request, the identity the model expects and no other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import type { OutgoingHttpHeaders } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdHandle } from '../support/etcd';
import { fullSecurityFlags, startSecuredApiserver, startSecurityTestBed, stopSecurityTestBed, type RunningApiserver } from '../support/security-apiserver';
import { GROUP, GROUP_VERSION_PATH as GV, TOKENS, type ClientIdentityFiles, type SecurityFixtures } from '../support/security-fixtures';
import { fuzzSeed, replayHint, seededRandom, sendFuzzed, utf8HeaderValue, type FuzzAnswer, type Random } from '../support/fuzz';
import { waitFor } from '../support/ports';

const TOTAL = 3000;
const CONCURRENCY = 8;
const SEED = fuzzSeed();
const MASTERS = 'system:masters';
const AUTHENTICATED = 'system:authenticated';
const ANONYMOUS = 'system:anonymous';
/** Node's limit on a request's header section; beyond it the request is never parsed (400, not audited). */
const MAX_HEADER_BYTES = 16 * 1024;

let fixtures: SecurityFixtures;
let etcd: EtcdHandle;
let server: RunningApiserver;
let auditPath: string;

interface Identity { name: string; groups: string[] }

/** Who each static token is (support/security-fixtures.ts tokens.csv). */
const TOKEN_USERS: Record<string, Identity> = {
  [TOKENS.admin]: { name: 'token-admin', groups: [MASTERS] },
  [TOKENS.reader]: { name: 'reader', groups: [] },
  [TOKENS.teamA]: { name: 'carol', groups: ['team-a', 'developers'] },
  [TOKENS.bob]: { name: 'bob', groups: [] },
};

type CertName = 'admin' | 'alice' | 'rogueAdmin' | 'frontProxy' | 'frontProxyNotAllowed' | 'frontProxyWrongCa';
/** What a certificate proves by itself: a client-CA identity, or nothing (front-proxy CA, rogue CA). */
const CERT_USERS: Record<CertName, Identity | undefined> = {
  admin: { name: 'admin', groups: [MASTERS] },
  alice: { name: 'alice', groups: ['team-a'] },
  frontProxyWrongCa: { name: 'front-proxy-client', groups: [] },
  rogueAdmin: undefined,
  frontProxy: undefined,
  frontProxyNotAllowed: undefined,
};

/** What a request does, and what RBAC calls it. */
interface Action {
  method: string;
  path: string;
  body?: (i: number) => string;
  contentType?: string;
  verb: string;
  namespace: string;
  resource: string;
  name: string;
  /** The answer when authorized. */
  ok: number;
}

function streamBody(name: string, namespace: string): string {
  return JSON.stringify({ apiVersion: `${GROUP}/v1alpha1`, kind: 'Stream', metadata: { name, namespace }, spec: { protocol: 'kafka' } });
}

const ACTIONS: Action[] = [
  { method: 'GET', path: `${GV}/namespaces/fz-id/streams/victim`, verb: 'get', namespace: 'fz-id', resource: 'streams', name: 'victim', ok: 200 },
  { method: 'GET', path: `${GV}/namespaces/fz-id/streams`, verb: 'list', namespace: 'fz-id', resource: 'streams', name: '', ok: 200 },
  { method: 'POST', path: `${GV}/namespaces/fz-id/streams`, body: (i) => streamBody(`id-${i}`, 'fz-id'), verb: 'create', namespace: 'fz-id', resource: 'streams', name: '', ok: 201 },
  { method: 'DELETE', path: `${GV}/namespaces/fz-id/streams/victim?dryRun=All`, verb: 'delete', namespace: 'fz-id', resource: 'streams', name: 'victim', ok: 200 },
  { method: 'POST', path: `${GV}/namespaces/team-a/streams`, body: (i) => streamBody(`id-${i}`, 'team-a'), verb: 'create', namespace: 'team-a', resource: 'streams', name: '', ok: 201 },
  { method: 'PATCH', path: `${GV}/namespaces/team-b/streams/orders?dryRun=All`, body: () => '{"metadata":{"labels":{"fuzz":"yes"}}}', contentType: 'application/merge-patch+json', verb: 'patch', namespace: 'team-b', resource: 'streams', name: 'orders', ok: 200 },
  { method: 'GET', path: `${GV}/clusterstreams`, verb: 'list', namespace: '', resource: 'clusterstreams', name: '', ok: 200 },
  { method: 'GET', path: '/version', verb: 'get', namespace: '', resource: '', name: '', ok: 200 },
];

/** The RBAC policy of security-fixtures.ts plus kube's bootstrap roles, for the actions above. */
function allowed(who: Identity, action: Action): boolean {
  if (who.groups.includes(MASTERS)) return true;
  // system:public-info-viewer: /version for the groups system:authenticated and system:unauthenticated, which an
  // impersonated system:anonymous is in neither of unless asked for.
  if (action.resource === '') return who.groups.includes(AUTHENTICATED) || who.groups.includes('system:unauthenticated');
  const reader = who.name === 'reader' || who.groups.includes('sr:readers');
  if (reader && ['get', 'list', 'watch'].includes(action.verb)) return true;
  if (who.groups.includes('team-a') && action.namespace === 'team-a' && action.resource === 'streams') return true;
  return who.name === 'bob' && action.namespace === 'team-b' && action.resource === 'streams' && action.name === 'orders' && ['get', 'update', 'patch'].includes(action.verb);
}

/** May `who` impersonate each of these (RBAC verb impersonate on users/serviceaccounts, groups, uids, userextras)? */
function mayImpersonate(who: Identity, user: string, groups: string[], uid: string | undefined, extraKeys: string[]): boolean {
  if (who.groups.includes(MASTERS)) return true;
  // carol's ClusterRole sr-impersonate-readers: the user "reader" and the group "sr:readers", nothing else.
  return who.name === 'carol' && user === 'reader' && groups.every((g) => g === 'sr:readers') && uid === undefined && extraKeys.length === 0;
}

interface Credentials {
  cert?: CertName;
  authorization?: string;
  /** X-Remote-* headers (the front proxy's identity headers). */
  remote?: { user: string; groups: string[]; uid?: string; extra: Record<string, string> };
  impersonate?: { user?: string; groups: string[]; uid?: string; extra: Record<string, string> };
}

interface Prediction {
  status: number;
  /** The audit line's user and impersonatedBy; undefined = the request is never parsed, so not audited. */
  audit?: { user: string; groups: string[]; impersonatedBy?: string };
}

function firstNonEmpty(values: Array<string | undefined>): string | undefined {
  return values.find((v): v is string => v !== undefined && v !== '');
}

/** Who the credentials prove, in the server's order: front proxy, client certificate, bearer token. */
function authenticate(c: Credentials): Identity | undefined {
  if (c.cert === 'frontProxy' && c.remote) {
    const name = c.remote.user;
    if (name !== '') return { name, groups: c.remote.groups.filter((g) => g !== '') };
  }
  const byCert = c.cert ? CERT_USERS[c.cert] : undefined;
  if (byCert) return byCert;
  const bearer = c.authorization === undefined ? undefined : /^\s*bearer\s+(\S+)\s*$/i.exec(c.authorization)?.[1];
  return bearer === undefined ? undefined : TOKEN_USERS[bearer];
}

function withAuthenticated(who: Identity): Identity {
  return who.name === ANONYMOUS || who.groups.includes(AUTHENTICATED) ? who : { name: who.name, groups: [...who.groups, AUTHENTICATED] };
}

function predict(c: Credentials, action: Action): Prediction {
  const real = authenticate(c);
  if (!real) return { status: 401, audit: { user: '', groups: [] } };
  const requester = withAuthenticated(real);
  let acting = requester;
  let impersonatedBy: string | undefined;
  const imp = c.impersonate;
  if (imp) {
    const groups = imp.groups.filter((g) => g !== '');
    const uid = firstNonEmpty([imp.uid]);
    const extraKeys = Object.keys(imp.extra);
    const user = firstNonEmpty([imp.user]);
    if (user === undefined) {
      if (groups.length > 0 || uid !== undefined || extraKeys.length > 0) return { status: 400, audit: { user: requester.name, groups: requester.groups } };
    } else {
      if (!mayImpersonate(requester, user, groups, uid, extraKeys)) return { status: 403, audit: { user: requester.name, groups: requester.groups } };
      const serviceAccount = user.startsWith('system:serviceaccount:');
      const effective = [...groups];
      if (serviceAccount && groups.length === 0) effective.push('system:serviceaccounts', `system:serviceaccounts:${user.slice('system:serviceaccount:'.length).split(':')[0]}`);
      if (user !== ANONYMOUS && !effective.includes(AUTHENTICATED)) effective.push(AUTHENTICATED);
      acting = { name: user, groups: effective };
      impersonatedBy = requester.name;
    }
  }
  const audit = { user: acting.name, groups: acting.groups, ...(impersonatedBy !== undefined ? { impersonatedBy } : {}) };
  return { status: allowed(acting, action) ? action.ok : 403, audit };
}

/** Random credentials, most of them trying for more than they give. */
function credentialsGenerator(random: Random): () => Credentials {
  const token = (): string => random.pick(Object.values(TOKENS));
  const authorizations: Array<() => string> = [
    () => `Bearer ${token()}`,
    () => `bearer ${token()}`,
    () => `Bearer \t ${token()}  `,
    () => `Bearer ${token()}x`,
    () => `Bearer ${token()} ${token()}`,
    () => `Bearer ${token()},${token()}`,
    () => 'Bearer',
    () => 'Bearer ',
    () => '',
    () => `Basic ${Buffer.from(`admin:${token()}`).toString('base64')}`,
    () => 'Basic !!!not-base64',
    () => `Negotiate ${token()}`,
    () => `Bearer ${'x'.repeat(random.between(1000, 6000))}`,
    () => `Bearer ${'A'.repeat(20_000)}`,
    () => `Bearer ${utf8HeaderValue(random.pick(['tökén', '🔑' + token(), 'токен', '\u00a0']))}`,
    () => utf8HeaderValue(`Bearer ${token()}\u200b`),
  ];
  const remoteUsers = ['admin', 'system:admin', 'token-admin', 'reader', 'carol', 'bob', 'system:kube-aggregator', '', utf8HeaderValue('ädmin'), 'x'.repeat(3000)];
  const impersonatedUsers = ['reader', 'admin', 'bob', 'system:serviceaccount:streaming-runtime:sr-controllers', 'system:serviceaccount:', 'system:serviceaccount:bad', ANONYMOUS, '', utf8HeaderValue('rëader'), 'y'.repeat(2000)];
  const groupChoices = [MASTERS, 'sr:readers', 'team-a', AUTHENTICATED, '', utf8HeaderValue('grüppe')];
  const extraChoices: Array<[string, string]> = [['scopes', 'view'], ['%ZZ', 'x'], ['Acme%2Fteam', 'a'], ['reason', ''], ['k', utf8HeaderValue('wért')]];
  const some = <T>(choices: readonly T[], max: number): T[] => Array.from({ length: random.int(max + 1) }, () => random.pick(choices));
  const extras = (): Record<string, string> => Object.fromEntries(some(extraChoices, 2));
  const certs: CertName[] = ['admin', 'alice', 'rogueAdmin', 'frontProxy', 'frontProxyNotAllowed', 'frontProxyWrongCa'];
  return () => {
    const c: Credentials = {};
    if (random.chance(0.4)) c.cert = random.pick(certs);
    if (random.chance(0.75)) c.authorization = random.pick(authorizations)();
    if (random.chance(0.5)) {
      c.remote = { user: random.pick(remoteUsers), groups: some(groupChoices, 3), extra: extras() };
      if (random.chance(0.3)) c.remote.uid = random.pick(['uid-1', '', 'z'.repeat(500)]);
    }
    if (random.chance(0.45)) {
      c.impersonate = { groups: some(groupChoices, 3), extra: random.chance(0.3) ? extras() : {} };
      if (random.chance(0.85)) c.impersonate.user = random.pick(impersonatedUsers);
      if (random.chance(0.2)) c.impersonate.uid = random.pick(['uid-2', '']);
    }
    return c;
  };
}

function headersOf(c: Credentials, action: Action, userAgent: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'user-agent': userAgent, accept: 'application/json' };
  if (action.contentType ?? action.body) headers['content-type'] = action.contentType ?? 'application/json';
  if (c.authorization !== undefined) headers.authorization = c.authorization;
  if (c.remote) {
    headers['X-Remote-User'] = c.remote.user;
    if (c.remote.groups.length > 0) headers['X-Remote-Group'] = c.remote.groups;
    if (c.remote.uid !== undefined) headers['X-Remote-Uid'] = c.remote.uid;
    for (const [key, value] of Object.entries(c.remote.extra)) headers[`X-Remote-Extra-${key}`] = value;
  }
  if (c.impersonate) {
    if (c.impersonate.user !== undefined) headers['Impersonate-User'] = c.impersonate.user;
    if (c.impersonate.groups.length > 0) headers['Impersonate-Group'] = c.impersonate.groups;
    if (c.impersonate.uid !== undefined) headers['Impersonate-Uid'] = c.impersonate.uid;
    for (const [key, value] of Object.entries(c.impersonate.extra)) headers[`Impersonate-Extra-${key}`] = value;
  }
  return headers;
}

function headerBytes(headers: OutgoingHttpHeaders): number {
  let total = 0;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [String(value)]) total += name.length + v.length + 4;
  }
  return total;
}

function send(agent: Agent, path: string, method: string, headers: OutgoingHttpHeaders, body: string | undefined, cert: ClientIdentityFiles | undefined): Promise<FuzzAnswer> {
  return sendFuzzed(new URL(path, server.url), {
    method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) },
    ca: fixtures.servingCaPem, servername: 'localhost', cert: cert?.certPem, key: cert?.keyPem,
  },
  // A Buffer, not a string: Node writes the headers of a request with a string body in that body's encoding (UTF-8)
  // and otherwise as latin1; as latin1 each header character is one byte, exactly what the server reads back.
  body === undefined ? undefined : Buffer.from(body));
}

function describeRequest(c: Credentials, action: Action): string {
  const clip = (v: unknown): string => { const text = JSON.stringify(v) ?? '-'; return text.length > 80 ? `${text.slice(0, 80)}...(${text.length})` : text; };
  return `${action.method} ${action.path} cert=${c.cert ?? '-'} authorization=${clip(c.authorization)} remote=${clip(c.remote)} impersonate=${clip(c.impersonate)}`;
}

before(async () => {
  ({ fixtures, etcd } = await startSecurityTestBed());
  auditPath = join(fixtures.dir, 'audit-fuzz.log');
  server = await startSecuredApiserver(fixtures, etcd.endpoint, fullSecurityFlags(fixtures, auditPath));
});

after(async () => {
  await server?.stop();
  await stopSecurityTestBed(etcd, fixtures);
});

test(`${TOTAL} requests with fuzzed credentials and identity headers: each answered as its credentials allow, never more`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(replayHint(SEED));
  const admin = { token: TOKENS.admin };
  for (const [name, namespace] of [['victim', 'fz-id'], ['orders', 'team-b']]) {
    const created = await send(new Agent(), `${GV}/namespaces/${namespace}/streams`, 'POST', { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, streamBody(name, namespace), undefined);
    assert.equal(created.status, 201, created.body);
  }

  const random = seededRandom(SEED);
  const nextCredentials = credentialsGenerator(random);
  const plan = Array.from({ length: TOTAL }, () => ({ credentials: nextCredentials(), action: random.pick(ACTIONS) }));
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const failures: string[] = [];
  const predictions = new Map<string, Prediction>();
  const codes = new Map<number, number>();
  let index = 0;
  const worker = async (): Promise<void> => {
    while (index < plan.length) {
      const i = index++;
      const { credentials, action } = plan[i];
      const userAgent = `sr-fuzz/${i}`;
      const headers = headersOf(credentials, action, userAgent);
      const oversized = headerBytes(headers) > MAX_HEADER_BYTES;
      const predicted: Prediction = oversized ? { status: 400 } : predict(credentials, action);
      predictions.set(userAgent, predicted);
      const cert = credentials.cert ? fixtures[credentials.cert] : undefined;
      const answer = await send(agent, action.path, action.method, headers, action.body?.(i), cert);
      codes.set(answer.status, (codes.get(answer.status) ?? 0) + 1);
      let statusBody = answer.status < 400;
      if (!statusBody) {
        try { statusBody = (JSON.parse(answer.body) as { kind?: string }).kind === 'Status'; } catch { statusBody = false; }
      }
      if ((answer.status !== predicted.status || !statusBody) && failures.length < 15) {
        failures.push(`#${i} ${describeRequest(credentials, action)}: expected ${predicted.status}, got ${answer.status} ${answer.body.slice(0, 240)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  assert.deepEqual(failures, [], `${replayHint(SEED)}; codes ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.ok([...codes.keys()].every((code) => code < 500), 'no 5xx');
  for (const code of [200, 201, 400, 401, 403]) assert.ok((codes.get(code) ?? 0) > 0, `the fuzz reached ${code} answers (${JSON.stringify(Object.fromEntries(codes))})`);

  // The audit log names each parsed request's identity: the one the model predicts, never one taken from headers
  // the credentials do not vouch for.
  const expectedLines = [...predictions.values()].filter((p) => p.audit).length;
  type AuditLine = { userAgent?: string; user?: string; groups?: string[]; impersonatedBy?: string; code?: number };
  let lines: AuditLine[] = [];
  await waitFor('every fuzz request in the audit log', () => {
    lines = readFileSync(auditPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditLine).filter((line) => line.userAgent?.startsWith('sr-fuzz/'));
    return lines.length >= expectedLines;
  }, 20_000, 200);
  const auditFailures: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const ua = line.userAgent ?? '';
    const predicted = predictions.get(ua);
    if (seen.has(ua)) auditFailures.push(`${ua} audited twice`);
    seen.add(ua);
    if (!predicted?.audit) { auditFailures.push(`${ua} audited, but it was never parsed`); continue; }
    const { user, groups, impersonatedBy } = predicted.audit;
    const got = { user: line.user, groups: [...(line.groups ?? [])].sort(), impersonatedBy: line.impersonatedBy };
    const want = { user, groups: [...groups].sort(), impersonatedBy };
    if (JSON.stringify(got) !== JSON.stringify(want) || line.code !== predicted.status) {
      const i = Number(ua.slice('sr-fuzz/'.length));
      auditFailures.push(`#${i} ${describeRequest(plan[i].credentials, plan[i].action)}: audited ${JSON.stringify({ ...got, code: line.code })}, expected ${JSON.stringify({ ...want, code: predicted.status })}`);
    }
    if (auditFailures.length >= 15) break;
  }
  assert.deepEqual(auditFailures, [], replayHint(SEED));
  assert.equal(seen.size, expectedLines, 'every parsed request audited once');

  // Nothing was created where only system:masters may create, except by requests acting with system:masters.
  const list = await send(new Agent(), `${GV}/namespaces/fz-id/streams`, 'GET', { authorization: `Bearer ${admin.token}` }, undefined, undefined);
  const names = (JSON.parse(list.body) as { items: Array<{ metadata: { name: string } }> }).items.map((item) => item.metadata.name);
  const byMasters = new Set(plan.flatMap(({ action }, i) => {
    const p = predictions.get(`sr-fuzz/${i}`);
    return action.method === 'POST' && action.namespace === 'fz-id' && p?.status === 201 && p.audit?.groups.includes(MASTERS) ? [`id-${i}`] : [];
  }));
  assert.deepEqual(names.filter((name) => name !== 'victim').sort(), [...byMasters].sort(), 'objects in fz-id are exactly those created as system:masters');
});
