// Aggregation that survives a bad start, and certificates rotated under a running server (issue 13), against the
// real `sr apiserver` on real etcd, called with node:tls / node:https clients and kubectl (a Go TLS client):
// - the serving pair is replaced on disk by rename, as cert-manager does: new connections get the new certificate;
//   a broken replacement is refused and the previous pair keeps serving;
// - the client CA file is replaced: a certificate of the new CA is accepted (kubectl too), one of the old CA
//   rejected, and new connections are offered the new CA name in the TLS CertificateRequest;
// - delegation to a kube-apiserver that answers 500 for kube-system/extension-apiserver-authentication at first:
//   /readyz is 500 with the named check, then 200 once the ConfigMap is served, and a front-proxy request with the
//   CA from that ConfigMap authenticates. No kube-apiserver runs on these machines: the kube side is the stand-in of
//   test/support/security-kube-stub.ts, which speaks kube-apiserver's wire format over HTTPS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueClientCertificate, issueServingCertificate, type CertificatePair } from '../../apiserver/pki';
import { kubectlFor } from '../support/apiserver-kubectl';
import type { EtcdHandle } from '../support/etcd';
import { freePort, waitFor } from '../support/ports';
import { SR_CLI, startSecurityTestBed, stopApiserverProcess, stopSecurityTestBed } from '../support/security-apiserver';
import { httpsCall } from '../support/security-client';
import { GROUP_VERSION_PATH as GV, type SecurityFixtures } from '../support/security-fixtures';
import { kubeStubTls, publishedFrontProxy, startKubeStub, type KubeStub } from '../support/security-kube-stub';
import { startSecuredApp } from '../support/security-app';

let fixtures: SecurityFixtures;
let etcd: EtcdHandle;

before(async () => {
  ({ fixtures, etcd } = await startSecurityTestBed());
});

after(() => stopSecurityTestBed(etcd, fixtures));

interface Server {
  url: string;
  port: number;
  logs(): string;
  stop(): Promise<void>;
}

/** `sr apiserver` with `flags`; resolves once it announces its address (not once ready: /readyz is under test). */
async function startServer(flags: string[]): Promise<Server> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [
    SR_CLI, 'apiserver', `--etcd-servers=${etcd.endpoint}`, `--etcd-prefix=/registry-${port}`, '--bind-address=127.0.0.1',
    `--secure-port=${port}`, '--log-level=info', ...flags,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-64_000); });
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`sr apiserver exited (${code}): ${stderr}`))));
  exited.catch(() => undefined);
  await Promise.race([waitFor('sr apiserver to listen', () => stdout.includes('"serving"'), 30_000, 50), exited]);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    logs: () => stderr,
    stop: () => stopApiserverProcess(child),
  };
}

/** Writes next to `path`, then renames over it: readers see the old file or the new one, never half of one. */
function replaceByRename(path: string, content: string): void {
  const staging = `${path}.staging`;
  writeFileSync(staging, content, { mode: 0o600 });
  renameSync(staging, path);
}

/** The certificate a new TLS connection is served (verified against `caPem`). */
function servedCertificate(port: number, caPem: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: [caPem], ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve(new X509Certificate(peer.raw));
    });
    socket.once('error', reject);
  });
}

/** The client CA names a new TLS connection is offered ("Acceptable client certificate CA names", via openssl). */
function advertisedClientCas(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost'], { timeout: 20_000 }, (err, stdout) => {
      const lines = stdout.split('\n');
      const at = lines.indexOf('Acceptable client certificate CA names');
      if (at < 0) return reject(new Error(`no CA names in the handshake: ${err?.message ?? ''}\n${stdout}`));
      const names: string[] = [];
      for (const line of lines.slice(at + 1)) {
        if (!/^(CN|O|C|OU) ?=/.test(line)) break;
        names.push(line.trim());
      }
      resolve(names);
    });
    child.stdin?.end();
  });
}

