// The REST handlers of /apis/<group>/<version>/...: routes a request to the registry store by verb, negotiates the
// response (JSON, YAML, Table, PartialObjectMetadata), decodes bodies and query options, and streams watches.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import type { ResourceStore } from '../registry/store';
import type { FieldValidation, WriteOptions } from '../registry/options';
import type { ListOptions, ListResult } from '../registry/list';
import { applyJsonPatch, applyMergePatch } from '../registry/patch';
import type { AnswerText } from '../registry/encoded';
import { validateDeleteOptions, type DeleteOptions, type PropagationPolicy } from '../registry/deletion';
import type { WatchCache } from '../storage/watch-cache';
import type { JsonObject } from '../storage/interface';
import {
  badRequest, invalid, methodNotAllowed, notFoundPath, successStatus, tooManyRequests,
} from '../errors';
import { invalid as invalidIssue, notSupported } from '../../crds/validation/field-issue';
import { bodyKind, bodyText, decodeBody, decodeText, findDuplicateFields, mediaType, negotiate, PATCH_MEDIA_TYPES, type Negotiated } from './codec';
import { parseFieldSelector, parseLabelSelector } from '../selectors';
import { TableConvertor, partialObjectMetadata, type IncludeObject } from './table';
import { prepareWatch, serveWatch, type WatchLimits } from './watch';
import type { WatchersPerUser } from './watchers-per-user';
import { unsupportedMediaType } from '../errors';
import type { ApiMetrics } from '../metrics';

export interface ServedResource {
  store: ResourceStore;
  table: TableConvertor;
}

export interface ResourcePath {
  group: string;
  version: string;
  namespace: string;
  resource: string;
  name: string;
  subresource: string;
  /** /apis/g/v/watch/... (deprecated watch paths). */
  watchPrefix: boolean;
}

type Query = Record<string, string | string[] | undefined>;

function first(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
}

function all(q: Query, key: string): string[] {
  const v = q[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Go's strconv.ParseBool, plus "" as false. */
function parseBool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['', '0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw badRequest(`invalid boolean value for ${name}: "${value}"`);
}

function parseInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`invalid value for ${name}: "${value}": must be an integer`);
  return Number(value);
}

const DELETE_OPTIONS_KIND = { group: 'meta.k8s.io', kind: 'DeleteOptions' };

/** A DeleteOptions body field of the JSON type Go's decoder expects (null is absent); else its 400. */
function bodyField(body: Record<string, unknown>, field: string, type: 'string' | 'boolean' | 'number', goType: string): unknown {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) {
    const jsonType = Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value === 'boolean' ? 'bool' : typeof value;
    throw badRequest(`json: cannot unmarshal ${jsonType} into Go struct field DeleteOptions.${field} of type ${goType}`);
  }
  return value;
}

function decodeSegment(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`malformed path segment: ${s}`);
  }
}

/** Splits /apis/... into its parts; undefined when it is not a resource path. */
export function parseResourcePath(urlPath: string): ResourcePath | undefined {
  const segs = urlPath.split('/').filter((s) => s !== '').map(decodeSegment);
  if (segs[0] !== 'apis' || segs.length < 4) return undefined;
  const [, group, version, ...rest0] = segs;
  let rest = rest0;
  let watchPrefix = false;
  if (rest[0] === 'watch') { watchPrefix = true; rest = rest.slice(1); }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  const [resource, name = '', subresource = ''] = rest;
  return { group, version, namespace, resource, name, subresource, watchPrefix };
}

/**
 * The quoted text of a Warning header. Header values carry bytes: the text goes as UTF-8, as kube-apiserver's does,
 * each byte one latin1 character for Node (which refuses characters above U+00FF in headers, a 500 otherwise), and
 * control characters, which no header may carry, as spaces.
 */
function escapeWarning(text: string): string {
  const quoted = text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const printable = Array.from(quoted, (c) => ((c < ' ' && c !== '\t') || c === '\u007f' ? ' ' : c)).join('');
  return Buffer.from(printable, 'utf8').toString('latin1');
}

