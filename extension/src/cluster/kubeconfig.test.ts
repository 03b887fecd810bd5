import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kubeconfigPath, loadKubeconfig, parseKubeconfig } from './kubeconfig';

describe('kubeconfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-kubeconfig-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA + bearer token shape `sr up` writes, with files relative to the kubeconfig', () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA-PEM');
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    writeFileSync(join(dir, 'kubeconfig'), [
      'apiVersion: v1', 'kind: Config', 'current-context: sr',
      'clusters:', '- name: sr', '  cluster:', '    server: https://127.0.0.1:6443/', '    certificate-authority: ca.crt',
      'contexts:', '- name: sr', '  context:', '    cluster: sr', '    user: admin', '    namespace: team-a',
      'users:', '- name: admin', '  user:', '    tokenFile: token',
    ].join('\n'));
    const connection = loadKubeconfig(join(dir, 'kubeconfig'));
    assert.equal(connection.server, 'https://127.0.0.1:6443');
    assert.equal(connection.ca?.toString(), 'CA-PEM');
    assert.equal(connection.token, 'secret-token');
    assert.equal(connection.namespace, 'team-a');
  });

  it('reads inline data, client certificates and a chosen context', () => {
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
    assert.equal(one.cert?.toString(), 'CERT');
    assert.equal(one.key?.toString(), 'KEY');
    assert.equal(one.ca?.toString(), 'CA');
    assert.equal(one.namespace, 'default');
    const two = parseKubeconfig(text, dir, 'two');
    assert.equal(two.server, 'http://b:2');
    assert.equal(two.token, 'abc');
    assert.equal(two.insecureSkipTlsVerify, true);
  });

  it('explains what is wrong instead of crashing', () => {
    assert.throws(() => parseKubeconfig('[]', dir), /not a YAML mapping/);
    assert.throws(() => parseKubeconfig('current-context: x\ncontexts: []', dir), /context "x" not found/);
    assert.throws(() => loadKubeconfig(join(dir, 'missing')), /cannot read kubeconfig/);
  });

  it('defaults to $KUBECONFIG, then ~/.kube/config', () => {
    assert.equal(kubeconfigPath('', { KUBECONFIG: '/x/a:/x/b' }), '/x/a');
    assert.equal(kubeconfigPath(undefined, {}), join(homedir(), '.kube', 'config'));
    assert.equal(kubeconfigPath('/etc/kc', { KUBECONFIG: '/x/a' }), '/etc/kc');
  });
});
