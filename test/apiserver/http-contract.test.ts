// The HTTP contract kubectl and client libraries rely on (../shared/reference/kubectl-contract.md), checked on the
// wire against `sr apiserver` on a real etcd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import type { EtcdHandle } from '../support/etcd';
import { startApiServer, startEtcdAndApiServer, stopApiServerAndEtcd, apiRequest, type ApiServerHandle, type ApiResponse } from '../support/apiserver-server';
import { waitFor } from '../support/ports';

let etcd: EtcdHandle;
let api: ApiServerHandle;
const G = 'streaming.tanzu.vmware.com';
const GV = `/apis/${G}/v1alpha1`;
const NS = `${GV}/namespaces/ns1`;
const JSON_CT = { 'content-type': 'application/json' };

interface Obj { metadata: { name: string; resourceVersion: string; uid: string; generation: number; [k: string]: unknown }; spec?: Record<string, unknown>; status?: Record<string, unknown> }
interface List { metadata: { resourceVersion: string; continue?: string }; items: Obj[] }
interface StatusBody { kind: string; status: string; reason: string; code: number; message: string; details?: { causes?: { field: string; reason: string; message: string }[]; uid?: string } }

function stream(name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}): string {
  return JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name, labels }, spec: { protocol: 'kafka', storage: { clusterStream: 'cs' }, ...extra } });
}

async function create(name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}): Promise<Obj> {
  const res = await api.request('POST', `${NS}/streams`, { body: stream(name, extra, labels), headers: JSON_CT });
  assert.equal(res.status, 201, res.body);
  return res.json<Obj>();
}

/** A POST whose Content-Length is over the server's limit. The server answers from the headers, before the body;
 *  only its first bytes are sent, because a client still writing megabytes when the server closes the connection gets
 *  EPIPE instead of the answer (Node's client; Go's keeps the answer). */
function oversizedPost(path: string, length: number): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, api.url), {
      method: 'POST', ca: api.caPem, timeout: 30_000,
      headers: { ...JSON_CT, authorization: `Bearer ${api.token}`, 'content-length': String(length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
        req.destroy();
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer to an oversized body within 30 s')));
    req.on('error', reject);
    req.write('{"apiVersion":"streaming.tanzu.vmware.com/v1alpha1","kind":"Stream",');
  });
}

function status(res: ApiResponse, code: number, reason: string): StatusBody {
  assert.equal(res.status, code, res.body);
  const body = res.json<StatusBody>();
  assert.equal(body.kind, 'Status');
  assert.equal(body.reason, reason);
  assert.equal(body.code, code);
  return body;
}

/** Opens a watch and collects its events (one JSON per line). */
function openWatch(path: string, headers: Record<string, string> = {}): { events: { type: string; object: Obj & { kind?: string } }[]; close: () => void; ended: Promise<void> } {
  const events: { type: string; object: Obj & { kind?: string } }[] = [];
  let buffer = '';
  let close = (): void => undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const req = httpsRequest(new URL(path, api.url), { headers: { authorization: `Bearer ${api.token}`, ...headers }, ca: api.caPem }, (res) => {
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) events.push(JSON.parse(line) as { type: string; object: Obj });
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', (err) => { if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(); else reject(err); });
    req.end();
    close = () => req.destroy();
  });
  return { events, close, ended };
}

before(async () => {
  ({ etcd, api } = await startEtcdAndApiServer());
});

after(() => stopApiServerAndEtcd(api, etcd));

