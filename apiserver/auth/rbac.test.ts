import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapPolicy, mergePolicies, nonResourceUrlMatches, parsePolicy, PolicyFileError, RbacAuthorizer, resourceMatches } from './rbac';
import { parseRequestInfo } from './request-info';
import type { UserInfo } from './types';

const G = 'streaming.tanzu.vmware.com';
const base = `/apis/${G}/v1alpha1`;

const POLICY = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: stream-reader }
rules:
- apiGroups: ["${G}"]
  resources: ["streams", "processors", "clusterstreams"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: processor-editor, namespace: team-a }
rules:
- apiGroups: ["${G}"]
  resources: ["processors"]
  verbs: ["*"]
- apiGroups: ["${G}"]
  resources: ["processors/scale"]
  verbs: ["update", "patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: one-stream }
rules:
- apiGroups: ["${G}"]
  resources: ["streams"]
  resourceNames: ["orders"]
  verbs: ["get", "update", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: status-writer }
rules:
- apiGroups: ["*"]
  resources: ["*/status"]
  verbs: ["update", "patch"]
- nonResourceURLs: ["/metrics", "/debug/*"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: readers }
subjects:
- { kind: User, name: reader }
- { kind: Group, name: auditors }
roleRef: { kind: ClusterRole, name: stream-reader, apiGroup: rbac.authorization.k8s.io }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: editors, namespace: team-a }
subjects:
- { kind: User, name: alice }
- { kind: ServiceAccount, name: ci }
roleRef: { kind: Role, name: processor-editor }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: orders-owner, namespace: team-b }
subjects:
- { kind: User, name: bob }
- { kind: Group, name: "system:serviceaccounts:team-c" }
roleRef: { kind: ClusterRole, name: one-stream }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: controllers }
subjects:
- { kind: ServiceAccount, name: controller, namespace: streaming-runtime }
roleRef: { kind: ClusterRole, name: status-writer }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: ignored }
`;

const { policy, warnings } = parsePolicy(POLICY, 'test');
const rbac = new RbacAuthorizer(mergePolicies(bootstrapPolicy({ anonymousDiscovery: false }), policy));

function user(name: string, groups: string[] = []): UserInfo {
  return { name, groups: [...groups, 'system:authenticated'] };
}

function allowed(who: UserInfo, method: string, url: string): boolean {
  return rbac.allows(who, parseRequestInfo(method, url));
}

test('non-RBAC documents are ignored with a warning', () => {
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /ServiceAccount/);
});

test('a ClusterRoleBinding grants everywhere, only the listed verbs', () => {
  const reader = user('reader');
  assert.ok(allowed(reader, 'GET', `${base}/namespaces/x/streams`));
  assert.ok(allowed(reader, 'GET', `${base}/streams?watch=1`));
  assert.ok(allowed(reader, 'GET', `${base}/clusterstreams/c`));
  assert.ok(!allowed(reader, 'POST', `${base}/namespaces/x/streams`));
  assert.ok(!allowed(reader, 'DELETE', `${base}/namespaces/x/streams/s`));
  assert.ok(!allowed(reader, 'PATCH', `${base}/namespaces/x/streams/s`));
  // A resource grant does not cover its subresources.
  assert.ok(!allowed(reader, 'GET', `${base}/namespaces/x/processors/p/scale`));
  assert.ok(!allowed(reader, 'PUT', `${base}/namespaces/x/processors/p/status`));
  assert.ok(allowed(user('someone', ['auditors']), 'GET', `${base}/namespaces/y/processors/p`));
  assert.ok(!allowed(user('someone', ['other']), 'GET', `${base}/namespaces/y/processors/p`));
});

test('a RoleBinding grants only within its namespace, never cluster-wide', () => {
  const alice = user('alice');
  assert.ok(allowed(alice, 'POST', `${base}/namespaces/team-a/processors`));
  assert.ok(allowed(alice, 'DELETE', `${base}/namespaces/team-a/processors`));
  assert.ok(!allowed(alice, 'POST', `${base}/namespaces/team-b/processors`));
  assert.ok(!allowed(alice, 'GET', `${base}/processors`), 'all-namespaces list needs a cluster grant');
  assert.ok(!allowed(alice, 'POST', `${base}/namespaces/team-a/streams`));
  // processors/scale is granted explicitly, processors/status is not.
  assert.ok(allowed(alice, 'PATCH', `${base}/namespaces/team-a/processors/p/scale`));
  assert.ok(!allowed(alice, 'GET', `${base}/namespaces/team-a/processors/p/scale`));
  assert.ok(!allowed(alice, 'PUT', `${base}/namespaces/team-a/processors/p/status`));
});

test('service account subjects: namespace defaults to the binding, groups per namespace', () => {
  const ci = user('system:serviceaccount:team-a:ci', ['system:serviceaccounts', 'system:serviceaccounts:team-a']);
  assert.ok(allowed(ci, 'PUT', `${base}/namespaces/team-a/processors/p`));
  assert.ok(!allowed(user('system:serviceaccount:team-b:ci'), 'PUT', `${base}/namespaces/team-a/processors/p`));
  const controller = user('system:serviceaccount:streaming-runtime:controller', ['system:serviceaccounts']);
  assert.ok(allowed(controller, 'PUT', `${base}/namespaces/any/processors/p/status`));
  assert.ok(allowed(controller, 'PATCH', `${base}/clusterstreams/c/status`));
  assert.ok(!allowed(controller, 'PUT', `${base}/namespaces/any/processors/p`));
  const teamC = user('system:serviceaccount:team-c:app', ['system:serviceaccounts', 'system:serviceaccounts:team-c']);
  assert.ok(allowed(teamC, 'GET', `${base}/namespaces/team-b/streams/orders`));
});

test('resourceNames restrict to named objects; collections never match', () => {
  const bob = user('bob');
  assert.ok(allowed(bob, 'GET', `${base}/namespaces/team-b/streams/orders`));
  assert.ok(allowed(bob, 'PUT', `${base}/namespaces/team-b/streams/orders`));
  assert.ok(allowed(bob, 'DELETE', `${base}/namespaces/team-b/streams/orders`));
  assert.ok(!allowed(bob, 'GET', `${base}/namespaces/team-b/streams/payments`));
  assert.ok(!allowed(bob, 'GET', `${base}/namespaces/team-b/streams`), 'list has no name');
  assert.ok(!allowed(bob, 'DELETE', `${base}/namespaces/team-b/streams`), 'deletecollection has no name');
  assert.ok(!allowed(bob, 'POST', `${base}/namespaces/team-b/streams`), 'create has no name');
  assert.ok(!allowed(bob, 'GET', `${base}/namespaces/team-a/streams/orders`), 'other namespace');
});

test('non-resource URLs: exact, trailing star, discovery for authenticated users', () => {
  const controller = user('system:serviceaccount:streaming-runtime:controller');
  assert.ok(allowed(controller, 'GET', '/metrics'));
  assert.ok(allowed(controller, 'GET', '/debug/pprof/heap'));
  assert.ok(!allowed(controller, 'POST', '/metrics'));
  assert.ok(!allowed(user('reader'), 'GET', '/metrics'));
  assert.ok(allowed(user('nobody'), 'GET', '/apis'));
  assert.ok(allowed(user('nobody'), 'GET', `/apis/${G}/v1alpha1`));
  assert.ok(allowed(user('nobody'), 'GET', '/openapi/v3'));
  assert.ok(allowed(user('nobody'), 'GET', '/version'));
  const anonymous = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
  assert.ok(!allowed(anonymous, 'GET', '/apis'), 'discovery is for authenticated users by default');
  assert.ok(allowed(anonymous, 'GET', '/healthz'));
  const withAnonymousDiscovery = new RbacAuthorizer(bootstrapPolicy({ anonymousDiscovery: true }));
  assert.ok(withAnonymousDiscovery.allows(anonymous, parseRequestInfo('GET', '/apis')));
  assert.ok(!withAnonymousDiscovery.allows(anonymous, parseRequestInfo('GET', `${base}/streams`)));
});

test('matching helpers', () => {
  assert.ok(resourceMatches(['*'], 'processors', 'status'));
  assert.ok(resourceMatches(['*/scale'], 'processors', 'scale'));
  assert.ok(!resourceMatches(['*/scale'], 'processors', ''));
  assert.ok(!resourceMatches(['processors'], 'processors', 'status'));
  assert.ok(resourceMatches(['processors/status'], 'processors', 'status'));
  assert.ok(nonResourceUrlMatches(['*'], '/anything'));
  assert.ok(nonResourceUrlMatches(['/apis/*'], '/apis/x'));
  assert.ok(!nonResourceUrlMatches(['/apis/*'], '/apis'));
});

test('aggregated ClusterRoles collect the rules of matching ClusterRoles', () => {
  const { policy: aggregated } = parsePolicy(`
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: { name: view }
aggregationRule:
  clusterRoleSelectors: [{ matchLabels: { "example.com/aggregate-to-view": "true" } }]
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: { name: sr-view, labels: { "example.com/aggregate-to-view": "true" } }
rules: [{ apiGroups: ["${G}"], resources: ["streams"], verbs: ["get"] }]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: { name: view }
subjects: [{ kind: Group, name: viewers }]
roleRef: { kind: ClusterRole, name: view }
`);
  const authz = new RbacAuthorizer(aggregated);
  assert.ok(authz.allows(user('v', ['viewers']), parseRequestInfo('GET', `${base}/namespaces/a/streams/s`)));
});

test('invalid policy documents are reported with their place', () => {
  assert.throws(() => parsePolicy('kind: Role\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: r}\nrules: []\n', 'f.yaml'), (err: unknown) => err instanceof PolicyFileError && /f\.yaml document 1\.metadata\.namespace/.test(err.message));
  assert.throws(() => parsePolicy('kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1beta1\nmetadata: {name: r}\n', 'f.yaml'), /apiVersion must be/);
  assert.throws(() => parsePolicy('kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: r}\nrules: [{resources: [x]}]\n'), /verbs/);
  assert.throws(() => parsePolicy('kind: ClusterRoleBinding\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: b}\nroleRef: {kind: Role, name: r}\n'), /roleRef\.kind/);
  assert.throws(() => parsePolicy('{ not yaml: ['), PolicyFileError);
  // JSON and kind: List work too.
  const { policy: fromJson } = parsePolicy(JSON.stringify({
    kind: 'List',
    items: [{ kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: 'x' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }] }],
  }));
  assert.equal(fromJson.clusterRoles.length, 1);
});
