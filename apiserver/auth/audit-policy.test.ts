// The audit policy's matching rules (kube's pkg/audit/policy checker) and its validation messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideAuditLevel, parseAuditPolicy } from './audit-policy';
import { parseRequestInfo } from './request-info';
import type { UserInfo } from './types';

const G = 'streaming.tanzu.vmware.com';
const base = `/apis/${G}/v1alpha1`;

const policy = parseAuditPolicy(`
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [ResponseStarted]
rules:
- level: None
  users: [system:kube-proxy]
- level: None
  userGroups: [system:nodes]
  verbs: [get]
- level: RequestResponse
  resources:
  - group: ${G}
    resources: ["processors/scale"]
- level: Request
  resources:
  - group: ${G}
    resources: ["*/status"]
- level: Metadata
  resources:
  - group: ${G}
    resources: ["streams"]
    resourceNames: [orders]
  omitStages: [RequestReceived]
- level: Request
  namespaces: [""]
  resources:
  - group: ${G}
    resources: ["clusterstreams/*"]
- level: Metadata
  nonResourceURLs: ["/metrics", "/openapi/*"]
- level: RequestResponse
  namespaces: [team-a]
`, 'test');

const user = (name: string, groups: string[] = []): UserInfo => ({ name, groups });
const level = (who: UserInfo | undefined, method: string, url: string): string => decideAuditLevel(policy, who, parseRequestInfo(method, url)).level;

test('first matching rule wins: users, groups with verbs, resources with subresources and names, namespaces, paths', () => {
  assert.equal(level(user('system:kube-proxy'), 'GET', `${base}/namespaces/team-a/streams`), 'None');
  assert.equal(level(user('n1', ['system:nodes']), 'GET', `${base}/namespaces/team-a/streams/x`), 'None');
  assert.equal(level(user('n1', ['system:nodes']), 'DELETE', `${base}/namespaces/team-a/streams/x`), 'RequestResponse', 'verbs limit the groups rule');
  assert.equal(level(user('a'), 'PATCH', `${base}/namespaces/x/processors/p/scale`), 'RequestResponse');
  assert.equal(level(user('a'), 'PUT', `${base}/namespaces/x/streams/s/status`), 'Request', '*/status');
  assert.equal(level(user('a'), 'GET', `${base}/namespaces/x/streams/orders`), 'Metadata', 'resourceNames');
  assert.equal(level(user('a'), 'GET', `${base}/namespaces/x/streams/other`), 'None', 'another name: no rule');
  assert.equal(level(user('a'), 'GET', `${base}/namespaces/x/streams`), 'None', 'a list names nothing');
  assert.equal(level(user('a'), 'PUT', `${base}/clusterstreams/c/status`), 'Request', 'matched by */status first');
  assert.equal(level(user('a'), 'GET', `${base}/clusterstreams/c`), 'Request', 'resource/* matches the resource itself too, as in kube');
  assert.equal(level(user('a'), 'GET', `${base}/namespaces/x/processors/p/scale`), 'RequestResponse');
  assert.equal(level(user('a'), 'GET', '/metrics'), 'Metadata');
  assert.equal(level(user('a'), 'GET', '/openapi/v3/apis'), 'Metadata', 'prefix with *');
  assert.equal(level(user('a'), 'GET', '/openapi'), 'None');
  assert.equal(level(user('a'), 'GET', `${base}/namespaces/team-a/processors`), 'RequestResponse', 'namespaces alone');
  assert.equal(level(undefined, 'GET', `${base}/namespaces/team-a/processors`), 'RequestResponse', 'no user: user-less rules still apply');
  assert.deepEqual(decideAuditLevel(policy, user('a'), parseRequestInfo('GET', `${base}/namespaces/x/streams/orders`)).omitStages.sort(), ['RequestReceived', 'ResponseStarted']);
});

test('validation names the bad field', () => {
  const bad = (body: string): string => {
    try {
      parseAuditPolicy(`apiVersion: audit.k8s.io/v1\nkind: Policy\n${body}`, 'p.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(bad('rules:\n- level: Loud'), '--audit-policy-file p.yaml: rules[0].level: Unsupported value: "Loud": supported values: "None", "Metadata", "Request", "RequestResponse"');
  assert.equal(bad('rules:\n- users: [a]'), '--audit-policy-file p.yaml: rules[0].level: Required value');
  assert.equal(bad('rules:\n- level: None\n  verb: [get]'), '--audit-policy-file p.yaml: rules[0].verb: Unsupported field');
  assert.equal(bad('rules:\n- level: None\n  omitStages: [Done]'), '--audit-policy-file p.yaml: rules[0].omitStages[0]: Unsupported value: "Done": supported values: "RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"');
  assert.match(bad('rules:\n- level: None\n  nonResourceURLs: [/x]\n  namespaces: [a]'), /rules\[0\]\.nonResourceURLs: Invalid value: rules cannot apply to both/);
  assert.match(bad('rules:\n- level: None\n  nonResourceURLs: ["x*y"]'), /rules\[0\]\.nonResourceURLs\[0\]: Invalid value: "x\*y"/);
  assert.match(bad('rules:\n- level: None\n  resources:\n  - group: ""\n    resources: [a/b/c]'), /rules\[0\]\.resources\[0\]\.resources\[0\]: Invalid value: "a\/b\/c"/);
  assert.match(bad('rules: {}'), /rules: Invalid value: must be a list/);
  assert.throws(() => parseAuditPolicy('apiVersion: audit.k8s.io/v1beta1\nkind: Policy\n', 'p'), /apiVersion: Unsupported value: "audit.k8s.io\/v1beta1"/);
  assert.equal(bad('rules: []'), 'accepted');
  assert.equal(decideAuditLevel(parseAuditPolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\n', 'p'), user('a'), parseRequestInfo('GET', '/version')).level, 'None', 'no rule: None');
});
