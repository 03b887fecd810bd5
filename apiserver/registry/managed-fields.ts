// Field ownership (metadata.managedFields, FieldsV1) and server-side apply, after sigs.k8s.io/structured-merge-diff:
// every leaf field has owners; an Update takes the fields it changed; an Apply owns exactly the fields in its
// configuration, conflicts with other owners whose values it would change (unless forced), and removes the fields
// it applied before but no longer does when nobody else owns them.
// Lists are atomic unless the schema says x-kubernetes-list-type: map (merged by keys) or set.
import type { OpenApiSchema } from '../../crds/loader';
import type { ManagedFieldsEntry } from '../../crds/types';
import type { JsonObject } from '../storage/interface';
import { nowRfc3339 } from './clock';

type Json = unknown;
/** A leaf path: segments like `f:spec`, `k:{"type":"Ready"}`, `v:"x"`, joined by NUL. */
type PathKey = string;
const SEP = '\u0000';

export interface FieldOwner {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
}

export interface ApplyConflict {
  manager: string;
  path: string;
}

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function childSchema(schema: OpenApiSchema | undefined, key: string): OpenApiSchema | undefined {
  if (!schema) return undefined;
  const p = schema.properties?.[key];
  if (p) return p;
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

function listType(schema: OpenApiSchema | undefined): { type: 'atomic' | 'set' | 'map'; keys: string[] } {
  const t = schema?.['x-kubernetes-list-type'];
  if (t === 'map') return { type: 'map', keys: schema?.['x-kubernetes-list-map-keys'] ?? [] };
  if (t === 'set') return { type: 'set', keys: [] };
  return { type: 'atomic', keys: [] };
}

function itemKey(item: Json, keys: string[]): string {
  const picked: Record<string, Json> = {};
  if (isObject(item)) for (const k of keys) if (item[k] !== undefined) picked[k] = item[k];
  return `k:${JSON.stringify(picked)}`;
}

function collect(value: Json, schema: OpenApiSchema | undefined, prefix: string[], out: Set<PathKey>): void {
  if (isObject(value)) {
    const keys = Object.keys(value);
    // An empty map owns nothing (it cannot conflict with the entries others own); an atomic map is one leaf.
    if (keys.length === 0) return;
    if (schema?.['x-kubernetes-map-type'] === 'atomic') { out.add(prefix.join(SEP)); return; }
    for (const k of keys) collect(value[k], childSchema(schema, k), [...prefix, `f:${k}`], out);
    return;
  }
  if (Array.isArray(value)) {
    const lt = listType(schema);
    if (lt.type === 'map' && lt.keys.length > 0 && value.every(isObject) && value.length > 0) {
      for (const item of value) collect(item, schema?.items, [...prefix, itemKey(item, lt.keys)], out);
      return;
    }
    if (lt.type === 'set' && value.length > 0) {
      for (const item of value) out.add([...prefix, `v:${JSON.stringify(item)}`].join(SEP));
      return;
    }
  }
  out.add(prefix.join(SEP));
}

/** Metadata fields users own; everything else in metadata is the server's. */
const METADATA_SCHEMA: OpenApiSchema = {
  type: 'object',
  properties: {
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ownerReferences: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['uid'] },
  },
};

export interface OwnershipScope {
  schema: OpenApiSchema;
  /** 'main': everything but status (when status is a subresource); 'status': only status; 'all': everything. */
  part: 'main' | 'status' | 'all';
}

/** Whether a top-level field can be owned through a write of `scope` (TypeMeta never; status only through status). */
function ownableTopLevel(field: string, scope: OwnershipScope): boolean {
  if (field === 'apiVersion' || field === 'kind') return false;
  return scope.part === 'all' || (field === 'status') === (scope.part === 'status');
}

/** The leaf fields set in `obj` that users can own. */
export function leafFields(obj: JsonObject, scope: OwnershipScope): Set<PathKey> {
  const out = new Set<PathKey>();
  for (const [k, v] of Object.entries(obj)) {
    if (!ownableTopLevel(k, scope)) continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      for (const mk of Object.keys(METADATA_SCHEMA.properties ?? {})) {
        if (v[mk] !== undefined) collect(v[mk], METADATA_SCHEMA.properties?.[mk], ['f:metadata', `f:${mk}`], out);
      }
      continue;
    }
    collect(v, scope.schema.properties?.[k], [`f:${k}`], out);
  }
  return out;
}

/** `parent[segment]` as a FieldsV1 node, created empty when absent (as toFieldsV1 makes them). */
function trieNode(parent: Record<string, unknown>, segment: string): Record<string, unknown> {
  const existing = parent[segment];
  if (isObject(existing)) return existing;
  const node: Record<string, unknown> = {};
  parent[segment] = node;
  return node;
}