/** kube's warning recorder limits: all warnings while they total at most this many characters... */
const WARNINGS_TOTAL_CHARACTERS = 4 * 1024;
/** ...and beyond, each cut to this many, and no more once the total is reached. */
const WARNING_CHARACTERS_WHEN_TRUNCATING = 256;

/** The Warning header values of a response, deduplicated and truncated as kube-apiserver's (its filters/warning.go). */
function warningHeaders(warnings: string[]): string[] {
  const unique = Array.from(new Set(warnings.filter((w) => w !== '')), (w) => Array.from(w));
  const truncating = unique.reduce((total, w) => total + w.length, 0) > WARNINGS_TOTAL_CHARACTERS;
  const headers: string[] = [];
  let written = 0;
  for (const characters of unique) {
    if (truncating && written >= WARNINGS_TOTAL_CHARACTERS) break;
    const kept = truncating ? characters.slice(0, WARNING_CHARACTERS_WHEN_TRUNCATING) : characters;
    written += kept.length;
    headers.push(`299 - "${escapeWarning(kept.join(''))}"`);
  }
  return headers;
}

export interface ResourceHandlerDeps {
  resources: Map<string, ServedResource>;
  cache: WatchCache;
  metrics: ApiMetrics;
  currentRevision: () => Promise<number>;
  watchLimits: WatchLimits;
  watchersPerUser: WatchersPerUser;
}

export class ResourceHandler {
  constructor(private readonly deps: ResourceHandlerDeps) {}

  lookup(path: ResourcePath): ServedResource | undefined {
    return this.deps.resources.get(`${path.group}/${path.version}/${path.resource}`);
  }

  /** `json`, when given, is JSON.stringify(body), already made (a created object's, registry/encoded.ts). */
  private send(reply: FastifyReply, code: number, body: unknown, negotiated: Negotiated, warnings: string[] = [], json?: string): FastifyReply {
    if (warnings.length > 0) reply.header('warning', warningHeaders(warnings));
    const text = negotiated.format === 'yaml' ? toYaml(body) : json ?? JSON.stringify(body);
    // Node writes an HTTP/1.1 response's headers in the encoding of a string body (UTF-8), but as latin1 with a Buffer
    // body, as HTTP/2 always does: a Buffer keeps the warnings' UTF-8 bytes as they are on both protocols.
    return reply.code(code).type(negotiated.format === 'yaml' ? 'application/yaml' : 'application/json').send(warnings.length > 0 ? Buffer.from(text) : text);
  }

  private writeOptions(request: FastifyRequest, query: Query, kind: string): WriteOptions {
    const dryRunValues = all(query, 'dryRun');
    for (const v of dryRunValues) {
      if (v !== 'All') throw invalid({ group: '', kind }, '', [notSupported('dryRun', v, ['All'])]);
    }
    const fieldValidation = first(query, 'fieldValidation') ?? '';
    if (!['', 'Ignore', 'Warn', 'Strict'].includes(fieldValidation)) {
      throw badRequest(`fieldValidation must be one of "Ignore", "Warn" or "Strict", got "${fieldValidation}"`);
    }
    const explicit = first(query, 'fieldManager');
    if (explicit !== undefined && explicit.length > 128) {
      throw invalid({ group: '', kind }, '', [invalidIssue('fieldManager', explicit, 'must be no more than 128 characters')]);
    }
    const agent = String(request.headers['user-agent'] ?? '');
    const fromAgent = agent.split('/')[0].slice(0, 128) || 'unknown';
    return {
      dryRun: dryRunValues.length > 0,
      fieldManager: explicit && explicit !== '' ? explicit : fromAgent,
      fieldValidation: (fieldValidation === '' ? 'Warn' : fieldValidation) as FieldValidation,
      warnings: [],
    };
  }

  private listOptions(query: Query): ListOptions {
    const limit = parseInteger(first(query, 'limit'), 'limit') ?? 0;
    return {
      labelSelector: parseLabelSelector(first(query, 'labelSelector') ?? ''),
      fieldSelector: parseFieldSelector(first(query, 'fieldSelector') ?? ''),
      limit: limit > 0 ? limit : 0,
      continueToken: first(query, 'continue') || undefined,
      resourceVersion: first(query, 'resourceVersion'),
      resourceVersionMatch: first(query, 'resourceVersionMatch'),
    };
  }

