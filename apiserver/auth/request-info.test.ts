import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLongRunning, parseRequestInfo } from './request-info';
import type { RequestInfo } from './types';

const G = 'streaming.tanzu.vmware.com';
const V = 'v1alpha1';
const base = `/apis/${G}/${V}`;

function resource(fields: Partial<RequestInfo>): RequestInfo {
  return {
    isResourceRequest: true,
    path: '',
    verb: '',
    apiGroup: G,
    apiVersion: V,
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    ...fields,
  };
}

function check(method: string, url: string, expected: Partial<RequestInfo>): void {
  const path = url.split('?')[0];
  const got = parseRequestInfo(method, url);
  assert.deepEqual(got, resource({ path, ...expected }), `${method} ${url}`);
}

test('namespaced collection and object verbs follow the HTTP method', () => {
  const ns = { namespace: 'default', resource: 'streams' };
  check('GET', `${base}/namespaces/default/streams`, { ...ns, verb: 'list' });
  check('POST', `${base}/namespaces/default/streams`, { ...ns, verb: 'create' });
  check('DELETE', `${base}/namespaces/default/streams`, { ...ns, verb: 'deletecollection' });
  check('GET', `${base}/namespaces/default/streams/s1`, { ...ns, verb: 'get', name: 's1' });
  check('HEAD', `${base}/namespaces/default/streams/s1`, { ...ns, verb: 'get', name: 's1' });
  check('PUT', `${base}/namespaces/default/streams/s1`, { ...ns, verb: 'update', name: 's1' });
  check('PATCH', `${base}/namespaces/default/streams/s1`, { ...ns, verb: 'patch', name: 's1' });
  check('DELETE', `${base}/namespaces/default/streams/s1`, { ...ns, verb: 'delete', name: 's1' });
  check('OPTIONS', `${base}/namespaces/default/streams/s1`, { ...ns, verb: '', name: 's1' });
});

test('watch via ?watch and via the /watch/ prefix', () => {
  const ns = { namespace: 'ns1', resource: 'processors' };
  check('GET', `${base}/namespaces/ns1/processors?watch=1&resourceVersion=5`, { ...ns, verb: 'watch' });
  check('GET', `${base}/namespaces/ns1/processors?watch=true`, { ...ns, verb: 'watch' });
  check('GET', `${base}/namespaces/ns1/processors?watch=false`, { ...ns, verb: 'list' });
  check('GET', `${base}/namespaces/ns1/processors?watch=0`, { ...ns, verb: 'list' });
  check('GET', `${base}/namespaces/ns1/processors?watch=`, { ...ns, verb: 'list' });
  check('GET', `${base}/watch/namespaces/ns1/processors`, { ...ns, verb: 'watch' });
  check('GET', `${base}/watch/namespaces/ns1/processors/p1`, { ...ns, verb: 'watch', name: 'p1' });
  check('GET', `${base}/watch/processors`, { resource: 'processors', verb: 'watch' });
  assert.equal(isLongRunning(parseRequestInfo('GET', `${base}/processors?watch=1`)), true);
  assert.equal(isLongRunning(parseRequestInfo('GET', `${base}/processors`)), false);
});

test('a field selector on metadata.name names the object of a list or watch', () => {
  const ns = { namespace: 'default', resource: 'streams' };
  check('GET', `${base}/namespaces/default/streams?fieldSelector=metadata.name%3Ds1`, { ...ns, verb: 'list', name: 's1' });
  check('GET', `${base}/namespaces/default/streams?fieldSelector=metadata.name%3D%3Ds1&watch=1`, { ...ns, verb: 'watch', name: 's1' });
  check('GET', `${base}/namespaces/default/streams?fieldSelector=metadata.name!%3Ds1`, { ...ns, verb: 'list' });
  check('GET', `${base}/namespaces/default/streams?fieldSelector=metadata.namespace%3Ddefault`, { ...ns, verb: 'list' });
});

test('subresources status and scale', () => {
  const ns = { namespace: 'default', resource: 'processors', name: 'p1' };
  check('PUT', `${base}/namespaces/default/processors/p1/status`, { ...ns, verb: 'update', subresource: 'status' });
  check('PATCH', `${base}/namespaces/default/processors/p1/scale`, { ...ns, verb: 'patch', subresource: 'scale' });
  check('GET', `${base}/namespaces/default/processors/p1/scale`, { ...ns, verb: 'get', subresource: 'scale' });
  check('PUT', `${base}/clusterstreams/c1/status`, { resource: 'clusterstreams', name: 'c1', verb: 'update', subresource: 'status' });
});

test('cluster-scoped resources and all-namespace lists have no namespace', () => {
  check('GET', `${base}/clusterstreams`, { resource: 'clusterstreams', verb: 'list' });
  check('GET', `${base}/clusterstreams/c1`, { resource: 'clusterstreams', verb: 'get', name: 'c1' });
  check('GET', `${base}/streams`, { resource: 'streams', verb: 'list' });
});

test('core group and namespaces themselves', () => {
  const core = { apiGroup: '', apiVersion: 'v1' };
  check('GET', '/api/v1/namespaces', { ...core, resource: 'namespaces', verb: 'list' });
  check('GET', '/api/v1/namespaces/default', { ...core, resource: 'namespaces', namespace: 'default', verb: 'get', name: 'default' });
  check('PUT', '/api/v1/namespaces/default/status', { ...core, resource: 'namespaces', namespace: 'default', verb: 'update', name: 'default', subresource: 'status' });
  check('GET', '/api/v1/namespaces/default/pods/x/log', { ...core, resource: 'pods', namespace: 'default', verb: 'get', name: 'x', subresource: 'log' });
});

test('discovery, health, OpenAPI and metrics are non-resource requests', () => {
  for (const path of ['/', '/apis', `/apis/${G}`, `/apis/${G}/${V}`, '/api', '/api/v1', '/healthz', '/readyz/etcd', '/version', '/openapi/v3/apis/x/y', '/metrics', `/apis/${G}/${V}/watch`]) {
    assert.deepEqual(
      parseRequestInfo('GET', `${path}?x=1`),
      { isResourceRequest: false, path, verb: 'get', apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' },
      path,
    );
  }
  assert.equal(parseRequestInfo('POST', '/apis').verb, 'post');
  assert.equal(parseRequestInfo('GET', '').path, '/');
});

test('percent-encoded path segments are decoded; malformed escapes do not throw', () => {
  check('GET', `${base}/namespaces/default/streams/a%2Db`, { namespace: 'default', resource: 'streams', name: 'a-b', verb: 'get' });
  check('GET', `${base}/namespaces/default/streams/%E0%A4%A`, { namespace: 'default', resource: 'streams', name: '%E0%A4%A', verb: 'get' });
});