describe('serving certificate rotation (--tls-cert-file / --tls-private-key-file)', () => {
  let server: Server;
  let certFile: string;
  let keyFile: string;
  before(async () => {
    certFile = join(fixtures.dir, 'rotating-serving.crt');
    keyFile = join(fixtures.dir, 'rotating-serving.key');
    writeFileSync(certFile, fixtures.serving.certPem);
    writeFileSync(keyFile, fixtures.serving.keyPem);
    server = await startServer([`--tls-cert-file=${certFile}`, `--tls-private-key-file=${keyFile}`, `--token-auth-file=${fixtures.tokenFile}`]);
  });
  after(async () => {
    await server?.stop();
  });

  test('new connections see the rotated certificate; a broken replacement keeps the previous one', async () => {
    const first = await servedCertificate(server.port, fixtures.servingCaPem);
    assert.equal(first.fingerprint256, new X509Certificate(fixtures.serving.certPem).fingerprint256);

    // cert-manager's rotation: a new CA and pair, each file replaced by rename.
    const nextCa = createCertificateAuthority('sr-test-rotated-serving-ca');
    const next: CertificatePair = issueServingCertificate(nextCa, { hosts: ['localhost'], ips: ['127.0.0.1'] });
    replaceByRename(keyFile, next.keyPem);
    replaceByRename(certFile, next.certPem);
    const nextFingerprint = new X509Certificate(next.certPem).fingerprint256;
    await waitFor('the rotated serving certificate', async () => (await servedCertificate(server.port, nextCa.certPem)).fingerprint256 === nextFingerprint, 20_000, 250);
    // HTTP/2 and HTTP/1.1 clients alike are served over the new context.
    const version = await httpsCall(server.url, nextCa.certPem, '/version');
    assert.equal(version.status, 401, 'an HTTPS request completes over the new certificate (401: no credentials)');
    await assert.rejects(servedCertificate(server.port, fixtures.servingCaPem), /self-signed|unable to verify|certificate/i, 'the old CA no longer verifies new connections');

    // A broken file (garbage where the certificate should be): refused, logged, the last good pair still served.
    replaceByRename(certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    await waitFor('the refusal in the log', () => server.logs().includes('serving certificate not reloaded'), 20_000, 250);
    assert.equal((await servedCertificate(server.port, nextCa.certPem)).fingerprint256, nextFingerprint);
    // A certificate whose key is not the one on disk (a half-done rotation) is refused too.
    const other = issueServingCertificate(nextCa, { hosts: ['localhost'], ips: ['127.0.0.1'] });
    const refusals = server.logs().split('serving certificate not reloaded').length;
    replaceByRename(certFile, other.certPem);
    await waitFor('the mismatch refused', () => server.logs().split('serving certificate not reloaded').length > refusals, 20_000, 250);
    assert.match(server.logs(), /the private key does not match the certificate/);
    assert.equal((await servedCertificate(server.port, nextCa.certPem)).fingerprint256, nextFingerprint);
    // ... and its key arriving completes the rotation.
    replaceByRename(keyFile, other.keyPem);
    const otherFingerprint = new X509Certificate(other.certPem).fingerprint256;
    await waitFor('the completed rotation', async () => (await servedCertificate(server.port, nextCa.certPem)).fingerprint256 === otherFingerprint, 20_000, 250);
  });
});

describe('serving certificate rotation (--cert-dir pair)', () => {
  test('the generated pair in --cert-dir is reloaded when replaced', async () => {
    const certDir = join(fixtures.dir, 'cert-dir');
    const server = await startServer([`--cert-dir=${certDir}`, `--token-auth-file=${fixtures.tokenFile}`]);
    try {
      const generatedCa = readFileSync(join(certDir, 'ca.crt'), 'utf8');
      const before = await servedCertificate(server.port, generatedCa);
      assert.equal(before.fingerprint256, new X509Certificate(readFileSync(join(certDir, 'apiserver.crt'), 'utf8')).fingerprint256);
      const ca = createCertificateAuthority('sr-test-cert-dir-ca');
      const pair = issueServingCertificate(ca, { hosts: ['localhost'], ips: ['127.0.0.1'] });
      replaceByRename(join(certDir, 'apiserver.key'), pair.keyPem);
      replaceByRename(join(certDir, 'apiserver.crt'), pair.certPem);
      const fingerprint = new X509Certificate(pair.certPem).fingerprint256;
      await waitFor('the replaced --cert-dir pair', async () => (await servedCertificate(server.port, ca.certPem)).fingerprint256 === fingerprint, 20_000, 250);
    } finally {
      await server.stop();
    }
  });
});

describe('client CA rotation (--client-ca-file)', () => {
  let server: Server;
  let caFile: string;
  before(async () => {
    caFile = join(fixtures.dir, 'rotating-client-ca.crt');
    writeFileSync(caFile, readFileSync(fixtures.clientCaFile, 'utf8'));
    server = await startServer([
      `--tls-cert-file=${fixtures.serving.certFile}`, `--tls-private-key-file=${fixtures.serving.keyFile}`,
      `--client-ca-file=${caFile}`, '--authorization-mode=RBAC', `--authorization-policy-file=${fixtures.policyFile}`,
    ]);
    await waitFor('ready', async () => (await httpsCall(server.url, fixtures.servingCaPem, '/readyz')).status === 200, 30_000, 100);
  });
  after(async () => {
    await server?.stop();
  });

  test('a certificate of the new CA is accepted (kubectl too), one of the old CA rejected; a broken file changes nothing', async () => {
    const newCa = createCertificateAuthority('sr-test-rotated-client-ca');
    const newAdmin = issueClientCertificate(newCa, { cn: 'admin', organizations: ['system:masters'] });
    const list = (cert: { certPem: string; keyPem: string }): Promise<number> =>
      httpsCall(server.url, fixtures.servingCaPem, `${GV}/namespaces/default/streams`, { cert }).then((r) => r.status);
    assert.equal(await list(fixtures.admin), 200);
    assert.equal(await list(newAdmin), 401);
    assert.deepEqual(await advertisedClientCas(server.port), ['CN = sr-test-client-ca']);

    replaceByRename(caFile, newCa.certPem);
    await waitFor('the new client CA in force', async () => (await list(newAdmin)) === 200, 20_000, 250);
    assert.equal(await list(fixtures.admin), 401, 'the old CA no longer vouches for anyone');

    // The CA list the server advertises in its CertificateRequest (what clients that pick a certificate by issuer
    // go by) is the new one: the TLS context of new connections was renewed. openssl shows the list.
    const advertised = await advertisedClientCas(server.port);
    assert.deepEqual(advertised, ['CN = sr-test-rotated-client-ca']);
    // kubectl (client-go, a Go TLS client) with a certificate of the new CA.
    const kubeconfig = join(fixtures.dir, 'rotated-admin.kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority-data': Buffer.from(fixtures.servingCaPem).toString('base64') } }],
      users: [{ name: 'u', user: { 'client-certificate-data': Buffer.from(newAdmin.certPem).toString('base64'), 'client-key-data': Buffer.from(newAdmin.keyPem).toString('base64') } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    const kubectl = kubectlFor(kubeconfig);
    try {
      const got = await kubectl.run(['get', 'streams', '-n', 'default']);
      assert.equal(got.code, 0, got.stderr);
    } finally {
      kubectl.cleanup();
    }

    replaceByRename(caFile, 'not a CA bundle\n');
    await waitFor('the refusal in the log', () => server.logs().includes('CA bundle not reloaded'), 20_000, 250);
    assert.equal(await list(newAdmin), 200, 'the last good CA stays in force');
  });
});

describe('delegation: extension-apiserver-authentication unavailable at start', () => {
  let server: Server;
  let stub: KubeStub;
  before(async () => {
    stub = await startKubeStub({
      ...kubeStubTls(fixtures),
      tokens: {},
      decide: () => ({ allowed: false }),
      configMapBroken: true,
      publishedAuthentication: publishedFrontProxy(readFileSync(fixtures.frontProxyCaFile, 'utf8')),
    });
    server = await startServer([
      `--tls-cert-file=${fixtures.serving.certFile}`, `--tls-private-key-file=${fixtures.serving.keyFile}`,
      `--authentication-kubeconfig=${stub.kubeconfigPath}`, '--authorization-mode=RBAC', `--authorization-policy-file=${fixtures.policyFile}`,
    ]);
  });
  after(async () => {
    await server?.stop();
    await stub?.close();
  });

  test('/readyz names the check until the ConfigMap loads; then the front proxy it names authenticates', async () => {
    const frontProxyList = (user: string): Promise<number> => httpsCall(server.url, fixtures.servingCaPem, `${GV}/namespaces/default/streams`, {
      cert: fixtures.frontProxy, headers: { 'x-remote-user': user },
    }).then((r) => r.status);

    let readyz = await httpsCall(server.url, fixtures.servingCaPem, '/readyz');
    await waitFor('etcd and the watch cache ready', async () => {
      readyz = await httpsCall(server.url, fixtures.servingCaPem, '/readyz');
      return readyz.text.includes('[+]etcd ok') && readyz.text.includes('[+]watch-cache ok');
    }, 30_000, 100);
    assert.equal(readyz.status, 500);
    assert.match(readyz.text, /^\[-\]extension-apiserver-authentication failed: reason withheld$/m);
    assert.match(readyz.text, /readyz check failed/);
    // Retried with backoff, and logged.
    await waitFor('a retry', () => stub.calls.configMaps >= 2, 15_000, 100);
    assert.match(server.logs(), /could not read kube-system\/extension-apiserver-authentication/);
    assert.equal((await httpsCall(server.url, fixtures.servingCaPem, '/readyz')).status, 500);
    // Nothing trusts the front proxy yet: its certificate is no credential.
    assert.equal(await frontProxyList('reader'), 401);

    stub.setConfigMapBroken(false);
    await waitFor('/readyz 200', async () => (await httpsCall(server.url, fixtures.servingCaPem, '/readyz')).status === 200, 40_000, 200);
    assert.equal((await httpsCall(server.url, fixtures.servingCaPem, '/readyz')).text, 'ok');
    // The front proxy named by the ConfigMap: its headers are the user (reader may list, nobody may not).
    assert.equal(await frontProxyList('reader'), 200);
    assert.equal(await frontProxyList('nobody'), 403);
    const notAllowedName = await httpsCall(server.url, fixtures.servingCaPem, `${GV}/namespaces/default/streams`, { cert: fixtures.frontProxyNotAllowed, headers: { 'x-remote-user': 'reader' } });
    assert.equal(notAllowedName.status, 401, 'the ConfigMap\'s allowed names apply');

    // kube-apiserver failing again later: what was loaded stays in force, and the server stays ready.
    stub.setConfigMapBroken(true);
    assert.equal((await httpsCall(server.url, fixtures.servingCaPem, '/readyz')).status, 200);
    assert.equal(await frontProxyList('reader'), 200);
  });
});

describe('delegation: the published ConfigMap is re-read (kube: every minute; here every 300 ms)', () => {
  test('a front-proxy CA rotated in extension-apiserver-authentication is picked up; a broken one keeps the last', async () => {
    const stub = await startKubeStub({
      ...kubeStubTls(fixtures),
      tokens: {}, decide: () => ({ allowed: false }), publishedAuthentication: publishedFrontProxy(readFileSync(fixtures.frontProxyCaFile, 'utf8')),
    });
    // The real security layer on an HTTPS app (test/support/security-app.ts), with only the refresh interval shortened.
    const app = await startSecuredApp(fixtures, {
      authenticationKubeconfig: stub.kubeconfigPath,
      publishedAuthenticationTiming: { refreshMs: 300, initialBackoffMs: 100, maxBackoffMs: 300 },
    });
    try {
      const asProxy = (cert: { certPem: string; keyPem: string }): Promise<number> =>
        httpsCall(app.url, fixtures.servingCaPem, '/apis', { cert, headers: { 'x-remote-user': 'kube-admin' } }).then((r) => r.status);
      assert.equal(app.layer.readinessChecks[0]?.failure(), undefined, 'loaded at startup');
      assert.equal(await asProxy(fixtures.frontProxy), 200);

      const rotatedCa = createCertificateAuthority('sr-test-rotated-front-proxy-ca');
      const rotatedProxy = issueClientCertificate(rotatedCa, { cn: 'front-proxy-client' });
      assert.equal(await asProxy(rotatedProxy), 401);
      stub.setPublishedAuthentication(publishedFrontProxy(rotatedCa.certPem));
      await waitFor('the rotated front-proxy CA', async () => (await asProxy(rotatedProxy)) === 200, 10_000, 100);
      assert.equal(await asProxy(fixtures.frontProxy), 401, 'the old front-proxy CA is no longer trusted');

      // A ConfigMap with a CA that does not parse changes nothing (and the server stays ready).
      const reads = stub.calls.configMaps;
      stub.setPublishedAuthentication(publishedFrontProxy('-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n'));
      await waitFor('two more reads', () => stub.calls.configMaps >= reads + 2, 10_000, 50);
      assert.equal(await asProxy(rotatedProxy), 200);
      assert.equal(app.layer.readinessChecks[0]?.failure(), undefined);
    } finally {
      await app.close();
      await stub.close();
    }
  });
});