describe('discovery, openapi, health', () => {
  test('aggregated discovery v2 with ETag/304, legacy discovery', async () => {
    const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const res = await api.request('GET', '/apis', { headers: { accept } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /as=APIGroupDiscoveryList/);
    const doc = res.json<{ items: { metadata: { name: string }; versions: { resources: { resource: string; responseKind: unknown; scope: string; shortNames?: string[]; subresources: { subresource: string; responseKind: { kind: string } }[] }[] }[] }[] }>();
    const resources = doc.items[0].versions[0].resources;
    const processors = resources.find((r) => r.resource === 'processors');
    assert.deepEqual(processors?.shortNames, ['srp']);
    assert.deepEqual(processors?.subresources.map((s) => s.subresource).sort(), ['scale', 'status']);
    assert.equal(processors?.subresources.find((s) => s.subresource === 'scale')?.responseKind.kind, 'Scale');
    assert.ok(resources.every((r) => r.responseKind !== null));
    assert.equal(resources.find((r) => r.resource === 'clusterstreams')?.scope, 'Cluster');
    const etag = String(res.headers.etag);
    const again = await api.request('GET', '/apis', { headers: { accept, 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const legacy = await api.request('GET', '/apis');
    assert.equal(legacy.json<{ kind: string }>().kind, 'APIGroupList');
    const group = await api.request('GET', `/apis/${G}`);
    assert.equal(group.json<{ kind: string }>().kind, 'APIGroup');
    const list = await api.request('GET', GV);
    const names = list.json<{ resources: { name: string; verbs: string[] }[] }>().resources.map((r) => r.name).sort();
    assert.deepEqual(names, ['clusterstreams', 'clusterstreams/status', 'processors', 'processors/scale', 'processors/status', 'streams', 'streams/status']);
    assert.equal((await api.request('GET', '/apis/nope.example.com/v1')).status, 404);
  });

  test('openapi v3 index and per-GV document; v2', async () => {
    const index = (await api.request('GET', '/openapi/v3')).json<{ paths: Record<string, { serverRelativeURL: string }> }>();
    const url = index.paths[`apis/${G}/v1alpha1`].serverRelativeURL;
    assert.match(url, /\?hash=[0-9A-F]+/);
    const doc = (await api.request('GET', url)).json<{ paths: Record<string, Record<string, { parameters?: { name: string }[]; requestBody?: { content: Record<string, unknown> }; 'x-kubernetes-action'?: string }>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>();
    const item = doc.paths[`/apis/${G}/v1alpha1/namespaces/{namespace}/streams/{name}`];
    assert.ok(item.patch.parameters?.some((p) => p.name === 'fieldValidation'));
    assert.ok(!Object.keys(item.patch.requestBody?.content ?? {}).includes('application/strategic-merge-patch+json'));
    assert.equal(item.patch['x-kubernetes-action'], 'patch');
    assert.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
    assert.ok(doc.components.schemas['com.vmware.tanzu.streaming.v1alpha1.Stream'].properties?.spec);
    const v2 = await api.request('GET', '/openapi/v2', { headers: { accept: 'application/json' } });
    assert.equal(v2.status, 200);
    assert.ok(v2.json<{ definitions: Record<string, unknown> }>().definitions['com.vmware.tanzu.streaming.v1alpha1.Processor']);
  });

  test('health, version, metrics; 401 without credentials', async () => {
    for (const p of ['/healthz', '/livez', '/readyz']) {
      const res = await apiRequest(api.url, api.caPem, undefined, 'GET', p);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
    }
    const version = (await api.request('GET', '/version')).json<{ major: string; gitVersion: string }>();
    assert.equal(version.major, '1');
    const anonymous = await apiRequest(api.url, api.caPem, undefined, 'GET', `${NS}/streams`);
    status(anonymous, 401, 'Unauthorized');
    const bad = await apiRequest(api.url, api.caPem, 'wrong-token', 'GET', `${NS}/streams`);
    status(bad, 401, 'Unauthorized');
    await api.request('GET', `${NS}/streams`);
    const metrics = await api.request('GET', '/metrics');
    assert.match(metrics.body, /apiserver_request_total\{[^}]*verb="LIST"[^}]*resource="streams"[^}]*code="200"/);
    assert.match(metrics.body, /apiserver_request_duration_seconds_bucket/);
    assert.match(metrics.body, /etcd_request_duration_seconds_bucket/);
    assert.match(metrics.body, /apiserver_longrunning_requests/);
  });
});

describe('resources', () => {
  test('create: server fields, generateName, 409 AlreadyExists, 404 NotFound', async () => {
    const created = await create('a1');
    assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(String(created.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(created.metadata.generation, 1);
    assert.match(created.metadata.resourceVersion, /^\d+$/);
    const dup = await api.request('POST', `${NS}/streams`, { body: stream('a1'), headers: JSON_CT });
    const body = status(dup, 409, 'AlreadyExists');
    assert.equal(body.message, `streams.${G} "a1" already exists`);
    const generated = await api.request('POST', `${NS}/streams`, { body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { generateName: 'gen-' }, spec: { protocol: 'kafka' } }), headers: JSON_CT });
    assert.equal(generated.status, 201, generated.body);
    assert.match(generated.json<Obj>().metadata.name, /^gen-[a-z0-9]{5}$/);
    const missing = await api.request('GET', `${NS}/streams/nope`);
    assert.equal(status(missing, 404, 'NotFound').message, `streams.${G} "nope" not found`);
    const withRv = JSON.stringify({ ...JSON.parse(stream('a3')), metadata: { name: 'a3', resourceVersion: '5' } });
    assert.equal(status(await api.request('POST', `${NS}/streams`, { body: withRv, headers: JSON_CT }), 400, 'BadRequest').message, 'resourceVersion should not be set on objects to be created');
    // Status is ignored on create when the status subresource exists.
    const withStatus = await api.request('POST', `${NS}/streams`, { body: JSON.stringify({ ...JSON.parse(stream('a2')), status: { conditions: [] } }), headers: JSON_CT });
    assert.equal(withStatus.json<Obj>().status, undefined);
  });

  test('update: 409 stale resourceVersion, generation moves only on spec', async () => {
    const obj = await create('u1');
    const labelled = { ...obj, metadata: { ...obj.metadata, labels: { x: 'y' } } };
    const r1 = await api.request('PUT', `${NS}/streams/u1`, { body: JSON.stringify(labelled), headers: JSON_CT });
    assert.equal(r1.status, 200, r1.body);
    assert.equal(r1.json<Obj>().metadata.generation, 1);
    const stale = await api.request('PUT', `${NS}/streams/u1`, { body: JSON.stringify(labelled), headers: JSON_CT });
    assert.equal(status(stale, 409, 'Conflict').message, `Operation cannot be fulfilled on streams.${G} "u1": the object has been modified; please apply your changes to the latest version and try again`);
    const fresh = r1.json<Obj>();
    const specChange = { ...fresh, spec: { ...fresh.spec, partitionCount: 4 } };
    const r2 = await api.request('PUT', `${NS}/streams/u1`, { body: JSON.stringify(specChange), headers: JSON_CT });
    assert.equal(r2.json<Obj>().metadata.generation, 2);
    const noRv = { ...fresh, metadata: { ...fresh.metadata, resourceVersion: undefined } };
    status(await api.request('PUT', `${NS}/streams/u1`, { body: JSON.stringify(noRv), headers: JSON_CT }), 422, 'Invalid');
  });

  test('422 Invalid with causes and field paths', async () => {
    const res = await api.request('POST', `${NS}/streams`, { body: stream('Bad_Name', { protocol: 'carrier-pigeon', partitionCount: 0 }), headers: JSON_CT });
    const body = status(res, 422, 'Invalid');
    assert.match(body.message, /^Stream\.streaming\.tanzu\.vmware\.com "Bad_Name" is invalid: \[/);
    const fields = (body.details?.causes ?? []).map((c) => c.field);
    assert.ok(fields.includes('metadata.name'), fields.join());
    assert.ok(fields.includes('spec.protocol'), fields.join());
    assert.ok(fields.includes('spec.partitionCount'), fields.join());
    assert.ok(body.details?.causes?.every((c) => c.reason.startsWith('FieldValue')));
  });

  test('patches: merge, json, apply (fieldManager required), strategic → 415', async () => {
    await create('p1');
    const merge = await api.request('PATCH', `${NS}/streams/p1`, { body: '{"metadata":{"labels":{"a":"b"}}}', headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(merge.status, 200, merge.body);
    const json = await api.request('PATCH', `${NS}/streams/p1`, { body: '[{"op":"replace","path":"/spec/protocol","value":"rabbitmq"},{"op":"test","path":"/metadata/labels/a","value":"b"}]', headers: { 'content-type': 'application/json-patch+json' } });
    assert.equal(json.status, 422, 'protocol is immutable: ' + json.body);
    const failingTest = await api.request('PATCH', `${NS}/streams/p1`, { body: '[{"op":"test","path":"/metadata/labels/a","value":"zzz"}]', headers: { 'content-type': 'application/json-patch+json' } });
    assert.equal(failingTest.status, 422, failingTest.body);
    const smp = await api.request('PATCH', `${NS}/streams/p1`, { body: '{}', headers: { 'content-type': 'application/strategic-merge-patch+json' } });
    assert.match(status(smp, 415, 'UnsupportedMediaType').message, /^the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/);
    const noManager = await api.request('PATCH', `${NS}/streams/p1`, { body: stream('p1'), headers: { 'content-type': 'application/apply-patch+yaml' } });
    status(noManager, 422, 'Invalid');
    const applied = await api.request('PATCH', `${NS}/streams/p1?fieldManager=tool`, { body: stream('p1', { partitionCount: 5 }), headers: { 'content-type': 'application/apply-patch+yaml' } });
    assert.equal(applied.status, 200, applied.body);
    const created = await api.request('PATCH', `${NS}/streams/p2?fieldManager=tool`, { body: stream('p2'), headers: { 'content-type': 'application/apply-patch+yaml' } });
    assert.equal(created.status, 201, created.body);
    const conflict = await api.request('PATCH', `${NS}/streams/p1?fieldManager=other`, { body: stream('p1', { partitionCount: 6 }), headers: { 'content-type': 'application/apply-patch+yaml' } });
    const c = status(conflict, 409, 'Conflict');
    assert.equal(c.details?.causes?.[0].reason, 'FieldManagerConflict');
    assert.equal(c.details?.causes?.[0].field, '.spec.partitionCount');
    const stalePatch = await api.request('PATCH', `${NS}/streams/p1`, { body: '{"metadata":{"resourceVersion":"1"},"spec":{"partitionCount":7}}', headers: { 'content-type': 'application/merge-patch+json' } });
    status(stalePatch, 409, 'Conflict');
  });

  test('dryRun=All never persists; other dryRun values 422', async () => {
    const dry = await api.request('POST', `${NS}/streams?dryRun=All`, { body: stream('dry'), headers: JSON_CT });
    assert.equal(dry.status, 201);
    status(await api.request('GET', `${NS}/streams/dry`), 404, 'NotFound');
    status(await api.request('POST', `${NS}/streams?dryRun=Some`, { body: stream('dry'), headers: JSON_CT }), 422, 'Invalid');
    const obj = await create('dry2');
    const delDry = await api.request('DELETE', `${NS}/streams/dry2?dryRun=All`);
    assert.equal(delDry.status, 200);
    assert.equal((await api.request('GET', `${NS}/streams/dry2`)).status, 200);
    const patchDry = await api.request('PATCH', `${NS}/streams/dry2?dryRun=All`, { body: '{"spec":{"partitionCount":9}}', headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patchDry.json<Obj>().spec?.partitionCount, 9);
    assert.equal((await api.request('GET', `${NS}/streams/dry2`)).json<Obj>().metadata.resourceVersion, obj.metadata.resourceVersion);
  });

  test('fieldValidation Strict → 400, Warn → Warning header, Ignore → silent', async () => {
    const body = stream('fv', { bogus: 1 });
    const strict = await api.request('POST', `${NS}/streams?fieldValidation=Strict`, { body, headers: JSON_CT });
    assert.equal(status(strict, 400, 'BadRequest').message, 'strict decoding error: unknown field "spec.bogus"');
    const warn = await api.request('POST', `${NS}/streams?fieldValidation=Warn`, { body, headers: JSON_CT });
    assert.equal(warn.status, 201);
    assert.match(String(warn.headers.warning), /^299 - "unknown field \\"spec.bogus\\""/);
    const duplicate = await api.request('POST', `${NS}/streams?fieldValidation=Strict`, { body: stream('fv3').replace('"protocol":"kafka"', '"protocol":"kafka","protocol":"rabbitmq"'), headers: JSON_CT });
    assert.equal(status(duplicate, 400, 'BadRequest').message, 'strict decoding error: duplicate field "spec.protocol"');
    const ignore = await api.request('POST', `${NS}/streams?fieldValidation=Ignore`, { body: stream('fv2', { bogus: 1 }), headers: JSON_CT });
    assert.equal(ignore.status, 201);
    assert.equal(ignore.headers.warning, undefined);
  });

  test('list: selectors, limit/continue, all namespaces, Table, PartialObjectMetadata', async () => {
    for (let i = 0; i < 5; i++) await create(`l${i}`, {}, { idx: String(i), group: i % 2 === 0 ? 'even' : 'odd' });
    const even = (await api.request('GET', `${NS}/streams?labelSelector=${encodeURIComponent('group in (even),idx!=4')}`)).json<List>();
    assert.deepEqual(even.items.map((i) => i.metadata.name), ['l0', 'l2']);
    const gt = (await api.request('GET', `${NS}/streams?labelSelector=${encodeURIComponent('idx>2,!missing')}`)).json<List>();
    assert.deepEqual(gt.items.map((i) => i.metadata.name), ['l3', 'l4']);
    status(await api.request('GET', `${NS}/streams?labelSelector=${encodeURIComponent('a in (b')}`), 400, 'BadRequest');
    const byName = (await api.request('GET', `${NS}/streams?fieldSelector=metadata.name%3Dl1`)).json<List>();
    assert.deepEqual(byName.items.map((i) => i.metadata.name), ['l1']);
    status(await api.request('GET', `${NS}/streams?fieldSelector=spec.protocol%3Dkafka`), 400, 'BadRequest');
    const page1 = (await api.request('GET', `${NS}/streams?labelSelector=idx&limit=2`)).json<List>();
    assert.equal(page1.items.length, 2);
    assert.ok(page1.metadata.continue);
    const seen = page1.items.map((i) => i.metadata.name);
    let token: string | undefined = page1.metadata.continue;
    await create('zz-after-first-page', {}, { idx: '9' });
    while (token) {
      const page: List = (await api.request("GET", `${NS}/streams?labelSelector=idx&limit=2&continue=${encodeURIComponent(token)}`)).json<List>();
      assert.equal(page.metadata.resourceVersion, page1.metadata.resourceVersion, 'pages are pinned to the first revision');
      seen.push(...page.items.map((i) => i.metadata.name));
      token = page.metadata.continue;
    }
    assert.deepEqual(seen, ['l0', 'l1', 'l2', 'l3', 'l4']);
    status(await api.request('GET', `${NS}/streams?continue=garbage`), 400, 'BadRequest');
    await api.request('POST', `${GV}/namespaces/ns2/streams`, { body: stream('other-ns'), headers: JSON_CT });
    const all = (await api.request('GET', `${GV}/streams`)).json<List>();
    assert.ok(all.items.some((i) => i.metadata.name === 'other-ns'));
    assert.match(all.metadata.resourceVersion, /^\d+$/);
    const table = (await api.request('GET', `${NS}/streams?labelSelector=idx%3D1`, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } })).json<{ kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[]; object: { kind: string } }[] }>();
    assert.equal(table.kind, 'Table');
    assert.equal(table.columnDefinitions[0].name, 'Name');
    assert.equal(table.columnDefinitions.at(-1)?.name, 'Age');
    assert.equal(table.rows[0].cells[0], 'l1');
    assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
    const pom = (await api.request('GET', `${NS}/streams?labelSelector=idx%3D1`, { headers: { accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' } })).json<{ kind: string; items: { kind: string; spec?: unknown }[] }>();
    assert.equal(pom.kind, 'PartialObjectMetadataList');
    assert.equal(pom.items[0].kind, 'PartialObjectMetadata');
    assert.equal(pom.items[0].spec, undefined);
    status(await api.request('GET', `${NS}/streams`, { headers: { accept: 'application/vnd.kubernetes.protobuf' } }), 406, 'NotAcceptable');
  });

  test('status and scale subresources', async () => {
    const processor = { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'sc1' }, spec: { type: 'SRP', replicas: 1, inputs: [{ name: 'a' }], outputs: [{ name: 'b' }] } };
    const created = await api.request('POST', `${NS}/processors`, { body: JSON.stringify(processor), headers: JSON_CT });
    assert.equal(created.status, 201, created.body);
    const scale = (await api.request('GET', `${NS}/processors/sc1/scale`)).json<{ kind: string; spec: { replicas: number } }>();
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 1);
    const patched = await api.request('PATCH', `${NS}/processors/sc1/scale`, { body: '{"spec":{"replicas":3}}', headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.json<{ spec: { replicas: number } }>().spec.replicas, 3);
    status(await api.request('PATCH', `${NS}/processors/sc1/scale`, { body: '{"spec":{"replicas":-1}}', headers: { 'content-type': 'application/merge-patch+json' } }), 422, 'Invalid');
    const current = (await api.request('GET', `${NS}/processors/sc1`)).json<Obj>();
    assert.equal(current.metadata.generation, 2);
    const withStatus = { ...current, status: { replicas: 3, readyReplicas: 2 }, spec: { ...current.spec, replicas: 100 } };
    const st = await api.request('PUT', `${NS}/processors/sc1/status`, { body: JSON.stringify(withStatus), headers: JSON_CT });
    assert.equal(st.status, 200, st.body);
    const afterStatus = st.json<Obj>();
    assert.equal(afterStatus.spec?.replicas, 3, '/status ignores spec');
    assert.equal(afterStatus.status?.readyReplicas, 2);
    assert.equal(afterStatus.metadata.generation, 2, 'status never bumps generation');
    const mainIgnoresStatus = await api.request('PUT', `${NS}/processors/sc1`, { body: JSON.stringify({ ...afterStatus, status: { replicas: 0 } }), headers: JSON_CT });
    assert.equal(mainIgnoresStatus.json<Obj>().status?.replicas, 3);
  });

  test('delete: object with uid, finalizers keep it with deletionTimestamp, deletecollection', async () => {
    const d = await create('d1');
    const res = await api.request('DELETE', `${NS}/streams/d1`);
    assert.equal(res.status, 200);
    assert.equal(res.json<Obj>().metadata.uid, d.metadata.uid);
    const pre = await create('d2');
    const badPre = await api.request('DELETE', `${NS}/streams/d2`, { body: JSON.stringify({ preconditions: { uid: 'not-it' } }), headers: JSON_CT });
    status(badPre, 409, 'Conflict');
    assert.equal((await api.request('DELETE', `${NS}/streams/d2`, { body: JSON.stringify({ preconditions: { uid: pre.metadata.uid } }), headers: JSON_CT })).status, 200);
    await create('f1', {}, {});
    await api.request('PATCH', `${NS}/streams/f1`, { body: '{"metadata":{"finalizers":["x.io/y"]}}', headers: { 'content-type': 'application/merge-patch+json' } });
    const marked = await api.request('DELETE', `${NS}/streams/f1`);
    assert.equal(marked.status, 200);
    assert.ok(marked.json<Obj>().metadata.deletionTimestamp);
    const addFinalizer = await api.request('PATCH', `${NS}/streams/f1`, { body: '{"metadata":{"finalizers":["x.io/y","new.io/z"]}}', headers: { 'content-type': 'application/merge-patch+json' } });
    status(addFinalizer, 422, 'Invalid');
    const removed = await api.request('PATCH', `${NS}/streams/f1`, { body: '{"metadata":{"finalizers":null}}', headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(removed.status, 200);
    status(await api.request('GET', `${NS}/streams/f1`), 404, 'NotFound');
    for (const n of ['dc1', 'dc2']) await create(n, {}, { dc: 'yes' });
    const dc = await api.request('DELETE', `${NS}/streams?labelSelector=dc%3Dyes`);
    assert.equal(dc.status, 200);
    assert.equal(dc.json<List>().items.length, 2);
    assert.equal((await api.request('GET', `${NS}/streams?labelSelector=dc`)).json<List>().items.length, 0);
  });
});

describe('bad input', () => {
  test('400 malformed JSON/YAML, 413 too large, 415 media type, 405 verb, 400 wrong namespace; nothing stored', async () => {
    status(await api.request('POST', `${NS}/streams`, { body: '{"apiVersion":', headers: JSON_CT }), 400, 'BadRequest');
    status(await api.request('POST', `${NS}/streams`, { body: 'a: [b', headers: { 'content-type': 'application/yaml' } }), 400, 'BadRequest');
    status(await api.request('POST', `${NS}/streams`, { body: '[1,2]', headers: JSON_CT }), 400, 'BadRequest');
    status(await oversizedPost(`${NS}/streams`, 3 * 1024 * 1024 + 10), 413, 'RequestEntityTooLarge');
    status(await api.request('POST', `${NS}/streams`, { body: stream('x'), headers: { 'content-type': 'text/plain' } }), 415, 'UnsupportedMediaType');
    status(await api.request('POST', `${NS}/streams`, { body: stream('x') }), 415, 'UnsupportedMediaType');
    status(await api.request('POST', `${NS}/streams/x`, { body: stream('x'), headers: JSON_CT }), 405, 'MethodNotAllowed');
    status(await api.request('PUT', `${NS}/streams`, { body: stream('x'), headers: JSON_CT }), 405, 'MethodNotAllowed');
    status(await api.request('PROPFIND', `${NS}/streams`), 405, 'MethodNotAllowed');
    const wrongNs = JSON.stringify({ ...JSON.parse(stream('wn')), metadata: { name: 'wn', namespace: 'elsewhere' } });
    status(await api.request('POST', `${NS}/streams`, { body: wrongNs, headers: JSON_CT }), 400, 'BadRequest');
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    status(await api.request('POST', `${NS}/streams`, { body: `{"spec":${deep}}`, headers: JSON_CT }), 400, 'BadRequest');
    const yamlCreate = await api.request('POST', `${NS}/streams`, { body: 'apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Stream\nmetadata: {name: yaml1}\nspec: {protocol: kafka}\n', headers: { 'content-type': 'application/yaml' } });
    assert.equal(yamlCreate.status, 201, yamlCreate.body);
    const listed = (await api.request('GET', `${NS}/streams`)).json<List>().items.map((i) => i.metadata.name);
    for (const n of ['huge', 'x', 'wn']) assert.ok(!listed.includes(n), `${n} must not be stored`);
    const emptyDelete = await api.request('DELETE', `${NS}/streams/yaml1`, { headers: JSON_CT });
    assert.equal(emptyDelete.status, 200, emptyDelete.body);
  });
});

describe('watch', () => {
  test('events per line, resourceVersion resume, selector transitions, DELETED at delete revision', async () => {
    const start = (await api.request('GET', `${NS}/streams`)).json<List>().metadata.resourceVersion;
    const w = openWatch(`${NS}/streams?watch=1&resourceVersion=${start}&labelSelector=w%3Dyes`);
    const a = await create('w1', {}, { w: 'yes' });
    await api.request('PATCH', `${NS}/streams/w1`, { body: '{"spec":{"partitionCount":2}}', headers: { 'content-type': 'application/merge-patch+json' } });
    await api.request('PATCH', `${NS}/streams/w1`, { body: '{"metadata":{"labels":{"w":"no"}}}', headers: { 'content-type': 'application/merge-patch+json' } });
    await api.request('PATCH', `${NS}/streams/w1`, { body: '{"metadata":{"labels":{"w":"yes"}}}', headers: { 'content-type': 'application/merge-patch+json' } });
    const del = await api.request('DELETE', `${NS}/streams/w1`);
    assert.equal(del.status, 200);
    await waitFor('5 watch events', () => w.events.length >= 5, 10_000);
    w.close();
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED', 'ADDED', 'DELETED']);
    assert.equal(w.events[0].object.metadata.uid, a.metadata.uid);
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual([...rvs].sort((x, y) => x - y), rvs, 'revisions increase');
    const current = Number((await api.request('GET', `${NS}/streams`)).json<List>().metadata.resourceVersion);
    assert.equal(rvs[4], current, 'DELETED carries the deletion revision');
  });

  test('RV=0 starts with ADDED for current state; timeoutSeconds closes; bookmarks; Table watch', async () => {
    await create('w2', {}, { w2: 'yes' });
    const w = openWatch(`${NS}/streams?watch=true&labelSelector=w2&timeoutSeconds=1`);
    await w.ended;
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED']);
    // A write outside the selection moves the revision past what a watch of w2 sends. Bookmarks go out every minute
    // and 2 s before a watch's deadline (kube's cacheWatcher), so a 3 s watch asking for them gets one after ~1 s.
    const elsewhere = await create('w2-elsewhere');
    const b = openWatch(`${NS}/streams?watch=true&labelSelector=w2&timeoutSeconds=3&allowWatchBookmarks=true`);
    await b.ended;
    assert.deepEqual(b.events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
    const mark = b.events[1].object;
    assert.equal(mark.kind, 'Stream');
    assert.deepEqual(Object.keys(mark.metadata), ['resourceVersion'], 'a bookmark carries only a resourceVersion');
    assert.ok(Number(mark.metadata.resourceVersion) >= Number(elsewhere.metadata.resourceVersion), `bookmark at ${mark.metadata.resourceVersion}, the last write at ${elsewhere.metadata.resourceVersion}`);
    const t = openWatch(`${NS}/streams?watch=true&labelSelector=w2&timeoutSeconds=1`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    await t.ended;
    const tableObject = t.events[0].object as unknown as { kind: string; columnDefinitions: unknown[]; rows: unknown[] };
    assert.equal(tableObject.kind, 'Table');
    assert.ok(tableObject.columnDefinitions.length > 0);
    assert.equal(tableObject.rows.length, 1);
  });

  test('concurrent creates coalesced into shared etcd transactions (opt-in): each watched once, each updatable with its own RV', async () => {
    // Write coalescing is opt-in (--etcd-max-writes-per-txn 64): this test runs on a server of its own with it on.
    const defaultApi = api;
    api = await startApiServer({ etcdEndpoint: etcd.endpoint, extraArgs: ['--etcd-max-writes-per-txn', '64'] });
    try {
      await coalescedCreates();
    } finally {
      await api.stop();
      api = defaultApi;
    }
  });

  async function coalescedCreates(): Promise<void> {
    const start = (await api.request('GET', `${NS}/streams`)).json<List>().metadata.resourceVersion;
    const w = openWatch(`${NS}/streams?watch=1&resourceVersion=${start}&labelSelector=burst%3Dyes`);
    const names = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const created = await Promise.all(names.map((n) => create(n, {}, { burst: 'yes' })));
    await waitFor('40 ADDED events', () => w.events.length >= 40, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    w.close();
    assert.equal(w.events.length, 40, 'no event twice');
    assert.deepEqual(w.events.map((e) => e.object.metadata.name).sort(), [...names].sort());
    const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual([...rvs].sort((x, y) => x - y), rvs, 'revisions never go back');
    const distinct = new Set(created.map((o) => o.metadata.resourceVersion)).size;
    assert.ok(distinct < 40, `writes were coalesced: ${distinct} revisions for 40 creates`);
    const metrics = (await api.request('GET', '/metrics')).body;
    assert.match(metrics, /etcd_writes_per_transaction_count \d+/);
    // Optimistic concurrency stays per object: each update with its own (possibly shared) RV succeeds once.
    const updates = await Promise.all(created.map((o) => api.request('PUT', `${NS}/streams/${o.metadata.name}`, {
      body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: o.metadata.name, resourceVersion: o.metadata.resourceVersion, labels: { burst: 'yes' } }, spec: { ...o.spec, partitionCount: 3 } }),
      headers: JSON_CT,
    })));
    for (const u of updates) assert.equal(u.status, 200, u.body);
    const stale = await api.request('PUT', `${NS}/streams/${created[0].metadata.name}`, {
      body: JSON.stringify({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata: { name: created[0].metadata.name, resourceVersion: created[0].metadata.resourceVersion }, spec: created[0].spec }),
      headers: JSON_CT,
    });
    status(stale, 409, 'Conflict');
    // A watch resumed from a shared revision gets only what came after it.
    const shared = created.find((o) => created.filter((c) => c.metadata.resourceVersion === o.metadata.resourceVersion).length > 1)!;
    const resumed = openWatch(`${NS}/streams?watch=1&resourceVersion=${shared.metadata.resourceVersion}&labelSelector=burst%3Dyes&timeoutSeconds=1`);
    await resumed.ended;
    assert.ok(resumed.events.every((e) => Number(e.object.metadata.resourceVersion) > Number(shared.metadata.resourceVersion)));
    assert.ok(resumed.events.some((e) => e.type === 'ADDED') || resumed.events.some((e) => e.type === 'MODIFIED'));
  }

  test('by default concurrent creates get a resourceVersion each; bad --etcd-max-writes-per-txn values are refused at start', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => api.request('POST', `${NS}/streams`, { body: stream(`alone-${i}`), headers: JSON_CT })));
    for (const r of results) assert.equal(r.status, 201, r.body);
    assert.equal(new Set(results.map((r) => r.json<Obj>().metadata.resourceVersion)).size, 30);
    await assert.rejects(startApiServer({ etcdEndpoint: etcd.endpoint, extraArgs: ['--etcd-max-writes-per-txn', '0'] }), /must be between 1 and 127/);
  });

  test('WatchList: sendInitialEvents then the initial-events-end bookmark; invalid combos 422', async () => {
    const w = openWatch(`${NS}/streams?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=w2`);
    await waitFor('initial events + bookmark', () => w.events.some((e) => e.type === 'BOOKMARK'), 10_000);
    w.close();
    assert.equal(w.events[0].type, 'ADDED');
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK');
    assert.equal((bookmark?.object.metadata as { annotations?: Record<string, string> }).annotations?.['k8s.io/initial-events-end'], 'true');
    status(await api.request('GET', `${NS}/streams?watch=1&sendInitialEvents=true`), 422, 'Invalid');
  });
});