  private includeObject(query: Query): IncludeObject {
    const v = first(query, 'includeObject') ?? 'Metadata';
    if (v !== 'None' && v !== 'Metadata' && v !== 'Object') throw badRequest(`includeObject must be one of None, Metadata, Object`);
    return v;
  }

  private renderList(served: ServedResource, result: ListResult, negotiated: Negotiated, query: Query): unknown {
    const meta: Record<string, string> = { resourceVersion: String(result.revision) };
    if (result.continueToken) meta.continue = result.continueToken;
    if (negotiated.shape === 'Table') return served.table.table(result.items, meta, this.includeObject(query));
    if (negotiated.shape === 'PartialObjectMetadata') {
      return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: meta, items: result.items.map(partialObjectMetadata) };
    }
    return { apiVersion: served.store.apiVersion, kind: served.store.definition.listKind, metadata: meta, items: result.items };
  }

  private renderObject(served: ServedResource, object: JsonObject, negotiated: Negotiated, query: Query): unknown {
    if (negotiated.shape === 'Table') {
      return served.table.table([object], { resourceVersion: String((object.metadata as { resourceVersion?: string }).resourceVersion ?? '') }, this.includeObject(query));
    }
    if (negotiated.shape === 'PartialObjectMetadata') return partialObjectMetadata(object);
    return object;
  }

  private body(request: FastifyRequest, forPatch: boolean): { kind: ReturnType<typeof bodyKind>; value: unknown; text: string } {
    const kind = bodyKind(request.headers['content-type'], forPatch);
    if (kind === 'strategic') throw unsupportedMediaType('application/strategic-merge-patch+json', PATCH_MEDIA_TYPES);
    const text = bodyText(request.body as Buffer | undefined);
    return { kind, value: decodeText(request.headers['content-type'], text), text };
  }

  /** Duplicate JSON keys: an error under fieldValidation=Strict, warnings under Warn (kube's strict decoder). */
  private checkDuplicates(request: FastifyRequest, options: WriteOptions | undefined, parsed: unknown, text: string): void {
    if (!options || options.fieldValidation === 'Ignore') return;
    const type = mediaType(request.headers['content-type']);
    if (type !== 'application/json' && type !== 'application/merge-patch+json') return;
    const duplicates = text !== '' ? findDuplicateFields(text, parsed) : [];
    if (duplicates.length === 0) return;
    const messages = duplicates.map((d) => `duplicate field ${JSON.stringify(d)}`);
    if (options.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${messages.join(', ')}`);
    options.warnings.push(...messages);
  }

  private objectBody(request: FastifyRequest, options?: WriteOptions): JsonObject {
    const { value, text } = this.body(request, false);
    this.checkDuplicates(request, options, value, text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw badRequest(`the body of the request must be a JSON or YAML object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    }
    return value as JsonObject;
  }

  /** Handles one request under /apis/<g>/<v>/...; `path` was already parsed and found. */
  async handle(request: FastifyRequest, reply: FastifyReply, path: ResourcePath, served: ServedResource): Promise<FastifyReply | void> {
    const store = served.store;
    const def = store.definition;
    const query = (request.query ?? {}) as Query;
    const method = request.method.toUpperCase();
    const describe = `${path.resource}${path.subresource ? `/${path.subresource}` : ''}`;

    if (path.namespace !== '' && !store.namespaced) throw notFoundPath(request.url);
    if (path.subresource !== '' && !((path.subresource === 'status' && def.subresources.status) || (path.subresource === 'scale' && def.subresources.scale))) {
      throw notFoundPath(request.url);
    }
    const collection = path.name === '';
    const allNamespaces = store.namespaced && path.namespace === '';
    const isWatch = path.watchPrefix || (method === 'GET' && parseBool(first(query, 'watch'), 'watch') === true);

    if (isWatch) {
      if (method !== 'GET') throw methodNotAllowed(method, describe);
      const negotiated = negotiate(request.headers.accept);
      const listOptions = this.listOptions(query);
      if (!collection) listOptions.fieldSelector.push({ field: 'metadata.name', equals: true, value: path.name });
      const include = this.includeObject(query);
      const labels = { verb: 'WATCH', group: def.group, version: def.version, resource: def.plural, scope: allNamespaces ? 'cluster' : store.namespaced ? 'namespace' : 'cluster' };
      const watchRequest = {
        namespace: path.namespace,
        labelSelector: listOptions.labelSelector,
        fieldSelector: listOptions.fieldSelector,
        resourceVersion: listOptions.resourceVersion ?? '',
        resourceVersionMatch: listOptions.resourceVersionMatch ?? '',
        sendInitialEvents: parseBool(first(query, 'sendInitialEvents'), 'sendInitialEvents'),
        allowWatchBookmarks: parseBool(first(query, 'allowWatchBookmarks'), 'allowWatchBookmarks') === true,
        timeoutSeconds: parseInteger(first(query, 'timeoutSeconds'), 'timeoutSeconds'),
        render: (object: JsonObject, isFirst: boolean): unknown => {
          if (negotiated.shape === 'Table') return served.table.table([object], { resourceVersion: String((object.metadata as { resourceVersion?: string }).resourceVersion ?? '') }, include, isFirst);
          if (negotiated.shape === 'PartialObjectMetadata') return partialObjectMetadata(object);
          return object;
        },
        encodingKey: negotiated.shape === 'Table' ? undefined : `${def.group}/${def.version}/${def.plural}:${negotiated.shape}`,
        currentRevision: this.deps.currentRevision,
        onOpen: () => { this.deps.metrics.longRunning.inc(labels); this.deps.metrics.registeredWatchers.inc({ group: def.group, kind: def.kind }); },
        onClose: () => { this.deps.metrics.longRunning.dec(labels); this.deps.metrics.registeredWatchers.dec({ group: def.group, kind: def.kind }); },
        limits: this.deps.watchLimits,
        onTerminated: () => this.deps.metrics.terminatedWatchers.inc({ group: def.group, resource: def.plural }),
      };
      const user = request.user?.name ?? '';
      const release = this.deps.watchersPerUser.tryAcquire(user);
      if (!release) throw tooManyRequests(`too many watches open by user ${JSON.stringify(user)}, please close some and try again later`, 1);
      // A client that leaves while its watch waits (cache sync, a resourceVersion not reached yet) gives its slot
      // back at once, not when the wait ends; a watch whose client is already gone is not started.
      // ('close' on both HTTP/1.1 and HTTP/2 responses; an HTTP/2 response has no `destroyed` to ask afterwards.)
      let clientGone = false;
      reply.raw.once('close', () => { clientGone = true; release(); });
      try {
        await prepareWatch(this.deps.cache, watchRequest);
        reply.hijack();
        if (clientGone) return;
        await serveWatch(reply.raw, this.deps.cache, store, watchRequest);
      } finally {
        release();
      }
      return;
    }

    if (path.subresource === 'scale') return this.handleScale(request, reply, path, served, query);

    if (collection) {
      if (method === 'GET' || method === 'HEAD') {
        const negotiated = negotiate(request.headers.accept);
        const result = await store.list(path.namespace, this.listOptions(query));
        return this.send(reply, 200, this.renderList(served, result, negotiated, query), negotiated);
      }
      if (allNamespaces) throw methodNotAllowed(method, describe);
      if (method === 'POST') {
        const negotiated = negotiate(request.headers.accept, ['Object', 'PartialObjectMetadata']);
        const options = this.writeOptions(request, query, def.kind);
        const answered: AnswerText = {};
        const created = await store.create(path.namespace, this.objectBody(request, options), options, answered);
        const rendered = this.renderObject(served, created, negotiated, query);
        return this.send(reply, 201, rendered, negotiated, options.warnings, rendered === created ? answered.json : undefined);
      }
      if (method === 'DELETE') {
        const negotiated = negotiate(request.headers.accept, ['Object', 'PartialObjectMetadata']);
        const deleteOptions = this.deleteOptions(request, query);
        const result = await store.deleteCollection(path.namespace, this.listOptions(query), deleteOptions);
        return this.send(reply, 200, this.renderList(served, result, negotiated, query), negotiated);
      }
      throw methodNotAllowed(method, describe);
    }

    const subresource = path.subresource as '' | 'status';
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const negotiated = negotiate(request.headers.accept);
        const object = await store.get(path.namespace, path.name);
        return this.send(reply, 200, this.renderObject(served, object, negotiated, query), negotiated);
      }
      case 'PUT': {
        const negotiated = negotiate(request.headers.accept, ['Object', 'PartialObjectMetadata']);
        const options = this.writeOptions(request, query, def.kind);
        const updated = await store.update(path.namespace, path.name, this.objectBody(request, options), subresource, options);
        return this.send(reply, 200, this.renderObject(served, updated, negotiated, query), negotiated, options.warnings);
      }
      case 'PATCH': {
        const negotiated = negotiate(request.headers.accept, ['Object', 'PartialObjectMetadata']);
        const options = this.writeOptions(request, query, def.kind);
        const { kind, value, text } = this.body(request, true);
        this.checkDuplicates(request, options, value, text);
        const force = parseBool(first(query, 'force'), 'force') === true;
        if (kind !== 'apply' && first(query, 'force') !== undefined) {
          throw invalid({ group: '', kind: 'PatchOptions' }, '', [{ field: 'force', type: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch' }]);
        }
        if (kind === 'apply' && (first(query, 'fieldManager') ?? '') === '') {
          throw invalid({ group: '', kind: 'PatchOptions' }, '', [{ field: 'fieldManager', type: 'FieldValueRequired', message: 'Required value: is required for apply patch' }]);
        }
        const patchType = kind === 'json-patch' ? 'json' : kind === 'merge-patch' ? 'merge' : 'apply';
        const outcome = { created: false };
        const patched = await store.patch(path.namespace, path.name, patchType, value, subresource, options, force, outcome);
        return this.send(reply, outcome.created ? 201 : 200, this.renderObject(served, patched, negotiated, query), negotiated, options.warnings);
      }
      case 'DELETE': {
        if (subresource) throw methodNotAllowed(method, describe);
        const negotiated = negotiate(request.headers.accept, ['Object', 'PartialObjectMetadata']);
        const deleteOptions = this.deleteOptions(request, query);
        const deleted = await store.delete(path.namespace, path.name, deleteOptions);
        const meta = deleted.metadata as { uid?: string; deletionTimestamp?: string; finalizers?: string[] };
        if (meta.deletionTimestamp && (meta.finalizers ?? []).length > 0) {
          // kube answers 202 for a deferred delete only when the client asked for cascading with orphanDependents=false.
          const code = deleteOptions.orphanDependents === false ? 202 : 200;
          return this.send(reply, code, this.renderObject(served, deleted, negotiated, query), negotiated);
        }
        if (negotiated.shape === 'Object') return this.send(reply, 200, deleted, negotiated);
        return this.send(reply, 200, successStatus({ name: path.name, group: def.group, kind: def.plural, uid: meta.uid }), negotiated);
      }
      default:
        throw methodNotAllowed(method, describe);
    }
  }

  /**
   * DeleteOptions from the body, or — without a body — from the query (kube's rule); dryRun from both. Wrong types
   * are 400s as kube's decoder gives them, wrong values 422s with the field (ValidateDeleteOptions).
   */
  private deleteOptions(request: FastifyRequest, query: Query): DeleteOptions {
    const dryRunQuery = all(query, 'dryRun');
    for (const v of dryRunQuery) if (v !== 'All') throw invalid(DELETE_OPTIONS_KIND, '', [notSupported('dryRun', v, ['All'])]);
    const raw = request.body as Buffer | undefined;
    let dryRun = dryRunQuery.length > 0;
    let preconditions: { uid?: string; resourceVersion?: string } | undefined;
    let decoded: { propagationPolicy?: unknown; orphanDependents?: unknown; gracePeriodSeconds?: unknown };
    if (raw && raw.length > 0 && raw.toString('utf8').trim() !== '') {
      const ct = request.headers['content-type'] ?? 'application/json';
      bodyKind(ct, false);
      const body = decodeBody(ct, raw);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('DeleteOptions must be an object');
      const opts = body as Record<string, unknown>;
      if (opts.dryRun !== undefined) {
        if (!Array.isArray(opts.dryRun) || opts.dryRun.some((v) => v !== 'All')) throw invalid(DELETE_OPTIONS_KIND, '', [notSupported('dryRun', opts.dryRun, ['All'])]);
        dryRun = dryRun || opts.dryRun.length > 0;
      }
      const pre = opts.preconditions;
      if (pre !== undefined && pre !== null) {
        if (typeof pre !== 'object' || Array.isArray(pre)) throw badRequest('preconditions must be an object');
        const p = pre as Record<string, unknown>;
        preconditions = {
          ...(typeof p.uid === 'string' ? { uid: p.uid } : {}),
          ...(typeof p.resourceVersion === 'string' ? { resourceVersion: p.resourceVersion } : {}),
        };
      }
      decoded = {
        propagationPolicy: bodyField(opts, 'propagationPolicy', 'string', 'DeletionPropagation'),
        orphanDependents: bodyField(opts, 'orphanDependents', 'boolean', 'bool'),
        gracePeriodSeconds: bodyField(opts, 'gracePeriodSeconds', 'number', 'int64'),
      };
      if (typeof decoded.gracePeriodSeconds === 'number' && !Number.isInteger(decoded.gracePeriodSeconds)) {
        throw badRequest(`json: cannot unmarshal number ${decoded.gracePeriodSeconds} into Go struct field DeleteOptions.gracePeriodSeconds of type int64`);
      }
    } else {
      decoded = {
        propagationPolicy: first(query, 'propagationPolicy') || undefined,
        orphanDependents: parseBool(first(query, 'orphanDependents') || undefined, 'orphanDependents'),
        gracePeriodSeconds: parseInteger(first(query, 'gracePeriodSeconds'), 'gracePeriodSeconds'),
      };
    }
    const issues = validateDeleteOptions(decoded);
    if (issues.length > 0) throw invalid(DELETE_OPTIONS_KIND, '', issues);
    return {
      dryRun,
      ...(preconditions ? { preconditions } : {}),
      ...(decoded.propagationPolicy !== undefined ? { propagationPolicy: decoded.propagationPolicy as PropagationPolicy } : {}),
      ...(decoded.orphanDependents !== undefined ? { orphanDependents: decoded.orphanDependents as boolean } : {}),
      ...(decoded.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: decoded.gracePeriodSeconds as number } : {}),
    };
  }

  private async handleScale(request: FastifyRequest, reply: FastifyReply, path: ResourcePath, served: ServedResource, query: Query): Promise<FastifyReply> {
    const store = served.store;
    const method = request.method.toUpperCase();
    const negotiated = negotiate(request.headers.accept, ['Object']);
    if (path.name === '') throw methodNotAllowed(method, `${path.resource}/scale`);
    if (method === 'GET' || method === 'HEAD') return this.send(reply, 200, await store.scale.get(path.namespace, path.name), negotiated);
    if (method === 'PUT') {
      const options = this.writeOptions(request, query, 'Scale');
      const wanted = this.objectBody(request);
      const scale = await store.scale.update(path.namespace, path.name, () => wanted, options);
      return this.send(reply, 200, scale, negotiated, options.warnings);
    }
    if (method === 'PATCH') {
      const options = this.writeOptions(request, query, 'Scale');
      const { kind, value } = this.body(request, true);
      const scale = await store.scale.update(path.namespace, path.name, (current) => {
        if (kind === 'json-patch') return applyJsonPatch(current, value);
        if (kind === 'merge-patch') return applyMergePatch(current, value);
        // An apply configuration of a Scale: its spec.replicas wins.
        return applyMergePatch(current, value);
      }, options);
      return this.send(reply, 200, scale, negotiated, options.warnings);
    }
    throw methodNotAllowed(method, `${path.resource}/scale`);
  }
}
