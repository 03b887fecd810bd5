// The generic registry store (like k8s.io/apiserver's registry/generic/registry.Store) for any ResourceDefinition:
// create/get/list/update/patch/delete/deletecollection, the status and scale subresources, finalizers and
// deletionTimestamp, managedFields, dryRun and fieldValidation. Lists are served from the watch cache.
import { randomUUID } from 'node:crypto';
import { applyPatch, type Operation } from 'fast-json-patch';
import type { ResourceDefinition } from '../../crds/loader';
import {
  ApiError, alreadyExists, badRequest, conflict, expired, invalid, notFound, resourceVersionTooLarge, staleUpdate,
  type GroupResource,
} from '../errors';
import { forbidden as forbiddenIssue, invalid as invalidIssue, required as requiredIssue, type FieldIssue } from '../../crds/validation/field-issue';
import {
  CompactedError, KeyExistsError, KeyNotFoundError,
  type JsonObject, type Storage, type StoredObject, type UpdateDecision,
} from '../storage/interface';
import type { WatchCache } from '../storage/watch-cache';
import { ApplyConflictError, deepEqual, recordUpdate, serverSideApply, type OwnershipScope } from './managed-fields';
import { KindStrategy, canonical } from './strategy';
import { nowRfc3339 } from './clock';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelRequirement } from '../endpoints/selectors';
import type { ManagedFieldsEntry, ObjectMeta, Stream } from '../../crds/types';
import type { ValidationContext } from '../../crds/validation';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface WriteOptions {
  dryRun: boolean;
  /** Who is writing (fieldManager, or derived from the User-Agent). */
  fieldManager: string;
  fieldValidation: FieldValidation;
  /** Warnings for the response's `Warning` headers (appended to). */
  warnings: string[];
}

