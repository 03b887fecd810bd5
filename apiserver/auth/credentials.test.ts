// Unit tests for the credential parsers and checkers: token CSV, certificate chains (with an intermediate CA made by
// openssl, which apiserver/pki does not issue), the TTL cache and audit redaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueClientCertificate, issueServingCertificate } from '../pki';
import { tempDir } from '../../test/support/tmp';
import { auditEvent, redactRequestUri } from './audit';
import { authenticateRequest, bearerToken, clientCertificateAuthenticator, requestHeaderAuthenticator, type CredentialSource } from './authenticator';
import { inflightLimiter } from './inflight';
import { parseCsvLine, parseTokenFile } from './token-file';
import { TtlCache } from './ttl-cache';
import { parsePemBundle, subjectIdentity, verifyClientChain } from './x509';

test('static tokens are hashed once per connection; another token, or a token set loaded anew, is looked up again', () => {
  const { tokens } = parseTokenFile('t1,alice,u1,"dev"\nt2,bob,u2\n', 'tokens.csv');
  const connection = {};
  const alice = tokens.lookupOnConnection('t1', connection);
  assert.deepEqual(alice, { name: 'alice', uid: 'u1', groups: ['dev'] });
  assert.equal(tokens.lookupOnConnection('t1', connection), alice, 'remembered for this connection');
  assert.deepEqual(tokens.lookupOnConnection('t2', connection), { name: 'bob', uid: 'u2', groups: [] }, 'a different token is looked up');
  assert.equal(tokens.lookupOnConnection('t1x', connection), undefined, 'an unknown token is refused, never remembered');
  assert.equal(tokens.lookupOnConnection('t1x', connection), undefined);
  assert.deepEqual(tokens.lookupOnConnection('t2', {}), { name: 'bob', uid: 'u2', groups: [] }, 'another connection');
  assert.deepEqual(tokens.lookupOnConnection('t1', undefined), alice, 'no connection known: a plain lookup');
  // A changed file is a new token set: t1 was revoked, and no connection still passes with it.
  const { tokens: reloaded } = parseTokenFile('t2,bob,u2\n', 'tokens.csv');
  assert.equal(reloaded.lookupOnConnection('t1', connection), undefined);
});

test('token CSV: quoted groups, extra columns, empty uid, duplicates', () => {
  assert.deepEqual(parseCsvLine('t1,alice,1,"a,b"'), ['t1', 'alice', '1', 'a,b']);
  assert.deepEqual(parseCsvLine('t2, bob ,2, "x ""y"""'), ['t2', 'bob ', '2', 'x "y"']);
  assert.throws(() => parseCsvLine('t,"open'), /unterminated/);
  const { tokens, warnings } = parseTokenFile('t1,alice,u1,"dev,ops"\n\nt2,bob,,,extra\nt1,carol,u3\n', 'tokens.csv');
  assert.equal(tokens.size, 2);
  assert.deepEqual(tokens.lookup('t2'), { name: 'bob', groups: [] });
  assert.deepEqual(tokens.lookup('t1'), { name: 'carol', uid: 'u3', groups: [] }, 'the later duplicate wins');
  assert.equal(tokens.lookup('t3'), undefined);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /tokens\.csv:4/);
  assert.doesNotMatch(warnings[0], /t1/, 'messages never carry tokens');
  assert.throws(() => parseTokenFile('only,two\n', 'f'), /f:1: expected token,user,uid/);
  assert.throws(() => parseTokenFile(',user,uid\n', 'f'), /must not be empty/);
});

test('bearer token header parsing', () => {
  assert.equal(bearerToken({ authorization: 'Bearer abc' }), 'abc');
  assert.equal(bearerToken({ authorization: 'bearer   abc  ' }), 'abc');
  assert.equal(bearerToken({ authorization: 'Basic abc' }), undefined);
  assert.equal(bearerToken({ authorization: 'Bearer' }), undefined);
  assert.equal(bearerToken({ authorization: 'Bearer a b' }), undefined);
  assert.equal(bearerToken({}), undefined);
});

