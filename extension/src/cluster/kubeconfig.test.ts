// The kubeconfig through @kubernetes/client-node's loader: the shapes `sr up` and kubectl users write, contexts,
// exec credential plugins (run by the loader, cached until their expiry), and clear errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EXEC_PLUGIN, execKubeconfig } from '../test/integration/cluster';
import { kubeconfigPath, loadKubeconfig, parseKubeconfig } from './kubeconfig';

describe('kubeconfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ext-kubeconfig-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA + token file shape `sr up` writes, with files relative to the kubeconfig', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA-PEM');
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    writeFileSync(join(dir, 'kubeconfig'), [
      'apiVersion: v1', 'kind: Config', 'current-context: sr',
      'clusters:', '- name: sr', '  cluster:', '    server: https://127.0.0.1:6443/', '    certificate-authority: ca.crt',
      'contexts:', '- name: sr', '  context:', '    cluster: sr', '    user: admin', '    namespace: team-a',
      'users:', '- name: admin', '  user:', '    tokenFile: token',
    ].join('\n'));
    const connection = loadKubeconfig(join(dir, 'kubeconfig'));
    try {
      assert.equal(connection.server, 'https://127.0.0.1:6443');
      assert.equal(connection.namespace, 'team-a');
      const credentials = await connection.credentials();
      assert.equal(credentials.headers.Authorization, 'Bearer secret-token');
      assert.equal(String((credentials.agent as Agent).options.ca), 'CA-PEM');
    } finally {
      connection.dispose();
    }
  });

  it('reads a rotated token file on the next request, without reconnecting', async () => {
    const rotating = join(dir, 'rotating');
    writeFileSync(join(dir, 'rotating-token'), 'first-token\n');
    writeFileSync(rotating, [
      'apiVersion: v1', 'kind: Config', 'current-context: sr',
      'clusters:', '- name: sr', '  cluster:', '    server: https://127.0.0.1:6443/',
      'contexts:', '- name: sr', '  context:', '    cluster: sr', '    user: robot',
      'users:', '- name: robot', '  user:', '    token-file: rotating-token',
    ].join('\n'));
    const connection = loadKubeconfig(rotating);
    try {
      assert.equal((await connection.credentials()).headers.Authorization, 'Bearer first-token');
      // Rotation as the kubelet and cert-manager do it: a new file renamed over the old one.
      writeFileSync(join(dir, 'rotating-token.new'), 'second-token\n');
      renameSync(join(dir, 'rotating-token.new'), join(dir, 'rotating-token'));
      assert.equal((await connection.credentials()).headers.Authorization, 'Bearer second-token');
      rmSync(join(dir, 'rotating-token'));
      await assert.rejects(connection.credentials(), /credentials for context "sr": token file .*rotating-token: ENOENT/);
    } finally {
      connection.dispose();
    }
  });

  it('reads inline data, client certificates and a chosen context', async () => {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const text = [
      'current-context: one',
      'clusters:', '- name: a', '  cluster: {server: "https://a:1", certificate-authority-data: ' + b64('CA') + '}',
      '- name: b', '  cluster: {server: "http://b:2", insecure-skip-tls-verify: true}',
      'contexts:', '- name: one', '  context: {cluster: a, user: cert}', '- name: two', '  context: {cluster: b, user: tok}',
      'users:', '- name: cert', '  user: {client-certificate-data: ' + b64('CERT') + ', client-key-data: ' + b64('KEY') + '}',
      '- name: tok', '  user: {token: abc}',
    ].join('\n');
    const one = parseKubeconfig(text, dir);
    const options = ((await one.credentials()).agent as Agent).options;
    assert.equal(String(options.cert), 'CERT');
    assert.equal(String(options.key), 'KEY');
    assert.equal(String(options.ca), 'CA');
    assert.equal(one.namespace, 'default');
    const two = parseKubeconfig(text, dir, 'two');
    assert.equal(two.server, 'http://b:2');
    assert.equal((await two.credentials()).headers.Authorization, 'Bearer abc');
    one.dispose();
    two.dispose();
  });

  it('runs exec credential plugins, caches their token until it expires, and reports their failure', async () => {
    const plugin = join(dir, 'plugin.js');
    writeFileSync(plugin, EXEC_PLUGIN);
    const count = join(dir, 'runs');
    writeFileSync(count, '');
    const connection = parseKubeconfig(execKubeconfig('https://127.0.0.1:1', join(dir, 'ca.crt'), plugin, { SR_EXEC_TOKEN: 'from-plugin', SR_EXEC_COUNT: count }), dir);
    assert.equal((await connection.credentials()).headers.Authorization, 'Bearer from-plugin');
    assert.equal((await connection.credentials()).headers.Authorization, 'Bearer from-plugin');
    assert.equal(readFileSync(count, 'utf8'), 'x', 'the plugin runs once while its token is valid');
    connection.dispose();

    const failing = parseKubeconfig(execKubeconfig('https://127.0.0.1:1', join(dir, 'ca.crt'), plugin, { SR_EXEC_FAIL: 'not logged in' }), dir);
    await assert.rejects(failing.credentials(), /credentials for context "exec": plugin: not logged in/);
  });

  it('explains what is wrong instead of crashing', () => {
    assert.throws(() => parseKubeconfig('current-context: x\ncontexts: []', dir), /context "x" not found/);
    assert.throws(() => parseKubeconfig('clusters: []\ncontexts: [{name: a, context: {cluster: a, user: u}}]', dir, 'b'), /context "b" not found/);
    assert.throws(() => loadKubeconfig(join(dir, 'missing')), /cannot read kubeconfig .*missing/);
  });

  it('merges the files of $KUBECONFIG as kubectl does (the first file\'s current-context wins)', async () => {
    writeFileSync(join(dir, 'first'), JSON.stringify({ 'current-context': 'one', contexts: [{ name: 'one', context: { cluster: 'a', user: 'u', namespace: 'ns-one' } }] }));
    writeFileSync(join(dir, 'second'), JSON.stringify({
      'current-context': 'two',
      clusters: [{ name: 'a', cluster: { server: 'https://a:1' } }],
      contexts: [{ name: 'two', context: { cluster: 'a', user: 'u' } }],
      users: [{ name: 'u', user: { token: 't' } }],
    }));
    const merged = loadKubeconfig(undefined, undefined, { KUBECONFIG: `${join(dir, 'first')}:${join(dir, 'second')}` });
    assert.equal(merged.contextName, 'one');
    assert.equal(merged.namespace, 'ns-one');
    assert.equal((await merged.credentials()).headers.Authorization, 'Bearer t');
    assert.equal(loadKubeconfig(undefined, 'two', { KUBECONFIG: `${join(dir, 'first')}:${join(dir, 'second')}` }).contextName, 'two');
  });

  it('takes the setting as a path; empty leaves the default chain ($KUBECONFIG, ~/.kube/config) to the loader', () => {
    assert.equal(kubeconfigPath(''), undefined);
    assert.equal(kubeconfigPath(undefined), undefined);
    assert.equal(kubeconfigPath('/etc/kc'), '/etc/kc');
  });
});