export interface ListOptions {
  labelSelector: LabelRequirement[];
  fieldSelector: FieldRequirement[];
  limit: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: JsonObject[];
  revision: number;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  dryRun: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'apply';

/** The metadata every stored object carries (the shared Kubernetes ObjectMeta of crds/types). */
export type ObjectMetaShape = ObjectMeta;

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;
const CONSISTENT_READ_WAIT_MS = 1500;
const TOO_LARGE_WAIT_MS = 3000;
const CONTINUE_TOO_OLD = 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function metaOf(obj: JsonObject): ObjectMetaShape & Record<string, unknown> {
  if (!isRecord(obj.metadata)) obj.metadata = {};
  return obj.metadata as ObjectMetaShape & Record<string, unknown>;
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
  return s;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (isRecord(parsed) && parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string' && parsed.rv > 0) {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch { /* fall through */ }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** `.spec.replicas` → ['spec','replicas'] */
function pathSegments(jsonPath: string): string[] {
  return jsonPath.replace(/^\./, '').split('.').filter((s) => s !== '');
}

function getPath(obj: unknown, segs: string[]): unknown {
  let cur = obj;
  for (const s of segs) cur = isRecord(cur) ? cur[s] : undefined;
  return cur;
}

function setPath(obj: JsonObject, segs: string[], value: unknown): void {
  let cur: Record<string, unknown> = obj;
  for (const s of segs.slice(0, -1)) {
    if (!isRecord(cur[s])) cur[s] = {};
    cur = cur[s] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]] = value;
}

type ManagedFieldsMode =
  | { kind: 'update'; manager: string }
  | { kind: 'apply'; managedFields: ManagedFieldsEntry[] };

/** Thrown inside a CAS loop to answer without writing (dry run). */
class DryRunAnswer {
  constructor(readonly object: JsonObject, readonly deleted: boolean) {}
}

export class ResourceStore {
  readonly strategy: KindStrategy;
  readonly groupResource: GroupResource;
  readonly apiVersion: string;
  private readonly resourcePrefix: string;
  /** What validation may look up beyond the object: FSQL statements are planned against the Streams stored in the
   *  Processor's namespace (read from the watch cache, so admission stays synchronous and costs no etcd call). */
  private readonly validationContext: ValidationContext;

  constructor(
    readonly definition: ResourceDefinition,
    private readonly storage: Storage,
    private readonly cache: WatchCache,
    etcdPrefix: string,
  ) {
    this.strategy = new KindStrategy(definition);
    this.groupResource = { group: definition.group, resource: definition.plural };
    this.apiVersion = `${definition.group}/${definition.version}`;
    this.resourcePrefix = `${etcdPrefix.replace(/\/+$/, '')}/${definition.group}/${definition.plural}/`;
    const streamsPrefix = `${etcdPrefix.replace(/\/+$/, '')}/${definition.group}/streams/`;
    this.validationContext = definition.kind === 'Processor'
      ? { stream: (namespace, name) => cache.get(`${streamsPrefix}${namespace}/${name}`)?.object as Stream | undefined }
      : {};
  }

  get namespaced(): boolean {
    return this.definition.scope === 'Namespaced';
  }

  /** Key prefix of a namespace ('' = all). */
  keyPrefix(namespace: string): string {
    return this.namespaced && namespace ? `${this.resourcePrefix}${namespace}/` : this.resourcePrefix;
  }

  key(namespace: string, name: string): string {
    return this.namespaced ? `${this.resourcePrefix}${namespace}/${name}` : `${this.resourcePrefix}${name}`;
  }

  /** The API form of a stored object: TypeMeta first, resourceVersion from the revision. */
  toApi(stored: { object: JsonObject; revision: number }): JsonObject {
    const { apiVersion: _a, kind: _k, metadata, ...rest } = stored.object;
    void _a; void _k;
    return {
      apiVersion: this.apiVersion,
      kind: this.definition.kind,
      metadata: { ...(isRecord(metadata) ? metadata : {}), resourceVersion: String(stored.revision) },
      ...rest,
    };
  }

  private ownership(subresource: string): OwnershipScope {
    return { schema: this.definition.schema, part: subresource === 'status' ? 'status' : this.strategy.hasStatus ? 'main' : 'all' };
  }

  private groupKind(): { group: string; kind: string } {
    return { group: this.definition.group, kind: this.definition.kind };
  }

  /** apiVersion/kind in a body must name this resource (absent is fine). */
  private checkTypeMeta(obj: JsonObject): void {
    if (obj.apiVersion !== undefined && obj.apiVersion !== this.apiVersion) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${this.apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== this.definition.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${this.definition.kind})`);
    }
    if (obj.metadata !== undefined && !isRecord(obj.metadata)) {
      throw badRequest('metadata must be an object');
    }
  }

  private checkNamespace(obj: JsonObject, namespace: string): void {
    const meta = metaOf(obj);
    if (this.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
  }

  /** Drops unknown fields and reports them per fieldValidation. */
  private pruneUnknown(obj: JsonObject, options: WriteOptions): void {
    const dropped = this.strategy.prune(obj);
    if (dropped.length === 0 || options.fieldValidation === 'Ignore') return;
    const messages = dropped.map((p) => this.strategy.unknownFieldMessage(p));
    if (options.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${messages.join(', ')}`);
    options.warnings.push(...messages);
  }

  private validateOrThrow(obj: JsonObject, options: WriteOptions, old?: JsonObject): void {
    const checked = this.strategy.validate(obj, old, this.validationContext);
    options.warnings.push(...checked.warnings);
    if (checked.errors.length > 0) throw invalid(this.groupKind(), String(metaOf(obj).name ?? ''), checked.errors);
  }

  // ------------------------------------------------------------------------------------------------ reads

  async get(namespace: string, name: string): Promise<JsonObject> {
    const stored = await this.storage.get(this.key(namespace, name));
    if (!stored) throw notFound(this.groupResource, name);
    return this.toApi(stored);
  }

  private async getStored(namespace: string, name: string): Promise<StoredObject> {
    const stored = await this.storage.get(this.key(namespace, name));
    if (!stored) throw notFound(this.groupResource, name);
    return stored;
  }

  /** Matches selectors against a stored object. */
  matches(object: JsonObject, labels: LabelRequirement[], fields: FieldRequirement[]): boolean {
    const meta = isRecord(object.metadata) ? (object.metadata as ObjectMetaShape) : {};
    return matchesLabels(labels, meta.labels) && matchesFields(fields, meta);
  }

  async list(namespace: string, options: ListOptions): Promise<ListResult> {
    const prefix = this.keyPrefix(namespace);
    const limit = options.limit > 0 ? options.limit : 0;
    if (options.continueToken) {
      const token = decodeContinue(options.continueToken);
      const startKey = this.resourcePrefix + token.start;
      const from = startKey < prefix ? prefix : startKey;
      if (this.cache.ready && this.cache.revision === token.rv) {
        return this.pageFromItems(this.cache.snapshot(prefix).items.filter((i) => i.key >= from), token.rv, limit, options);
      }
      return this.pageFromEtcd(prefix, from, token.rv, limit, options, true);
    }
    const rv = options.resourceVersion ?? '';
    const match = options.resourceVersionMatch ?? '';
    if (match !== '' && match !== 'NotOlderThan' && match !== 'Exact') {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [invalidIssue('resourceVersionMatch', match, 'must be one of NotOlderThan, Exact')]);
    }
    if (match !== '' && rv === '') {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [forbiddenIssue('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided')]);
    }
    if (rv === '') {
      const current = await this.storage.currentRevision();
      if (await this.cache.waitForRevision(current, CONSISTENT_READ_WAIT_MS)) {
        return this.pageFromItems(this.cache.snapshot(prefix).items, this.cache.revision, limit, options);
      }
      return this.pageFromEtcd(prefix, prefix, current, limit, options, false);
    }
    const wanted = Number(rv);
    if (!/^\d+$/.test(rv)) {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [invalidIssue('resourceVersion', rv, 'must be a non-negative integer')]);
    }
    if (match === 'Exact' && wanted > 0) {
      if (this.cache.ready && this.cache.revision === wanted) {
        return this.pageFromItems(this.cache.snapshot(prefix).items, wanted, limit, options);
      }
      if (wanted > this.cache.revision && !(await this.cache.waitForRevision(wanted, TOO_LARGE_WAIT_MS))) throw resourceVersionTooLarge();
      return this.pageFromEtcd(prefix, prefix, wanted, limit, options, false);
    }
    if (!this.cache.ready) {
      // The cache is (re)listing and may be stale: a consistent read from etcd is never older than asked.
      const current = await this.storage.currentRevision();
      if (wanted > current) throw resourceVersionTooLarge();
      return this.pageFromEtcd(prefix, prefix, current, limit, options, false);
    }
    if (!(await this.cache.waitForRevision(wanted, TOO_LARGE_WAIT_MS))) throw resourceVersionTooLarge();
    return this.pageFromItems(this.cache.snapshot(prefix).items, this.cache.revision, limit, options);
  }

  private pageFromItems(items: StoredObject[], revision: number, limit: number, options: ListOptions): ListResult {
    const out: JsonObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (const item of items) {
      if (!this.matches(item.object, options.labelSelector, options.fieldSelector)) continue;
      if (limit > 0 && out.length >= limit) { more = true; break; }
      out.push(this.toApi(item));
      lastKey = item.key;
    }
    const result: ListResult = { items: out, revision };
    if (more && lastKey !== undefined) result.continueToken = encodeContinue({ rv: revision, start: lastKey.slice(this.resourcePrefix.length) + '\u0000' });
    return result;
  }

  private async pageFromEtcd(prefix: string, from: string, revision: number, limit: number, options: ListOptions, continuing: boolean): Promise<ListResult> {
    const out: JsonObject[] = [];
    let startKey = from;
    let lastKey: string | undefined;
    let more = false;
    try {
      for (;;) {
        const page = await this.storage.list(prefix, { revision, startKey, limit: limit > 0 ? Math.max(limit, 100) : 0 });
        for (const item of page.items) {
          if (!this.matches(item.object, options.labelSelector, options.fieldSelector)) continue;
          if (limit > 0 && out.length >= limit) { more = true; break; }
          out.push(this.toApi(item));
          lastKey = item.key;
        }
        if (more || !page.more || page.items.length === 0) break;
        startKey = page.items[page.items.length - 1].key + '\u0000';
      }
    } catch (err) {
      if (err instanceof CompactedError) {
        throw continuing ? expired(CONTINUE_TOO_OLD) : expired(`too old resource version: ${revision} (${err.compactRevision})`);
      }
      throw err;
    }
    const result: ListResult = { items: out, revision };
    if (more && lastKey !== undefined) result.continueToken = encodeContinue({ rv: revision, start: lastKey.slice(this.resourcePrefix.length) + '\u0000' });
    return result;
  }

  // ------------------------------------------------------------------------------------------------ create

  async create(namespace: string, body: JsonObject, options: WriteOptions): Promise<JsonObject> {
    this.checkTypeMeta(body);
    const obj = body;
    this.checkNamespace(obj, namespace);
    this.pruneUnknown(obj, options);
    const meta = metaOf(obj);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw badRequest('resourceVersion should not be set on objects to be created');
    }
    this.resetSystemFields(meta);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRfc3339();
    meta.generation = 1;
    if (this.strategy.hasStatus) delete obj.status;
    const generated = (meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '';
    if (generated) meta.name = `${meta.generateName}${randomSuffix()}`;
    this.strategy.defaults(obj);
    obj.apiVersion = this.apiVersion;
    obj.kind = this.definition.kind;
    this.validateOrThrow(obj, options);
    meta.managedFields = recordUpdate(undefined, obj, { manager: options.fieldManager, operation: 'Update' }, this.apiVersion, this.ownership(''));
    if (meta.managedFields.length === 0) delete meta.managedFields;
    return this.persistNew(namespace, obj, options, generated);
  }

  private resetSystemFields(meta: ObjectMetaShape & Record<string, unknown>): void {
    delete meta.resourceVersion;
    delete meta.uid;
    delete meta.selfLink;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.creationTimestamp;
    delete meta.generation;
    delete meta.managedFields;
  }

  private async persistNew(namespace: string, obj: JsonObject, options: WriteOptions, generated: boolean): Promise<JsonObject> {
    const meta = metaOf(obj);
    const { apiVersion: _a, kind: _k, ...stored } = obj;
    void _a; void _k;
    if (options.dryRun) {
      const existing = await this.storage.get(this.key(namespace, String(meta.name)));
      if (existing && !generated) throw alreadyExists(this.groupResource, String(meta.name));
      const answer = this.toApi({ object: stored, revision: 0 });
      delete (answer.metadata as ObjectMetaShape).resourceVersion;
      return answer;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.storage.create(this.key(namespace, String(meta.name)), { apiVersion: this.apiVersion, kind: this.definition.kind, ...stored });
        return this.toApi(result);
      } catch (err) {
        if (err instanceof KeyExistsError) {
          if (generated && attempt < GENERATE_NAME_ATTEMPTS) {
            meta.name = `${meta.generateName}${randomSuffix()}`;
            continue;
          }
          throw alreadyExists(this.groupResource, String(meta.name));
        }
        throw err;
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ update

  /** PUT: replaces the object (or its status) at the given resourceVersion. */
  async update(namespace: string, name: string, body: JsonObject, subresource: '' | 'status', options: WriteOptions): Promise<JsonObject> {
    this.checkTypeMeta(body);
    const meta = metaOf(body);
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    }
    this.checkNamespace(body, namespace);
    this.pruneUnknown(body, options);
    if (meta.resourceVersion === undefined || meta.resourceVersion === '') {
      throw invalid(this.groupKind(), name, [invalidIssue('metadata.resourceVersion', 0, 'must be specified for an update')]);
    }
    return this.writeUpdate(namespace, name, subresource, options, { kind: 'update', manager: options.fieldManager }, () => structuredClone(body));
  }

  /** PATCH: json, merge or apply; retried on concurrent change against the fresh object. */
  async patch(namespace: string, name: string, type: PatchType, patch: unknown, subresource: '' | 'status', options: WriteOptions, force: boolean): Promise<JsonObject> {
    if (type === 'apply') return this.apply(namespace, name, patch, subresource, options, force);
    const produce = (current: JsonObject): JsonObject => {
      const patched = type === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
      if (!isRecord(patched)) throw badRequest('the patch result is not an object');
      const patchedObject = patched as JsonObject;
      this.checkTypeMeta(patchedObject);
      const meta = metaOf(patchedObject);
      if (meta.name !== name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
      if (this.namespaced && meta.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      this.pruneUnknown(patchedObject, options);
      return patchedObject;
    };
    return this.writeUpdate(namespace, name, subresource, options, { kind: 'update', manager: options.fieldManager }, produce);
  }

  private async apply(namespace: string, name: string, patch: unknown, subresource: '' | 'status', options: WriteOptions, force: boolean): Promise<JsonObject> {
    if (!isRecord(patch)) throw badRequest('apply configuration must be an object');
    const applied = structuredClone(patch) as JsonObject;
    this.checkTypeMeta(applied);
    if (applied.apiVersion === undefined || applied.kind === undefined) {
      throw badRequest(`Object 'Kind' is missing in apply configuration`);
    }
    const meta = metaOf(applied);
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    }
    meta.name = name;
    this.checkNamespace(applied, namespace);
    this.pruneUnknown(applied, options);
    const precondition = meta.resourceVersion;
    delete meta.managedFields;
    delete meta.resourceVersion;
    delete meta.uid;
    delete meta.creationTimestamp;
    delete meta.generation;
    const owner = { manager: options.fieldManager, operation: 'Apply' as const, ...(subresource ? { subresource } : {}) };
    const scope = this.ownership(subresource);
    const key = this.key(namespace, name);
    const existing = await this.storage.get(key);
    if (!existing) {
      if (subresource) throw notFound(this.groupResource, name);
      const result = this.applyOrConflict(undefined, applied, owner, scope, force);
      const created: JsonObject = result.object;
      const cmeta = metaOf(created);
      cmeta.uid = randomUUID();
      cmeta.creationTimestamp = nowRfc3339();
      cmeta.generation = 1;
      if (this.strategy.hasStatus) delete created.status;
      this.strategy.defaults(created);
      created.apiVersion = this.apiVersion;
      created.kind = this.definition.kind;
      this.validateOrThrow(created, options);
      cmeta.managedFields = result.managedFields;
      try {
        return await this.persistNew(namespace, created, options, false);
      } catch (err) {
        // Someone created it meanwhile: apply again onto theirs.
        if (err instanceof ApiError && err.status.reason === 'AlreadyExists') return this.apply(namespace, name, patch, subresource, options, force);
        throw err;
      }
    }
    return this.writeUpdate(namespace, name, subresource, options, { kind: 'apply', managedFields: [] }, (current, mode) => {
      if (precondition !== undefined && precondition !== metaOf(current).resourceVersion) throw staleUpdate(this.groupResource, name);
      const result = this.applyOrConflict(current, applied, owner, scope, force);
      if (mode.kind === 'apply') mode.managedFields = result.managedFields;
      return result.object;
    }, existing);
  }

  private applyOrConflict(live: JsonObject | undefined, applied: JsonObject, owner: { manager: string; operation: 'Apply'; subresource?: string }, scope: OwnershipScope, force: boolean): { object: JsonObject; managedFields: ManagedFieldsEntry[] } {
    try {
      return serverSideApply(live, applied, owner, this.apiVersion, scope, force);
    } catch (err) {
      if (err instanceof ApplyConflictError) {
        const e = conflict(this.groupResource, String(metaOf(applied).name), '');
        e.status.message = err.message;
        e.status.details = {
          ...e.status.details,
          causes: err.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${err.apiVersion}`, field: c.path })),
        };
        throw e;
      }
      throw err;
    }
  }

  /**
   * The read-modify-write every update goes through. `produce` turns the current API object into the candidate
   * (it may throw ApiErrors); the strategy then decides what may change.
   */
  private async writeUpdate(
    namespace: string,
    name: string,
    subresource: '' | 'status',
    options: WriteOptions,
    mode: ManagedFieldsMode,
    produce: (current: JsonObject, mode: ManagedFieldsMode) => JsonObject,
    suggestion?: StoredObject,
  ): Promise<JsonObject> {
    const key = this.key(namespace, name);
    const decide = (current: StoredObject): UpdateDecision => {
      const currentApi = this.toApi(current);
      const candidate = produce(currentApi, mode);
      const next = this.prepareUpdate(current, candidate, subresource, options, mode);
      const nextMeta = metaOf(next);
      const deleting = Boolean(nextMeta.deletionTimestamp) && (nextMeta.finalizers ?? []).length === 0;
      if (!deleting && JSON.stringify(canonical(next)) === JSON.stringify(canonical(current.object))) return { kind: 'unchanged' };
      if (options.dryRun) throw new DryRunAnswer(next, deleting);
      return deleting ? { kind: 'delete' } : { kind: 'put', object: next };
    };
    try {
      const result = await this.storage.guaranteedUpdate(key, decide, suggestion);
      if (result.deleted) return this.toApi({ object: result.stored.object, revision: result.stored.revision });
      return this.toApi(result.stored);
    } catch (err) {
      if (err instanceof DryRunAnswer) {
        const current = await this.storage.get(key);
        return this.toApi({ object: err.object, revision: current?.revision ?? 0 });
      }
      if (err instanceof KeyNotFoundError) throw notFound(this.groupResource, name);
      throw err;
    }
  }

  private prepareUpdate(current: StoredObject, candidate: JsonObject, subresource: '' | 'status', options: WriteOptions, mode: ManagedFieldsMode): JsonObject {
    const old = current.object;
    const oldMeta = metaOf(structuredClone(old));
    const candMeta = metaOf(candidate);
    const name = String(oldMeta.name);
    if (candMeta.resourceVersion !== undefined && candMeta.resourceVersion !== '') {
      if (!/^\d+$/.test(String(candMeta.resourceVersion))) {
        throw invalid(this.groupKind(), name, [invalidIssue('metadata.resourceVersion', candMeta.resourceVersion, 'must be a number')]);
      }
      if (Number(candMeta.resourceVersion) !== current.revision) throw staleUpdate(this.groupResource, name);
    }
    if (candMeta.uid !== undefined && candMeta.uid !== '' && candMeta.uid !== oldMeta.uid) {
      throw conflict(this.groupResource, name, `Precondition failed: UID in precondition: ${String(candMeta.uid)}, UID in object meta: ${String(oldMeta.uid)}`);
    }
    let next: JsonObject;
    if (subresource === 'status') {
      next = structuredClone(old);
      if (candidate.status === undefined) delete next.status; else next.status = candidate.status;
    } else {
      next = candidate;
      const meta = metaOf(next);
      for (const f of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'name', 'namespace'] as const) {
        if (oldMeta[f] === undefined) delete meta[f]; else (meta as Record<string, unknown>)[f] = oldMeta[f];
      }
      delete meta.resourceVersion;
      delete meta.selfLink;
      delete meta.generateName;
      if (oldMeta.generateName !== undefined) meta.generateName = oldMeta.generateName;
      if (this.strategy.hasStatus) {
        if (old.status === undefined) delete next.status; else next.status = structuredClone(old.status);
      }
      this.strategy.defaults(next);
      if (oldMeta.deletionTimestamp) {
        const added = (meta.finalizers ?? []).filter((f) => !(oldMeta.finalizers ?? []).includes(f));
        if (added.length > 0) {
          const issue: FieldIssue = forbiddenIssue('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`);
          throw invalid(this.groupKind(), name, [issue]);
        }
      }
      if (this.strategy.specChanged(old, next)) meta.generation = (Number(oldMeta.generation) || 0) + 1;
    }
    next.apiVersion = this.apiVersion;
    next.kind = this.definition.kind;
    const meta = metaOf(next);
    meta.managedFields = oldMeta.managedFields;
    this.validateOrThrow(next, options, { apiVersion: this.apiVersion, kind: this.definition.kind, ...old });
    if (mode.kind === 'apply') meta.managedFields = mode.managedFields;
    else meta.managedFields = recordUpdate(old, next, { manager: mode.manager, operation: 'Update', ...(subresource ? { subresource } : {}) }, this.apiVersion, this.ownership(subresource));
    if (!meta.managedFields || meta.managedFields.length === 0) delete meta.managedFields;
    return next;
  }

  // ------------------------------------------------------------------------------------------------ delete

  /** Deletes (or, with finalizers, marks deleted). Returns the object as it was / now is. */
  async delete(namespace: string, name: string, options: DeleteOptions): Promise<JsonObject> {
    const key = this.key(namespace, name);
    const decide = (current: StoredObject): UpdateDecision => {
      const meta = metaOf(structuredClone(current.object));
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== meta.uid) {
        throw conflict(this.groupResource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== String(current.revision)) {
        throw conflict(this.groupResource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.revision}`);
      }
      if ((meta.finalizers ?? []).length > 0) {
        if (meta.deletionTimestamp) return { kind: 'unchanged' };
        const next = structuredClone(current.object);
        const nmeta = metaOf(next);
        nmeta.deletionTimestamp = nowRfc3339();
        nmeta.deletionGracePeriodSeconds = 0;
        nmeta.generation = (Number(nmeta.generation) || 0) + 1;
        if (options.dryRun) throw new DryRunAnswer(next, false);
        return { kind: 'put', object: next };
      }
      if (options.dryRun) throw new DryRunAnswer(current.object, true);
      return { kind: 'delete' };
    };
    try {
      const result = await this.storage.guaranteedUpdate(key, decide);
      return this.toApi(result.stored);
    } catch (err) {
      if (err instanceof DryRunAnswer) return this.toApi({ object: err.object, revision: (await this.storage.get(key))?.revision ?? 0 });
      if (err instanceof KeyNotFoundError) throw notFound(this.groupResource, name);
      throw err;
    }
  }

  async deleteCollection(namespace: string, listOptions: ListOptions, options: DeleteOptions): Promise<ListResult> {
    const listed = await this.list(namespace, { ...listOptions, limit: 0, continueToken: undefined });
    const deleted: JsonObject[] = [];
    for (const item of listed.items) {
      const meta = metaOf(item);
      try {
        deleted.push(await this.delete(String(meta.namespace ?? ''), String(meta.name), { dryRun: options.dryRun }));
      } catch (err) {
        if (err instanceof ApiError && err.status.code === 404) continue;
        throw err;
      }
    }
    return { items: deleted, revision: listed.revision };
  }

  // ------------------------------------------------------------------------------------------------ scale

  private scalePaths(): { spec: string[]; status: string[]; selector?: string[] } {
    const scale = this.definition.subresources.scale;
    if (!scale) throw notFound(this.groupResource, 'scale');
    return {
      spec: pathSegments(scale.specReplicasPath),
      status: pathSegments(scale.statusReplicasPath),
      ...(scale.labelSelectorPath ? { selector: pathSegments(scale.labelSelectorPath) } : {}),
    };
  }

  /** The autoscaling/v1 Scale view of an object. */
  toScale(object: JsonObject): JsonObject {
    const paths = this.scalePaths();
    const meta = metaOf(object);
    const specReplicas = getPath(object, paths.spec);
    const statusReplicas = getPath(object, paths.status);
    const selector = paths.selector ? getPath(object, paths.selector) : undefined;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: meta.name,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
        creationTimestamp: meta.creationTimestamp,
      },
      spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
      status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' ? { selector } : {}) },
    };
  }

  async getScale(namespace: string, name: string): Promise<JsonObject> {
    this.scalePaths();
    return this.toScale(this.toApi(await this.getStored(namespace, name)));
  }

  /** PUT or PATCH of /scale: `produce` turns the current Scale into the wanted Scale. */
  async updateScale(namespace: string, name: string, produce: (currentScale: JsonObject) => unknown, options: WriteOptions): Promise<JsonObject> {
    const paths = this.scalePaths();
    const scaleKind = { group: 'autoscaling', kind: 'Scale' };
    const updated = await this.writeUpdate(namespace, name, '', options, { kind: 'update', manager: options.fieldManager }, (current) => {
      const wanted = produce(this.toScale(current));
      if (!isRecord(wanted)) throw badRequest('the Scale must be an object');
      const wantedMeta = isRecord(wanted.metadata) ? wanted.metadata : {};
      const replicas = isRecord(wanted.spec) ? wanted.spec.replicas : undefined;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
        throw invalid(scaleKind, name, [replicas === undefined ? requiredIssue('spec.replicas') : invalidIssue('spec.replicas', replicas, 'must be an integer')]);
      }
      if (replicas < 0) throw invalid(scaleKind, name, [invalidIssue('spec.replicas', replicas, 'must be greater than or equal to 0')]);
      const next = structuredClone(current);
      const meta = metaOf(next);
      const precondition = wantedMeta.resourceVersion;
      meta.resourceVersion = typeof precondition === 'string' && precondition !== '' ? precondition : meta.resourceVersion;
      setPath(next, paths.spec, replicas);
      return next;
    });
    return this.toScale(updated);
  }
}

/** RFC 6902 JSON patch; bad operations are 422 like kube-apiserver. */
export function applyJsonPatch(document: JsonObject, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    return applyPatch(structuredClone(document), patch as Operation[], true, true).newDocument;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const e = invalid({ group: '', kind: 'Patch' }, '', [{ field: '', type: 'FieldValueInvalid', message }]);
    e.status.message = `the server rejected our request due to an error in our request: ${message}`;
    throw e;
  }
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = applyMergePatch(result[k], v);
  }
  return result;
}

export { deepEqual };