/** collect, into a FieldsV1 trie under `parent[segment]`; false when `value` has no leaf (nothing is added). */
function collectTrie(value: Json, schema: OpenApiSchema | undefined, parent: Record<string, unknown>, segment: string): boolean {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return false;
    if (schema?.['x-kubernetes-map-type'] === 'atomic') { trieNode(parent, segment); return true; }
    return collectChildren(parent, segment, keys, (node, k) => collectTrie(value[k], childSchema(schema, k), node, `f:${k}`));
  }
  if (Array.isArray(value)) {
    const lt = listType(schema);
    if (lt.type === 'map' && lt.keys.length > 0 && value.every(isObject) && value.length > 0) {
      return collectChildren(parent, segment, value, (node, item) => collectTrie(item, schema?.items, node, itemKey(item, lt.keys)));
    }
    if (lt.type === 'set' && value.length > 0) {
      const node = trieNode(parent, segment);
      for (const item of value) trieNode(node, `v:${JSON.stringify(item)}`);
      return true;
    }
  }
  trieNode(parent, segment);
  return true;
}

/** Collects `children` under `parent[segment]`, which is taken out again when it was new and none had a leaf. */
function collectChildren<T>(parent: Record<string, unknown>, segment: string, children: T[], collectChild: (node: Record<string, unknown>, child: T) => boolean): boolean {
  const existed = isObject(parent[segment]);
  const node = trieNode(parent, segment);
  let added = false;
  for (const child of children) if (collectChild(node, child)) added = true;
  if (!added && !existed) delete parent[segment];
  return added;
}

/**
 * toFieldsV1(leafFields(obj, scope)) in one walk, without making and splitting a path per leaf: what a create
 * owns (every field it set) is the whole trie.
 */
export function leafFieldsV1(obj: JsonObject, scope: OwnershipScope): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!ownableTopLevel(k, scope)) continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      const present = Object.keys(METADATA_SCHEMA.properties ?? {}).filter((mk) => v[mk] !== undefined);
      collectChildren(root, 'f:metadata', present, (node, mk) => collectTrie(v[mk], METADATA_SCHEMA.properties?.[mk], node, `f:${mk}`));
      continue;
    }
    collectTrie(v, scope.schema.properties?.[k], root, `f:${k}`);
  }
  return root;
}

function rootSchemaFor(scope: OwnershipScope): OpenApiSchema {
  return { ...scope.schema, properties: { ...(scope.schema.properties ?? {}), metadata: METADATA_SCHEMA } };
}

