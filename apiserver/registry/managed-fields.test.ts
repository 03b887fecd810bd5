import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyConflictError, leafFields, leafFieldsV1, recordUpdate, serverSideApply, toFieldsV1 } from './managed-fields';
import type { OpenApiSchema } from '../../crds/loader';

const schema: OpenApiSchema = {
  type: 'object',
  properties: {
    spec: { type: 'object', properties: { replicas: { type: 'integer' }, attributes: { type: 'object', additionalProperties: { type: 'string' } }, list: { type: 'array', items: { type: 'string' } } } },
    status: { type: 'object', properties: { conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object' } } } },
  },
};
const scope = { schema, part: 'main' as const };

test('updates own what they change; apply conflicts unless forced; applied fields removed later go away', () => {
  const created = { metadata: { name: 'x', labels: { a: '1' } }, spec: { replicas: 1, list: ['a'] } };
  const mf = recordUpdate(undefined, created, { manager: 'creator', operation: 'Update' }, 'g/v', scope);
  assert.deepEqual(mf[0].fieldsV1, toFieldsV1(['f:metadata\u0000f:labels\u0000f:a', 'f:spec\u0000f:replicas', 'f:spec\u0000f:list']));
  const live = { ...created, metadata: { ...created.metadata, managedFields: mf } };
  // Same value: shared ownership, no conflict.
  const shared = serverSideApply(live, { metadata: { name: 'x' }, spec: { replicas: 1, attributes: { k: 'v' } } }, { manager: 'ssa', operation: 'Apply' }, 'g/v', scope, false);
  assert.equal((shared.object.spec as { attributes: Record<string, string> }).attributes.k, 'v');
  // Different value: conflict with the creator.
  assert.throws(() => serverSideApply(live, { spec: { replicas: 2 } }, { manager: 'ssa', operation: 'Apply' }, 'g/v', scope, false),
    (e: unknown) => e instanceof ApplyConflictError && e.conflicts[0].manager === 'creator' && e.conflicts[0].path === '.spec.replicas');
  const forced = serverSideApply(live, { spec: { replicas: 2, attributes: { k: 'v' } } }, { manager: 'ssa', operation: 'Apply' }, 'g/v', scope, true);
  assert.equal((forced.object.spec as { replicas: number }).replicas, 2);
  assert.ok(!JSON.stringify(forced.managedFields.find((m) => m.manager === 'creator')?.fieldsV1).includes('replicas'));
  // Dropping attributes.k from the next apply removes it (nobody else owns it).
  const next = { ...forced.object, metadata: { ...(forced.object.metadata as object), managedFields: forced.managedFields } };
  const dropped = serverSideApply(next, { spec: { replicas: 2 } }, { manager: 'ssa', operation: 'Apply' }, 'g/v', scope, false);
  assert.equal((dropped.object.spec as { attributes?: Record<string, string> }).attributes?.k, undefined);
});

test('a create owns the trie of every field it set, built in one walk exactly as from the leaf paths', () => {
  const rich: OpenApiSchema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          atomic: { type: 'object', 'x-kubernetes-map-type': 'atomic' },
          tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
          ports: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object' } },
          attributes: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
      status: { type: 'object' },
    },
  };
  const objects = [
    { apiVersion: 'g/v', kind: 'K', metadata: { name: 'x', labels: { a: '1', b: '2' }, finalizers: ['f', 'f'], ownerReferences: [{ uid: 'u', name: 'o' }], uid: 'server' }, spec: { replicas: 1 } },
    { spec: { atomic: { a: { b: 1 } }, tags: ['x', 'y', 'x'], ports: [{ name: 'a', port: 1 }, { name: 'b', port: 2, extra: {} }, { name: 'a', other: 3 }], attributes: {} }, metadata: { labels: {} }, status: { ready: true } },
    { spec: { empty: {}, nested: { deeper: {} }, ports: [{}, {}], list: [1, [2]], n: null }, metadata: {} },
    { metadata: { annotations: { 'example.com/k': 'v' } }, spec: {}, other: 'top' },
    {},
  ];
  for (const object of objects) {
    for (const part of ['main', 'status', 'all'] as const) {
      const scoped = { schema: rich, part };
      assert.deepEqual(JSON.stringify(leafFieldsV1(object, scoped)), JSON.stringify(toFieldsV1(leafFields(object, scoped))), `${JSON.stringify(object)} (${part})`);
    }
  }
  const created = recordUpdate(undefined, objects[0], { manager: 'kubectl', operation: 'Update', subresource: 'status' }, 'g/v', { schema: rich, part: 'main' });
  assert.deepEqual(Object.keys(created[0]), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource']);
  assert.deepEqual(recordUpdate(undefined, { metadata: { name: 'x' }, spec: {} }, { manager: 'm', operation: 'Update' }, 'g/v', { schema: rich, part: 'main' }), []);
});