test('certificate chains: direct, through an intermediate, wrong CA, expired, server-only usage', () => {
  const ca = createCertificateAuthority('unit-ca');
  const other = createCertificateAuthority('other-ca');
  const roots = parsePemBundle(ca.certPem, 'ca');
  const client = new X509Certificate(issueClientCertificate(ca, { cn: 'alice', organizations: ['dev', 'ops'] }).certPem);
  assert.deepEqual(verifyClientChain([client], roots), { ok: true });
  assert.deepEqual(subjectIdentity(client), { commonName: 'alice', organizations: ['dev', 'ops'] });
  const stranger = new X509Certificate(issueClientCertificate(other, { cn: 'alice' }).certPem);
  assert.deepEqual(verifyClientChain([stranger], roots), { ok: false, error: 'x509: certificate signed by unknown authority' });
  const later = Date.now() + 2 * 365 * 24 * 3600 * 1000;
  assert.equal(verifyClientChain([client], roots, later).ok, false, 'expired');
  const serving = new X509Certificate(issueServingCertificate(ca, { hosts: ['x'] }).certPem);
  assert.match(String((verifyClientChain([serving], roots) as { error: string }).error), /incompatible key usage/);
  // A leaf does not become trusted by presenting the root's subject as its own "intermediate".
  assert.equal(verifyClientChain([stranger, new X509Certificate(other.certPem)], roots).ok, false);

  // root -> intermediate -> leaf, made with openssl; the client presents leaf + intermediate.
  const dir = tempDir('sr-x509-');
  try {
    const at = (name: string): string => join(dir.path, name);
    writeFileSync(at('ca.crt'), ca.certPem);
    writeFileSync(at('ca.key'), ca.keyPem);
    writeFileSync(at('ext-ca.cnf'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    writeFileSync(at('ext-client.cnf'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }); };
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('int.key'), '-out', at('int.csr'), '-subj', '/CN=intermediate');
    openssl('x509', '-req', '-in', at('int.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('int.crt'), '-days', '2', '-extfile', at('ext-ca.cnf'));
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('leaf.key'), '-out', at('leaf.csr'), '-subj', '/O=team/CN=bob');
    openssl('x509', '-req', '-in', at('leaf.csr'), '-CA', at('int.crt'), '-CAkey', at('int.key'), '-CAcreateserial', '-out', at('leaf.crt'), '-days', '2', '-extfile', at('ext-client.cnf'));
    const leaf = new X509Certificate(readFileSync(at('leaf.crt')));
    const intermediate = new X509Certificate(readFileSync(at('int.crt')));
    assert.deepEqual(verifyClientChain([leaf, intermediate], roots), { ok: true });
    assert.equal(verifyClientChain([leaf], roots).ok, false, 'without the intermediate there is no path');
    assert.deepEqual(subjectIdentity(leaf), { commonName: 'bob', organizations: ['team'] });
    // The leaf itself cannot act as an intermediate (not a CA).
    assert.equal(verifyClientChain([stranger, leaf], roots).ok, false);
  } finally {
    dir.remove();
  }
  assert.throws(() => parsePemBundle('nothing here', 'f'), /no PEM certificate/);
});

test('TTL cache expires entries and stays bounded', () => {
  let now = 0;
  const cache = new TtlCache<string>(10_000, 2, () => now);
  cache.set('a', '1');
  now = 9_999;
  assert.equal(cache.get('a'), '1');
  now = 10_000;
  assert.equal(cache.get('a'), undefined);
  cache.set('a', '1');
  cache.set('b', '2');
  cache.set('c', '3');
  assert.equal(cache.get('a'), undefined, 'the oldest entry was evicted');
  assert.equal(cache.get('c'), '3');
});

test('in-flight limiter: separate budgets, release once, 0 = unlimited', () => {
  const limiter = inflightLimiter(1, 1);
  const read = limiter.tryAcquire(false);
  assert.ok(read);
  assert.equal(limiter.tryAcquire(false), undefined);
  const write = limiter.tryAcquire(true);
  assert.ok(write);
  read();
  read();
  assert.deepEqual(limiter.inflight(), { readOnly: 0, mutating: 1 });
  write();
  const unlimited = inflightLimiter(0, 0);
  for (let i = 0; i < 1000; i++) assert.ok(unlimited.tryAcquire(i % 2 === 0));
});

test('audit events: credential query parameters are masked, fields are flat', () => {
  assert.equal(redactRequestUri('/apis?watch=1&access_token=abc&x=%74oken'), '/apis?watch=1&access_token=REDACTED&x=%74oken');
  assert.equal(redactRequestUri('/apis?%74oken=abc'), '/apis?%74oken=REDACTED');
  assert.equal(redactRequestUri('/apis'), '/apis');
  const event = auditEvent({
    user: { name: 'alice', uid: 'u1', groups: ['dev', 'system:authenticated'] },
    info: { isResourceRequest: true, path: '/x', verb: 'update', apiGroup: 'g', apiVersion: 'v', namespace: 'ns', resource: 'processors', subresource: 'status', name: 'p' },
    method: 'PUT',
    requestUri: '/x',
    code: 200,
    latencyMs: 1.23456,
    sourceIP: '127.0.0.1',
    userAgent: 'kubectl',
  }, new Date('2026-01-01T00:00:00Z'));
  assert.equal(event.timestamp, '2026-01-01T00:00:00.000Z');
  assert.equal(event.latencyMs, 1.235);
  assert.deepEqual(
    { user: event.user, uid: event.uid, groups: event.groups, verb: event.verb, resource: event.resource, subresource: event.subresource, namespace: event.namespace, name: event.name, code: event.code },
    { user: 'alice', uid: 'u1', groups: ['dev', 'system:authenticated'], verb: 'update', resource: 'processors', subresource: 'status', namespace: 'ns', name: 'p', code: 200 },
  );
});

test('authenticator union: front proxy with any CN allowed, failures vs no opinion, anonymous only without errors', async () => {
  const proxyCa = createCertificateAuthority('proxy-ca');
  const clientCa = createCertificateAuthority('client-ca');
  const proxyCert = new X509Certificate(issueClientCertificate(proxyCa, { cn: 'any-proxy-name' }).certPem);
  const clientCert = new X509Certificate(issueClientCertificate(clientCa, { cn: 'carol', organizations: ['ops'] }).certPem);
  const frontProxy = requestHeaderAuthenticator({
    caCertificates: parsePemBundle(proxyCa.certPem, 'proxy'),
    allowedNames: [],
    usernameHeaders: ['X-Remote-User', 'X-Other-User'],
    uidHeaders: ['X-Remote-Uid'],
    groupHeaders: ['X-Remote-Group'],
    extraHeaderPrefixes: ['X-Remote-Extra-'],
  });
  const certificates = clientCertificateAuthenticator(parsePemBundle(clientCa.certPem, 'client'));
  const chain = [frontProxy, certificates];
  const source = (peerCertificates: X509Certificate[], headersDistinct: Record<string, string[]> = {}): CredentialSource => ({ headers: {}, headersDistinct, peerCertificates });

  // Empty allowed names: any CN signed by the front-proxy CA; the second username header is used when the first is absent.
  assert.deepEqual(await authenticateRequest(chain, source([proxyCert], { 'x-other-user': ['dave'], 'x-remote-group': ['a', 'b'] }), false), {
    kind: 'user', user: { name: 'dave', groups: ['a', 'b', 'system:authenticated'] },
  });
  // The client certificate: CN/O; system:authenticated is not duplicated.
  assert.deepEqual(await authenticateRequest(chain, source([clientCert]), false), { kind: 'user', user: { name: 'carol', groups: ['ops', 'system:authenticated'] } });
  // No credentials: anonymous when allowed, else failed without reasons.
  assert.equal((await authenticateRequest(chain, source([]), true)).kind, 'anonymous');
  assert.deepEqual(await authenticateRequest(chain, source([]), false), { kind: 'failed', reasons: [] });
  // A front-proxy certificate without identity headers is not a client certificate here: failed, even with anonymous on.
  const proxyOnly = await authenticateRequest(chain, source([proxyCert]), true);
  assert.equal(proxyOnly.kind, 'failed');
  assert.match((proxyOnly as { reasons: string[] }).reasons.join(), /unknown authority/);
});