/** The value at a leaf path, or undefined when absent. */
export function valueAt(obj: Json, path: PathKey): Json {
  let cur: Json = obj;
  for (const seg of path.split(SEP)) {
    if (cur === undefined) return undefined;
    if (seg.startsWith('f:')) {
      cur = isObject(cur) ? cur[seg.slice(2)] : undefined;
    } else if (seg.startsWith('k:')) {
      const want = JSON.parse(seg.slice(2)) as Record<string, Json>;
      cur = Array.isArray(cur) ? cur.find((item) => isObject(item) && Object.entries(want).every(([k, v]) => deepEqual(item[k], v))) : undefined;
    } else if (seg.startsWith('v:')) {
      const want = JSON.parse(seg.slice(2)) as Json;
      cur = Array.isArray(cur) ? cur.find((item) => deepEqual(item, want)) : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Removes the leaf at `path` (no-op when absent); empties left behind are removed too. */
export function removeAt(obj: JsonObject, path: PathKey): void {
  const segs = path.split(SEP);
  const parents: { container: Json; seg: string }[] = [];
  let cur: Json = obj;
  for (const seg of segs) {
    parents.push({ container: cur, seg });
    cur = valueAt(cur, seg);
    if (cur === undefined) return;
  }
  for (let i = parents.length - 1; i >= 0; i--) {
    const { container, seg } = parents[i];
    if (seg.startsWith('f:') && isObject(container)) delete container[seg.slice(2)];
    else if (Array.isArray(container)) {
      const target = valueAt(container, seg);
      const idx = container.indexOf(target);
      if (idx >= 0) container.splice(idx, 1);
    }
    // Stop unless the container became empty (and is not the root or a top-level field).
    const empty = isObject(container) ? Object.keys(container).length === 0 : Array.isArray(container) ? container.length === 0 : false;
    if (!empty || i <= 1) break;
  }
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, Json>;
  const bo = b as Record<string, Json>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) if (!Object.prototype.hasOwnProperty.call(bo, k) || !deepEqual(ao[k], bo[k])) return false;
  return true;
}

function overlaps(a: PathKey, b: PathKey): boolean {
  return a === b || a.startsWith(b + SEP) || b.startsWith(a + SEP);
}

/** FieldsV1 trie from leaf paths. */
export function toFieldsV1(paths: Iterable<PathKey>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let node = root;
    for (const seg of p.split(SEP)) {
      if (!isObject(node[seg])) node[seg] = {};
      node = node[seg] as Record<string, unknown>;
    }
  }
  return root;
}

/** Leaf paths from a FieldsV1 trie (`.` markers ignored). */
export function fromFieldsV1(trie: unknown): Set<PathKey> {
  const out = new Set<PathKey>();
  const walk = (node: unknown, prefix: string[]): void => {
    if (!isObject(node)) return;
    const keys = Object.keys(node).filter((k) => k !== '.');
    if (keys.length === 0) { if (prefix.length > 0) out.add(prefix.join(SEP)); return; }
    for (const k of keys) walk(node[k], [...prefix, k]);
  };
  walk(trie, []);
  return out;
}

/** `.spec.conditions[type="Ready"].status` */
export function renderPath(path: PathKey): string {
  return path.split(SEP).map((seg) => {
    if (seg.startsWith('f:')) return `.${seg.slice(2)}`;
    if (seg.startsWith('k:')) {
      const keys = JSON.parse(seg.slice(2)) as Record<string, Json>;
      return `[${Object.entries(keys).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    }
    if (seg.startsWith('v:')) return `[=${seg.slice(2)}]`;
    return seg;
  }).join('');
}

interface OwnedEntry {
  owner: FieldOwner;
  apiVersion: string;
  time: string;
  fields: Set<PathKey>;
}

function readEntries(entries: ManagedFieldsEntry[] | undefined): OwnedEntry[] {
  return (entries ?? []).filter((e) => typeof e.manager === 'string').map((e) => ({
    owner: { manager: e.manager ?? '', operation: e.operation === 'Apply' ? 'Apply' : 'Update', ...(e.subresource ? { subresource: e.subresource } : {}) },
    apiVersion: e.apiVersion ?? '',
    time: e.time ?? nowRfc3339(),
    fields: fromFieldsV1(e.fieldsV1),
  }));
}

function writeEntries(entries: OwnedEntry[]): ManagedFieldsEntry[] {
  return entries.filter((e) => e.fields.size > 0).map((e) => ({
    manager: e.owner.manager,
    operation: e.owner.operation,
    apiVersion: e.apiVersion,
    time: e.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(e.fields),
    ...(e.owner.subresource ? { subresource: e.owner.subresource } : {}),
  }));
}

function sameOwner(a: FieldOwner, b: FieldOwner): boolean {
  return a.manager === b.manager && a.operation === b.operation && (a.subresource ?? '') === (b.subresource ?? '');
}

function entryFor(entries: OwnedEntry[], owner: FieldOwner, apiVersion: string): OwnedEntry {
  let e = entries.find((x) => sameOwner(x.owner, owner));
  if (!e) {
    e = { owner, apiVersion, time: nowRfc3339(), fields: new Set() };
    entries.push(e);
  }
  return e;
}

/**
 * After a non-apply write (create, update, patch): the writer owns what it changed; the others lose it.
 * Returns the new managedFields.
 */
export function recordUpdate(
  previous: JsonObject | undefined,
  next: JsonObject,
  owner: FieldOwner,
  apiVersion: string,
  scope: OwnershipScope,
): ManagedFieldsEntry[] {
  if (previous === undefined) {
    // A create: nobody owned anything before, so the writer owns every field set.
    const fieldsV1 = leafFieldsV1(next, scope);
    if (Object.keys(fieldsV1).length === 0) return [];
    return [{
      manager: owner.manager,
      operation: owner.operation,
      apiVersion,
      time: nowRfc3339(),
      fieldsType: 'FieldsV1',
      fieldsV1,
      ...(owner.subresource ? { subresource: owner.subresource } : {}),
    }];
  }
  const prevMeta = previous.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined;
  const entries = readEntries(prevMeta?.managedFields);
  const before = previous ? leafFields(previous, scope) : new Set<PathKey>();
  const after = leafFields(next, scope);
  const changed = new Set<PathKey>();
  for (const p of after) if (!before.has(p) || !deepEqual(valueAt(previous, p), valueAt(next, p))) changed.add(p);
  const removed = new Set<PathKey>();
  for (const p of before) if (!after.has(p)) removed.add(p);
  if (changed.size === 0 && removed.size === 0) return writeEntries(entries);
  for (const e of entries) {
    if (sameOwner(e.owner, owner)) continue;
    for (const f of Array.from(e.fields)) {
      for (const c of [...changed, ...removed]) {
        if (overlaps(f, c)) { e.fields.delete(f); e.time = e.time || nowRfc3339(); break; }
      }
    }
  }
  const mine = entryFor(entries, owner, apiVersion);
  for (const p of removed) for (const f of Array.from(mine.fields)) if (overlaps(f, p)) mine.fields.delete(f);
  for (const p of changed) mine.fields.add(p);
  mine.apiVersion = apiVersion;
  mine.time = nowRfc3339();
  return writeEntries(entries);
}

function mergeInto(live: Json, applied: Json, schema: OpenApiSchema | undefined): Json {
  if (isObject(applied)) {
    const base: Record<string, Json> = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) base[k] = mergeInto(base[k], v, childSchema(schema, k));
    return base;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const lt = listType(schema);
    if (lt.type === 'map' && lt.keys.length > 0 && applied.every(isObject) && live.every(isObject)) {
      const result: Json[] = live.slice();
      for (const item of applied) {
        const key = itemKey(item, lt.keys);
        const idx = result.findIndex((x) => itemKey(x, lt.keys) === key);
        if (idx >= 0) result[idx] = mergeInto(result[idx], item, schema?.items);
        else result.push(item);
      }
      return result;
    }
    if (lt.type === 'set') {
      const result = live.slice();
      for (const item of applied) if (!result.some((x) => deepEqual(x, item))) result.push(item);
      return result;
    }
  }
  return applied;
}

export interface ApplyResult {
  object: JsonObject;
  managedFields: ManagedFieldsEntry[];
}

/**
 * Server-side apply of `applied` (the user's configuration) onto `live` (undefined = create) by `owner`.
 * Throws ApplyConflictError (unless `force`) when another manager owns a field this would change.
 */
export function serverSideApply(
  live: JsonObject | undefined,
  applied: JsonObject,
  owner: FieldOwner,
  apiVersion: string,
  scope: OwnershipScope,
  force: boolean,
): ApplyResult {
  const liveMeta = live?.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined;
  const entries = readEntries(liveMeta?.managedFields);
  const appliedFields = leafFields(applied, scope);
  const conflicts: ApplyConflict[] = [];
  if (live) {
    for (const e of entries) {
      if (e.owner.manager === owner.manager && e.owner.operation === 'Apply' && (e.owner.subresource ?? '') === (owner.subresource ?? '')) continue;
      for (const f of e.fields) {
        for (const p of appliedFields) {
          if (!overlaps(f, p)) continue;
          const at = f.length <= p.length ? f : p;
          if (!deepEqual(valueAt(live, at), valueAt(applied, at))) {
            if (force) e.fields.delete(f);
            else conflicts.push({ manager: e.owner.manager, path: renderPath(f.length >= p.length ? f : p) });
          }
          break;
        }
      }
    }
  }
  if (conflicts.length > 0) throw new ApplyConflictError(conflicts, apiVersion);

  const mine = entryFor(entries, { ...owner, operation: 'Apply' }, apiVersion);
  const base: JsonObject = live ? structuredClone(live) : {};
  // Fields this manager applied before but no longer applies go away, unless someone else also owns them.
  for (const old of mine.fields) {
    if (appliedFields.has(old)) continue;
    const sharedElsewhere = entries.some((e) => e !== mine && Array.from(e.fields).some((f) => overlaps(f, old)));
    if (!sharedElsewhere) removeAt(base, old);
  }
  const rootSchema = rootSchemaFor(scope);
  const merged = mergeInto(base, applied, rootSchema) as JsonObject;
  mine.fields = appliedFields;
  mine.apiVersion = apiVersion;
  mine.time = nowRfc3339();
  return { object: merged, managedFields: writeEntries(entries) };
}

export class ApplyConflictError extends Error {
  constructor(readonly conflicts: ApplyConflict[], readonly apiVersion: string) {
    super(renderConflicts(conflicts, apiVersion));
  }
}

function renderConflicts(conflicts: ApplyConflict[], apiVersion: string): string {
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
  const n = conflicts.length;
  const head = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: `;
  const parts = Array.from(byManager.entries()).map(([manager, paths]) =>
    paths.length === 1
      ? `conflict with "${manager}" using ${apiVersion}: ${paths[0]}`
      : `conflicts with "${manager}" using ${apiVersion}:\n${paths.map((p) => `- ${p}`).join('\n')}`);
  return head + parts.join('\n');
}
