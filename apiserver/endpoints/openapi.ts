// OpenAPI v3 (per group-version) and v2 documents built from the CRD schemas, after apiextensions-apiserver's
// builder: every kind and list kind with x-kubernetes-group-version-kind, metadata as a $ref to ObjectMeta (so
// `kubectl explain` walks into it), every path and operation with x-kubernetes-action, and the fieldValidation
// parameter (so kubectl leaves validation to the server instead of validating client-side).
import { createHash } from 'node:crypto';
import type { OpenApiSchema, ResourceDefinition } from '../../crds/loader';
import type { GroupVersion } from './discovery';

type Schema = Record<string, unknown>;
type RefStyle = 'v2' | 'v3';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

function ref(style: RefStyle, name: string): string {
  return style === 'v3' ? `#/components/schemas/${name}` : `#/definitions/${name}`;
}

/** A $ref with a description (v3: wrapped in allOf, as kube publishes it). */
function refWith(style: RefStyle, name: string, description: string, extra: Schema = {}): Schema {
  if (style === 'v3') return { allOf: [{ $ref: ref(style, name) }], description, ...extra };
  return { $ref: ref(style, name), description, ...extra };
}

/** Schema name of a kind: reversed group + version + kind, like kube does for CRDs. */
export function schemaName(group: string, version: string, kind: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

function metaSchemas(style: RefStyle): Record<string, Schema> {
  const time = { $ref: ref(style, `${META}.Time`) };
  const timeWith = (description: string): Schema => refWith(style, `${META}.Time`, description);
  const str = (description: string): Schema => ({ type: 'string', description });
  const strMap = (description: string): Schema => ({ type: 'object', additionalProperties: { type: 'string', default: '' }, description });
  void time;
  return {
    [`${META}.Time`]: { type: 'string', format: 'date-time', description: 'A timestamp in RFC 3339 form (seconds precision, UTC), e.g. 2024-01-02T03:04:05Z.' },
    [`${META}.FieldsV1`]: { type: 'object', description: 'The set of fields a manager owns, in the FieldsV1 trie format ("f:<name>", "k:<keys>", "v:<value>").' },
    [`${META}.ManagedFieldsEntry`]: {
      type: 'object',
      description: 'Which fields a workflow (manager) owns and how it set them.',
      properties: {
        apiVersion: str('The API version of the resource the fields were written with.'),
        fieldsType: str('The format of fieldsV1: always "FieldsV1".'),
        fieldsV1: refWith(style, `${META}.FieldsV1`, 'The fields this manager owns.'),
        manager: str('The name of the workflow that manages these fields (the fieldManager of its requests).'),
        operation: str('How the fields were set: "Apply" (server-side apply) or "Update" (create, update, patch).'),
        subresource: str('The subresource the fields were written through (e.g. "status"), empty for the main resource.'),
        time: timeWith('When the manager last changed these fields.'),
      },
    },
    [`${META}.OwnerReference`]: {
      type: 'object',
      description: 'Identifies an object that owns this one; when every owner is gone the object can be garbage collected.',
      required: ['apiVersion', 'kind', 'name', 'uid'],
      properties: {
        apiVersion: str('API version of the owner.'),
        blockOwnerDeletion: { type: 'boolean', description: 'If true, the owner cannot be deleted (foreground) before this object is.' },
        controller: { type: 'boolean', description: 'If true, this owner is the managing controller.' },
        kind: str('Kind of the owner.'),
        name: str('Name of the owner.'),
        uid: str('UID of the owner.'),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [`${META}.ObjectMeta`]: {
      type: 'object',
      description: 'Standard object metadata: identity, labels, annotations, ownership and lifecycle of every persisted resource.',
      properties: {
        annotations: strMap('Unstructured key/value data stored with the object, for tools and controllers; not used to select objects.'),
        creationTimestamp: timeWith('When the server created the object (RFC 3339, UTC). Set by the server, read-only.'),
        deletionGracePeriodSeconds: { type: 'integer', format: 'int64', description: 'Seconds allowed for graceful termination before the object is removed. Set by the server on deletion, read-only.' },
        deletionTimestamp: timeWith('When the object was asked to be deleted. While finalizers remain, the object stays with this timestamp set; it is removed once the last finalizer is removed. Set by the server, read-only.'),
        finalizers: { type: 'array', items: { type: 'string', default: '' }, description: 'Names that must be removed (by the controllers that own them) before the object is deleted from storage.', 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
        generateName: str('A prefix the server uses to generate a unique name when name is empty (the prefix plus 5 random characters).'),
        generation: { type: 'integer', format: 'int64', description: 'A sequence number of the desired state: the server increments it whenever the spec changes. Read-only.' },
        labels: strMap('Key/value pairs used to organize and select objects (label selectors, e.g. `kubectl get -l app=x`).'),
        managedFields: { type: 'array', items: refWith(style, `${META}.ManagedFieldsEntry`, '', { default: {} }), description: 'Which manager owns which fields (server-side apply bookkeeping). Maintained by the server.' },
        name: str('Unique name within the namespace (or the cluster, for cluster-scoped kinds). A lowercase RFC 1123 subdomain. Cannot be updated.'),
        namespace: str('The namespace the object lives in (empty for cluster-scoped kinds). A lowercase RFC 1123 label. Cannot be updated.'),
        ownerReferences: { type: 'array', items: refWith(style, `${META}.OwnerReference`, '', { default: {} }), description: 'Objects this object depends on; when all are deleted this one may be garbage collected.', 'x-kubernetes-list-map-keys': ['uid'], 'x-kubernetes-list-type': 'map', 'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge' },
        resourceVersion: str('An opaque version of the object, changed on every write; used for optimistic concurrency (updates must carry the current value) and watches. Read-only.'),
        selfLink: str('Deprecated and not set.'),
        uid: str('A unique identifier of this object across time, generated by the server on creation. Read-only.'),
      },
    },
    [`${META}.ListMeta`]: {
      type: 'object',
      description: 'Metadata of a list: its resourceVersion and the continue token of a paginated list.',
      properties: {
        continue: str('Token to fetch the next page (pass as ?continue=); empty on the last page.'),
        remainingItemCount: { type: 'integer', format: 'int64', description: 'The number of items after this page, when known.' },
        resourceVersion: str('The revision the list was read at; start a watch from it to see every later change.'),
        selfLink: str('Deprecated and not set.'),
      },
    },
    [`${META}.StatusCause`]: {
      type: 'object',
      description: 'One cause of an error, e.g. a field that failed validation.',
      properties: { field: str('The field that caused the error, e.g. spec.inputs[0].name.'), message: str('Human-readable description.'), reason: str('Machine-readable reason, e.g. FieldValueInvalid.') },
    },
    [`${META}.StatusDetails`]: {
      type: 'object',
      description: 'Extended data of an error.',
      properties: {
        causes: { type: 'array', items: refWith(style, `${META}.StatusCause`, '', { default: {} }), description: 'The individual causes.' },
        group: str('Group of the resource.'), kind: str('Kind (resource) of the object.'), name: str('Name of the object.'),
        retryAfterSeconds: { type: 'integer', format: 'int32', description: 'Seconds the client should wait before retrying.' },
        uid: str('UID of the object.'),
      },
    },
    [`${META}.Status`]: {
      type: 'object',
      description: 'The result of an operation that did not return an object (errors, deletions).',
      properties: {
        apiVersion: str('Always v1.'), code: { type: 'integer', format: 'int32', description: 'HTTP status code.' },
        details: refWith(style, `${META}.StatusDetails`, 'Extended data.'), kind: str('Always Status.'),
        message: str('Human-readable description.'), metadata: refWith(style, `${META}.ListMeta`, 'List metadata.', { default: {} }),
        reason: str('Machine-readable reason, e.g. NotFound, AlreadyExists, Conflict, Invalid.'), status: str('Success or Failure.'),
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [`${META}.Preconditions`]: {
      type: 'object',
      description: 'Conditions that must hold for a deletion to proceed.',
      properties: { resourceVersion: str('The object must have this resourceVersion.'), uid: str('The object must have this UID.') },
    },
    [`${META}.DeleteOptions`]: {
      type: 'object',
      description: 'Options of a DELETE request.',
      properties: {
        apiVersion: str('meta.k8s.io/v1 or v1.'), kind: str('DeleteOptions.'),
        dryRun: { type: 'array', items: { type: 'string', default: '' }, description: 'If ["All"], nothing is persisted.' },
        gracePeriodSeconds: { type: 'integer', format: 'int64', description: 'Must be non-negative; these kinds have no graceful deletion, so it changes nothing.' },
        orphanDependents: { type: 'boolean', description: 'Deprecated: true is propagationPolicy Orphan. Either this or propagationPolicy.' },
        preconditions: refWith(style, `${META}.Preconditions`, 'Must hold for the deletion to proceed.'),
        propagationPolicy: str('Whether and how dependents are garbage collected: Orphan, Background (the default) or Foreground.'),
      },
    },
    [`${META}.Patch`]: { type: 'object', description: 'A patch: JSON patch (RFC 6902), JSON merge patch (RFC 7386) or an apply configuration (server-side apply).' },
    [`${META}.WatchEvent`]: {
      type: 'object',
      description: 'One event of a watch stream.',
      required: ['type', 'object'],
      properties: { object: { type: 'object', description: 'The object (or a Status for ERROR events).' }, type: str('ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.') },
    },
    [`${META}.APIResourceList`]: { type: 'object', description: 'The resources of a group version.' },
    'io.k8s.api.autoscaling.v1.ScaleSpec': { type: 'object', description: 'Desired scale.', properties: { replicas: { type: 'integer', format: 'int32', description: 'The desired number of instances.' } } },
    'io.k8s.api.autoscaling.v1.ScaleStatus': {
      type: 'object', description: 'Observed scale.', required: ['replicas'],
      properties: { replicas: { type: 'integer', format: 'int32', description: 'The observed number of instances.' }, selector: str('Label selector of the instances.') },
    },
    'io.k8s.api.autoscaling.v1.Scale': {
      type: 'object', description: 'The scale subresource: desired and observed replicas.',
      properties: {
        apiVersion: str('autoscaling/v1'), kind: str('Scale'),
        metadata: refWith(style, `${META}.ObjectMeta`, 'Metadata of the scaled object.', { default: {} }),
        spec: refWith(style, 'io.k8s.api.autoscaling.v1.ScaleSpec', 'Desired scale.', { default: {} }),
        status: refWith(style, 'io.k8s.api.autoscaling.v1.ScaleStatus', 'Observed scale.', { default: {} }),
      },
      'x-kubernetes-group-version-kind': [{ group: 'autoscaling', kind: 'Scale', version: 'v1' }],
    },
  };
}

const V2_UNSUPPORTED = new Set(['nullable', 'oneOf', 'anyOf', 'allOf', 'not', 'x-kubernetes-int-or-string']);

function cleanForV2(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(cleanForV2);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (V2_UNSUPPORTED.has(k)) continue;
    if (k === 'properties' && v && typeof v === 'object') {
      const props: Schema = {};
      for (const [pk, pv] of Object.entries(v)) props[pk] = cleanForV2(pv);
      out[k] = props;
    } else if (k === 'default' || k === 'enum' || k === 'example') {
      out[k] = v;
    } else {
      out[k] = cleanForV2(v);
    }
  }
  return out;
}

function kindSchema(d: ResourceDefinition, style: RefStyle): Schema {
  const base = structuredClone(d.schema) as OpenApiSchema & Schema;
  const properties: Record<string, unknown> = { ...(base.properties ?? {}) };
  properties.apiVersion = { type: 'string', description: `APIVersion defines the versioned schema of this representation of an object: ${d.group}/${d.version}.` };
  properties.kind = { type: 'string', description: `Kind is a string value representing the REST resource this object represents: ${d.kind}.` };
  properties.metadata = refWith(style, `${META}.ObjectMeta`, "Standard object's metadata.", style === 'v3' ? { default: {} } : {});
  const schema: Schema = { ...base, type: 'object', properties };
  if (!schema.description) schema.description = `${d.kind} of ${d.group}/${d.version}.`;
  schema['x-kubernetes-group-version-kind'] = [{ group: d.group, kind: d.kind, version: d.version }];
  return style === 'v2' ? (cleanForV2(schema) as Schema) : schema;
}

function listSchema(d: ResourceDefinition, style: RefStyle): Schema {
  return {
    type: 'object',
    description: `${d.listKind} is a list of ${d.kind}.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this list.' },
      items: { type: 'array', description: `List of ${d.plural}.`, items: { $ref: ref(style, schemaName(d.group, d.version, d.kind)) } },
      kind: { type: 'string', description: `${d.listKind}.` },
      metadata: refWith(style, `${META}.ListMeta`, 'Standard list metadata.', style === 'v3' ? { default: {} } : {}),
    },
    'x-kubernetes-group-version-kind': [{ group: d.group, kind: d.listKind, version: d.version }],
  };
}

interface Param { name: string; in: 'query' | 'path'; description: string; type: 'string' | 'boolean' | 'integer'; required?: boolean }

const P = {
  name: (kind: string): Param => ({ name: 'name', in: 'path', description: `name of the ${kind}`, type: 'string', required: true }),
  namespace: { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', type: 'string', required: true } as Param,
  pretty: { name: 'pretty', in: 'query', description: "If 'true', then the output is pretty printed.", type: 'string' } as Param,
  dryRun: { name: 'dryRun', in: 'query', description: 'When present, indicates that modifications should not be persisted. Valid value: All.', type: 'string' } as Param,
  fieldManager: { name: 'fieldManager', in: 'query', description: 'A name associated with the actor or entity that is making these changes (at most 128 characters). Required for apply requests.', type: 'string' } as Param,
  fieldValidation: { name: 'fieldValidation', in: 'query', description: 'How the server handles unknown or duplicate fields: Ignore, Warn (default) or Strict (fail the request).', type: 'string' } as Param,
  force: { name: 'force', in: 'query', description: 'Force an apply request to take ownership of conflicting fields.', type: 'boolean' } as Param,
  list: ([
    ['allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK watch events.'],
    ['continue', 'string', 'The continue token of the previous page.'],
    ['fieldSelector', 'string', 'Restrict by fields: metadata.name and metadata.namespace.'],
    ['labelSelector', 'string', 'Restrict by labels.'],
    ['limit', 'integer', 'Maximum number of items in a page.'],
    ['resourceVersion', 'string', 'Resource version semantics of the read.'],
    ['resourceVersionMatch', 'string', 'NotOlderThan or Exact.'],
    ['sendInitialEvents', 'boolean', 'Start a watch with the current state as ADDED events, then a bookmark.'],
    ['timeoutSeconds', 'integer', 'Timeout of the list/watch call.'],
    ['watch', 'boolean', 'Watch for changes.'],
  ] as const).map(([name, type, description]): Param => ({ name, in: 'query', type, description })),
};

function renderParams(params: Param[], style: RefStyle): unknown[] {
  return params.map((p) => style === 'v3'
    ? { name: p.name, in: p.in, description: p.description, ...(p.required ? { required: true } : {}), schema: { type: p.type, uniqueItems: true } }
    : { name: p.name, in: p.in, description: p.description, ...(p.required ? { required: true } : {}), type: p.type, uniqueItems: true });
}

const JSON_TYPES = ['application/json', 'application/yaml'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

function op(style: RefStyle, spec: {
  id: string; action: string; gvk: Record<string, string>; params: Param[]; responseRef: string; codes: number[];
  bodyRef?: string; bodyTypes?: string[]; description: string; tag: string;
}): Schema {
  const respond = (code: number): [string, Schema] => [String(code), style === 'v3'
    ? { description: code === 201 ? 'Created' : code === 202 ? 'Accepted' : 'OK', content: Object.fromEntries(JSON_TYPES.map((t) => [t, { schema: { $ref: ref(style, spec.responseRef) } }])) }
    : { description: code === 201 ? 'Created' : code === 202 ? 'Accepted' : 'OK', schema: { $ref: ref(style, spec.responseRef) } }];
  const out: Schema = {
    tags: [spec.tag],
    description: spec.description,
    operationId: spec.id,
    responses: { ...Object.fromEntries(spec.codes.map(respond)), '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': spec.action,
    'x-kubernetes-group-version-kind': spec.gvk,
  };
  const params = [...spec.params];
  if (spec.bodyRef) {
    if (style === 'v3') {
      out.requestBody = { content: Object.fromEntries((spec.bodyTypes ?? JSON_TYPES).map((t) => [t, { schema: { $ref: ref(style, spec.bodyRef as string) } }])), required: true };
    } else {
      out.consumes = spec.bodyTypes ?? JSON_TYPES;
      out.produces = JSON_TYPES;
      params.unshift({ name: 'body', in: 'query', description: '', type: 'string' });
    }
  }
  let rendered = renderParams(params.filter((p) => p.name !== 'body'), style);
  if (spec.bodyRef && style === 'v2') rendered = [{ name: 'body', in: 'body', required: true, schema: { $ref: ref(style, spec.bodyRef) } }, ...rendered];
  out.parameters = rendered;
  return out;
}

function camel(group: string, version: string): string {
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  return group.split('.').map(cap).join('') + cap(version);
}

function pathsFor(d: ResourceDefinition, style: RefStyle): Record<string, Schema> {
  const gv = `${d.group}/${d.version}`;
  const gvk = { group: d.group, version: d.version, kind: d.kind };
  const kindRef = schemaName(d.group, d.version, d.kind);
  const listRef = schemaName(d.group, d.version, d.listKind);
  const tag = camel(d.group, d.version).replace(/^./, (c) => c.toLowerCase());
  const suffix = `${camel(d.group, d.version)}${d.scope === 'Namespaced' ? 'Namespaced' : ''}${d.kind}`;
  const nsParams = d.scope === 'Namespaced' ? [P.namespace] : [];
  const base = d.scope === 'Namespaced' ? `/apis/${gv}/namespaces/{namespace}/${d.plural}` : `/apis/${gv}/${d.plural}`;
  const write = [P.pretty, P.dryRun, P.fieldManager, P.fieldValidation];
  const paths: Record<string, Schema> = {};
  paths[base] = {
    get: op(style, { id: `list${suffix}`, action: 'list', gvk, params: [...nsParams, P.pretty, ...P.list], responseRef: listRef, codes: [200], description: `list objects of kind ${d.kind}`, tag }),
    post: op(style, { id: `create${suffix}`, action: 'post', gvk, params: [...nsParams, ...write], responseRef: kindRef, codes: [200, 201, 202], bodyRef: kindRef, description: `create a ${d.kind}`, tag }),
    delete: op(style, { id: `deletecollection${suffix}`, action: 'deletecollection', gvk, params: [...nsParams, P.pretty, P.dryRun, ...P.list], responseRef: `${META}.Status`, codes: [200], bodyRef: `${META}.DeleteOptions`, description: `delete collection of ${d.kind}`, tag }),
  };
  const item = `${base}/{name}`;
  const nameParams = [P.name(d.kind), ...nsParams];
  paths[item] = {
    get: op(style, { id: `read${suffix}`, action: 'get', gvk, params: [...nameParams, P.pretty, { name: 'resourceVersion', in: 'query', type: 'string', description: 'Resource version semantics of the read.' }], responseRef: kindRef, codes: [200], description: `read the specified ${d.kind}`, tag }),
    put: op(style, { id: `replace${suffix}`, action: 'put', gvk, params: [...nameParams, ...write], responseRef: kindRef, codes: [200, 201], bodyRef: kindRef, description: `replace the specified ${d.kind}`, tag }),
    patch: op(style, { id: `patch${suffix}`, action: 'patch', gvk, params: [...nameParams, ...write, P.force], responseRef: kindRef, codes: [200], bodyRef: `${META}.Patch`, bodyTypes: PATCH_TYPES, description: `partially update the specified ${d.kind}`, tag }),
    delete: op(style, { id: `delete${suffix}`, action: 'delete', gvk, params: [...nameParams, P.pretty, P.dryRun], responseRef: `${META}.Status`, codes: [200, 202], bodyRef: `${META}.DeleteOptions`, description: `delete a ${d.kind}`, tag }),
  };
  if (d.subresources.status) {
    paths[`${item}/status`] = {
      get: op(style, { id: `read${suffix}Status`, action: 'get', gvk, params: [...nameParams, P.pretty], responseRef: kindRef, codes: [200], description: `read status of the specified ${d.kind}`, tag }),
      put: op(style, { id: `replace${suffix}Status`, action: 'put', gvk, params: [...nameParams, ...write], responseRef: kindRef, codes: [200, 201], bodyRef: kindRef, description: `replace status of the specified ${d.kind}`, tag }),
      patch: op(style, { id: `patch${suffix}Status`, action: 'patch', gvk, params: [...nameParams, ...write, P.force], responseRef: kindRef, codes: [200], bodyRef: `${META}.Patch`, bodyTypes: PATCH_TYPES, description: `partially update status of the specified ${d.kind}`, tag }),
    };
  }
  if (d.subresources.scale) {
    const scaleGvk = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    const scaleRef = 'io.k8s.api.autoscaling.v1.Scale';
    paths[`${item}/scale`] = {
      get: op(style, { id: `read${suffix}Scale`, action: 'get', gvk: scaleGvk, params: [...nameParams, P.pretty], responseRef: scaleRef, codes: [200], description: `read scale of the specified ${d.kind}`, tag }),
      put: op(style, { id: `replace${suffix}Scale`, action: 'put', gvk: scaleGvk, params: [...nameParams, ...write], responseRef: scaleRef, codes: [200, 201], bodyRef: scaleRef, description: `replace scale of the specified ${d.kind}`, tag }),
      patch: op(style, { id: `patch${suffix}Scale`, action: 'patch', gvk: scaleGvk, params: [...nameParams, ...write, P.force], responseRef: scaleRef, codes: [200], bodyRef: `${META}.Patch`, bodyTypes: PATCH_TYPES, description: `partially update scale of the specified ${d.kind}`, tag }),
    };
  }
  if (d.scope === 'Namespaced') {
    paths[`/apis/${gv}/${d.plural}`] = {
      get: op(style, { id: `list${camel(d.group, d.version)}${d.kind}ForAllNamespaces`, action: 'list', gvk, params: [P.pretty, ...P.list], responseRef: listRef, codes: [200], description: `list objects of kind ${d.kind} in all namespaces`, tag }),
    };
  }
  return paths;
}

function schemasFor(gv: GroupVersion, style: RefStyle): Record<string, Schema> {
  const schemas: Record<string, Schema> = metaSchemas(style);
  for (const d of gv.definitions) {
    schemas[schemaName(d.group, d.version, d.kind)] = kindSchema(d, style);
    schemas[schemaName(d.group, d.version, d.listKind)] = listSchema(d, style);
  }
  return schemas;
}

export interface OpenApiDocuments {
  /** /openapi/v3 index. */
  v3Index: Record<string, unknown>;
  /** Per group-version documents, keyed by "apis/<g>/<v>", with their hash. */
  v3: Map<string, { body: string; hash: string }>;
  /** /openapi/v2. */
  v2: string;
}

export function buildOpenApi(gvs: GroupVersion[], serverVersion: string): OpenApiDocuments {
  const v3 = new Map<string, { body: string; hash: string }>();
  const index: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of gvs) {
    const paths: Record<string, Schema> = {
      [`/apis/${gv.group}/${gv.version}/`]: {
        get: { tags: ['apis'], description: 'get available resources', operationId: `get${camel(gv.group, gv.version)}APIResources`, responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: ref('v3', `${META}.APIResourceList`) } } } }, '401': { description: 'Unauthorized' } } },
      },
    };
    for (const d of gv.definitions) Object.assign(paths, pathsFor(d, 'v3'));
    const doc = {
      openapi: '3.0.0',
      info: { title: 'Streaming Runtime', version: serverVersion },
      paths,
      components: {
        schemas: schemasFor(gv, 'v3'),
        securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
      },
      security: [{ BearerToken: [] }],
    };
    const body = JSON.stringify(doc);
    const hash = createHash('sha512').update(body).digest('hex').toUpperCase().slice(0, 128);
    const key = `apis/${gv.group}/${gv.version}`;
    v3.set(key, { body, hash });
    index[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  const v2Paths: Record<string, Schema> = {};
  const definitions: Record<string, Schema> = {};
  for (const gv of gvs) {
    for (const d of gv.definitions) Object.assign(v2Paths, pathsFor(d, 'v2'));
    Object.assign(definitions, schemasFor(gv, 'v2'));
  }
  const v2 = JSON.stringify({
    swagger: '2.0',
    info: { title: 'Streaming Runtime', version: serverVersion },
    paths: v2Paths,
    definitions,
    securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  });
  return { v3Index: { paths: index }, v3, v2 };
}
