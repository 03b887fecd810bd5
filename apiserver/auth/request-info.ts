// Turns an HTTP request line into what it asks to do, in Kubernetes' terms: the same rules as
// k8s.io/apiserver's RequestInfoFactory, so RBAC rules, audit events and metrics written for Kubernetes mean the same
// thing here. Pure: no I/O, no fastify types (the core also uses it for metrics labels).
import type { RequestInfo } from './types';

const API_PREFIXES = new Set(['api', 'apis']);
/** `/api/v1/...` has no group segment. */
const GROUPLESS_API_PREFIXES = new Set(['api']);
/** `/apis/g/v/watch/...` and `/apis/g/v/proxy/...` carry their verb in the path. */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** For proxy the part after the name is the proxied path, not a subresource. */
const SPECIAL_VERBS_WITHOUT_SUBRESOURCES = new Set(['proxy']);
/** `/api/v1/namespaces/x/status` is the namespace's own subresource, not a resource called "status". */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const VERB_BY_METHOD: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Verbs that only read; everything else counts as mutating (in-flight limits, like kube-apiserver). */
export const READ_ONLY_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch', 'head']);

/** Requests that stay open for long (watches, proxies): not counted by in-flight limits. */
export function isLongRunning(info: RequestInfo): boolean {
  return info.isResourceRequest && (info.verb === 'watch' || info.verb === 'proxy');
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

function safeDecode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Kubernetes' query bool: absent, "", "0" and "false" are false, anything else true. */
function queryBool(values: string[]): boolean {
  if (values.length === 0) return false;
  const first = values[0];
  return !(first === '' || first === '0' || first.toLowerCase() === 'false');
}

/** The name a field selector pins exactly (`metadata.name=x` or `metadata.name==x`), if it does. */
function exactNameFromFieldSelector(selector: string | undefined): string | undefined {
  if (!selector) return undefined;
  for (const term of selector.split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (match && !term.includes('!=')) return match[1];
  }
  return undefined;
}

/** A name usable as one path segment (k8s path.IsValidPathSegmentName). */
function isValidPathSegmentName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/**
 * Parses `method` + `url` (path and query, as on the request line) into a RequestInfo.
 * Never throws: anything it cannot place is a non-resource request on that path.
 */
export function parseRequestInfo(method: string, url: string): RequestInfo {
  const queryStart = url.indexOf('?');
  const rawPath = queryStart >= 0 ? url.slice(0, queryStart) : url;
  const query = new URLSearchParams(queryStart >= 0 ? url.slice(queryStart + 1) : '');
  const path = rawPath === '' ? '/' : rawPath;
  const upperMethod = method.toUpperCase();

  const nonResource: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };

  let parts = splitPath(path).map(safeDecode);
  if (parts.length < 3 || !API_PREFIXES.has(parts[0])) return nonResource;
  const prefix = parts[0];
  parts = parts.slice(1);

  let apiGroup = '';
  if (!GROUPLESS_API_PREFIXES.has(prefix)) {
    // /apis/<group>/<version> alone is discovery, a non-resource request.
    if (parts.length < 3) return nonResource;
    apiGroup = parts[0];
    parts = parts.slice(1);
  }
  const apiVersion = parts[0];
  parts = parts.slice(1);

  let verb: string;
  if (SPECIAL_VERBS.has(parts[0])) {
    // "/apis/g/v/watch" with nothing after it names no resource: kube answers an error; we call it non-resource.
    if (parts.length < 2) return nonResource;
    verb = parts[0];
    parts = parts.slice(1);
  } else {
    verb = VERB_BY_METHOD[upperMethod] ?? '';
  }

  let namespace = '';
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1];
      // /namespaces/<ns>/<resource>/... : the resource is what follows; /namespaces/<ns>/status is the namespace's.
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
    }
  }

  let resource = '';
  let name = '';
  let subresource = '';
  if (parts.length >= 3 && !SPECIAL_VERBS_WITHOUT_SUBRESOURCES.has(verb)) subresource = parts[2];
  if (parts.length >= 2) name = parts[1];
  if (parts.length >= 1) resource = parts[0];

  // A GET without a name is a list, or a watch when ?watch says so; a field selector on metadata.name narrows it to
  // that name (kubectl wait and delete --wait rely on RBAC seeing the name).
  if (name === '' && verb === 'get') {
    verb = queryBool(query.getAll('watch')) ? 'watch' : 'list';
    const pinned = exactNameFromFieldSelector(query.get('fieldSelector') ?? undefined);
    if (pinned !== undefined && isValidPathSegmentName(pinned)) name = pinned;
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';

  return { isResourceRequest: true, path, verb, apiGroup, apiVersion, namespace, resource, subresource, name };
}
