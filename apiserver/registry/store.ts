// The generic registry store (k8s.io/apiserver's registry/generic/registry.Store) for any ResourceDefinition: CRUD
// over storage — create with generateName, uid and timestamps; get; list (list.ts); update and patch with
// optimistic concurrency; delete with finalizers and deletionTimestamp; deletecollection — plus managedFields,
// dryRun and fieldValidation. What a write may change is decided by the kind strategy (strategy.ts) and the status
// strategy (status-strategy.ts); patches are computed by patch.ts; what a delete does (propagation finalizers) by
// deletion.ts; the scale subresource is scale.ts.
import { randomUUID } from 'node:crypto';
import type { ResourceDefinition } from '../../crds/loader';
import {
  ApiError, alreadyExists, badRequest, conflict, invalid, notFound, staleUpdate, type GroupResource,
} from '../errors';
import { forbidden as forbiddenIssue, invalid as invalidIssue, type FieldIssue } from '../../crds/validation/field-issue';
import {
  KeyExistsError, KeyNotFoundError,
  type JsonObject, type Storage, type StoredObject, type UpdateDecision,
} from '../storage/interface';
import type { WatchCache } from '../storage/watch-cache';
import { matchesObject, type FieldRequirement, type LabelRequirement } from '../selectors';
import { recordUpdate } from './managed-fields';
import { encodeWrite, typeMetaJsonHead, type AnswerText } from './encoded';
import { KindStrategy, canonical } from './strategy';
import { StatusStrategy, type Subresource } from './status-strategy';
import { ListReader, type ListOptions, type ListResult } from './list';
import { applyConfiguration, patchedObject, type PatchType } from './patch';
import { ScaleSubresource } from './scale';
import { metaOf, isRecord, type ObjectMetaShape } from './object-meta';
import { deletionDecision, validateDeletionFinalizers, type DeleteOptions } from './deletion';
import type { WriteOptions } from './options';
import { nowRfc3339 } from './clock';
import type { ManagedFieldsEntry, Stream } from '../../crds/types';
import type { ValidationContext } from '../../crds/validation';

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_NAME_ALPHABET[Math.floor(Math.random() * GENERATE_NAME_ALPHABET.length)];
  return s;
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
  readonly status: StatusStrategy;
  readonly scale: ScaleSubresource;
  readonly groupResource: GroupResource;
  readonly apiVersion: string;
  private readonly typeMetaJsonHead: string;
  private readonly resourcePrefix: string;
  private readonly lists: ListReader;
  /** What validation may look up beyond the object: FSQL statements are planned against the Streams stored in the
   *  Processor's namespace (read from the watch cache, so admission stays synchronous and costs no etcd call). */
  private readonly validationContext: ValidationContext;

  constructor(
    readonly definition: ResourceDefinition,
    private readonly storage: Storage,
    cache: WatchCache,
    etcdPrefix: string,
  ) {
    this.strategy = new KindStrategy(definition);
    this.status = new StatusStrategy(definition);
    this.scale = new ScaleSubresource(this);
    this.groupResource = { group: definition.group, resource: definition.plural };
    this.apiVersion = `${definition.group}/${definition.version}`;
    this.typeMetaJsonHead = typeMetaJsonHead(this.apiVersion, definition.kind);
    this.resourcePrefix = `${etcdPrefix.replace(/\/+$/, '')}/${definition.group}/${definition.plural}/`;
    this.lists = new ListReader(storage, cache, this.resourcePrefix, (stored) => this.toApi(stored));
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
    const errors = [...checked.errors, ...validateDeletionFinalizers(metaOf(obj).finalizers)];
    if (errors.length > 0) throw invalid(this.groupKind(), String(metaOf(obj).name ?? ''), errors);
  }

  // ------------------------------------------------------------------------------------------------ reads

  async get(namespace: string, name: string): Promise<JsonObject> {
    const stored = await this.storage.get(this.key(namespace, name));
    if (!stored) throw notFound(this.groupResource, name);
    return this.toApi(stored);
  }

  /** Matches selectors against a stored object. */
  matches(object: JsonObject, labels: LabelRequirement[], fields: FieldRequirement[]): boolean {
    return matchesObject(object, labels, fields);
  }

  list(namespace: string, options: ListOptions): Promise<ListResult> {
    return this.lists.list(this.keyPrefix(namespace), options);
  }

  // ------------------------------------------------------------------------------------------------ create

  /** `text`, when given, receives the answer's JSON text (cut from the value stored, not serialised again). */
  async create(namespace: string, body: JsonObject, options: WriteOptions, text?: AnswerText): Promise<JsonObject> {
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
    this.status.prepareForCreate(obj);
    const generated = (meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '';
    if (generated) meta.name = `${meta.generateName}${randomSuffix()}`;
    this.strategy.defaults(obj);
    obj.apiVersion = this.apiVersion;
    obj.kind = this.definition.kind;
    this.validateOrThrow(obj, options);
    meta.managedFields = recordUpdate(undefined, obj, { manager: options.fieldManager, operation: 'Update' }, this.apiVersion, this.status.ownership(''));
    if (meta.managedFields.length === 0) delete meta.managedFields;
    return this.persistNew(namespace, obj, options, generated, text);
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

  /** Stores a new object; a generated name that is taken is drawn again (a few times), as kube does. */
  private async persistNew(namespace: string, obj: JsonObject, options: WriteOptions, generated: boolean, text?: AnswerText): Promise<JsonObject> {
    const meta = metaOf(obj);
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
    void _a; void _k; void _m;
    if (options.dryRun) {
      const existing = await this.storage.get(this.key(namespace, String(meta.name)));
      if (existing && !generated) throw alreadyExists(this.groupResource, String(meta.name));
      const answer = this.toApi({ object: { metadata: meta, ...rest }, revision: 0 });
      delete (answer.metadata as ObjectMetaShape).resourceVersion;
      return answer;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        // Encoded once (per name drawn): the stored value's text, and the answer's cut from it.
        const write = encodeWrite(this.typeMetaJsonHead, this.apiVersion, this.definition.kind, meta, rest);
        const result = await this.storage.create(this.key(namespace, String(meta.name)), write.stored, write.storedJson);
        return write.answer(result.revision, text);
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
  async update(namespace: string, name: string, body: JsonObject, subresource: Subresource, options: WriteOptions): Promise<JsonObject> {
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

  /** A read-modify-write of the main resource by `options.fieldManager` (how the scale subresource and the garbage
   *  collector write). */
  updateWith(namespace: string, name: string, options: WriteOptions, produce: (current: JsonObject) => JsonObject): Promise<JsonObject> {
    return this.writeUpdate(namespace, name, '', options, { kind: 'update', manager: options.fieldManager }, produce);
  }

  /**
   * PATCH: json, merge or apply; retried on concurrent change against the fresh object. `outcome.created` tells
   * whether an apply created the object (201), decided by the write itself: a look beforehand races other writers.
   */
  async patch(namespace: string, name: string, type: PatchType, patch: unknown, subresource: Subresource, options: WriteOptions, force: boolean, outcome?: { created: boolean }): Promise<JsonObject> {
    if (type === 'apply') return this.apply(namespace, name, patch, subresource, options, force, outcome);
    const produce = (current: JsonObject): JsonObject => {
      const patched = patchedObject(current, type, patch);
      this.checkTypeMeta(patched);
      const meta = metaOf(patched);
      if (meta.name !== name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
      if (this.namespaced && meta.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      this.pruneUnknown(patched, options);
      return patched;
    };
    return this.writeUpdate(namespace, name, subresource, options, { kind: 'update', manager: options.fieldManager }, produce);
  }

  /** Server-side apply: creates the object when absent, else applies onto the live one. */
  private async apply(namespace: string, name: string, patch: unknown, subresource: Subresource, options: WriteOptions, force: boolean, outcome?: { created: boolean }): Promise<JsonObject> {
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
    const request = {
      applied,
      owner: { manager: options.fieldManager, operation: 'Apply' as const, ...(subresource ? { subresource } : {}) },
      apiVersion: this.apiVersion,
      scope: this.status.ownership(subresource),
      force,
      groupResource: this.groupResource,
    };
    const key = this.key(namespace, name);
    const existing = await this.storage.get(key);
    if (!existing) {
      if (subresource) throw notFound(this.groupResource, name);
      const result = applyConfiguration(undefined, request);
      const created: JsonObject = result.object;
      const cmeta = metaOf(created);
      cmeta.uid = randomUUID();
      cmeta.creationTimestamp = nowRfc3339();
      cmeta.generation = 1;
      this.status.prepareForCreate(created);
      this.strategy.defaults(created);
      created.apiVersion = this.apiVersion;
      created.kind = this.definition.kind;
      this.validateOrThrow(created, options);
      cmeta.managedFields = result.managedFields;
      try {
        const stored = await this.persistNew(namespace, created, options, false);
        if (outcome) outcome.created = true;
        return stored;
      } catch (err) {
        // Someone created it meanwhile: apply again onto theirs.
        if (err instanceof ApiError && err.status.reason === 'AlreadyExists') return this.apply(namespace, name, patch, subresource, options, force, outcome);
        throw err;
      }
    }
    return this.writeUpdate(namespace, name, subresource, options, { kind: 'apply', managedFields: [] }, (current, mode) => {
      if (precondition !== undefined && precondition !== metaOf(current).resourceVersion) throw staleUpdate(this.groupResource, name);
      const result = applyConfiguration(current, request);
      if (mode.kind === 'apply') mode.managedFields = result.managedFields;
      return result.object;
    }, existing);
  }

  /**
   * The read-modify-write every update goes through. `produce` turns the current API object into the candidate
   * (it may throw ApiErrors); the strategies then decide what may change.
   */
  private async writeUpdate(
    namespace: string,
    name: string,
    subresource: Subresource,
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

  private prepareUpdate(current: StoredObject, candidate: JsonObject, subresource: Subresource, options: WriteOptions, mode: ManagedFieldsMode): JsonObject {
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
      next = this.status.statusUpdate(old, candidate);
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
      this.status.prepareForUpdate(old, next);
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
    else meta.managedFields = recordUpdate(old, next, { manager: mode.manager, operation: 'Update', ...(subresource ? { subresource } : {}) }, this.apiVersion, this.status.ownership(subresource));
    if (!meta.managedFields || meta.managedFields.length === 0) delete meta.managedFields;
    return next;
  }

  // ------------------------------------------------------------------------------------------------ delete

  /**
   * Deletes, or — when finalizers remain, the garbage collector's included (deletion.ts) — marks deleted with
   * deletionTimestamp. Returns the object as it was / now is.
   */
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
      const decision = deletionDecision(current, options);
      if (options.dryRun && decision.kind === 'put') throw new DryRunAnswer(decision.object, false);
      if (options.dryRun && decision.kind === 'delete') throw new DryRunAnswer(current.object, true);
      return decision;
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
        const { preconditions: _perObject, ...forEach } = options;
        deleted.push(await this.delete(String(meta.namespace ?? ''), String(meta.name), forEach));
      } catch (err) {
        if (err instanceof ApiError && err.status.code === 404) continue;
        throw err;
      }
    }
    return { items: deleted, revision: listed.revision };
  }
}
