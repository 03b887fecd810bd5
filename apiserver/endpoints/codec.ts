// Content negotiation (Accept → JSON/YAML, Table, PartialObjectMetadata) and request body decoding (JSON, YAML,
// patch types), with the limits that keep hostile bodies from hurting the server.
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { badRequest, notAcceptable, unsupportedMediaType } from '../errors';

export interface MediaRange {
  type: string;
  params: Record<string, string>;
  q: number;
}

export type Shape = 'Object' | 'Table' | 'PartialObjectMetadata';

export interface Negotiated {
  format: 'json' | 'yaml';
  shape: Shape;
}

/** Deepest nesting accepted in a body (kube's JSON decoder also bounds it; real manifests stay far below). */
export const MAX_BODY_DEPTH = 100;

export const OBJECT_MEDIA_TYPES = ['application/json', 'application/yaml'];
export const PATCH_MEDIA_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
const PRODUCED = ['application/json', 'application/yaml', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io'];

export function parseMediaRanges(header: string | undefined): MediaRange[] {
  if (!header || header.trim() === '') return [{ type: '*/*', params: {}, q: 1 }];
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [typePart, ...paramParts] = part.split(';');
    const type = typePart.trim().toLowerCase();
    if (type === '') continue;
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim().toLowerCase();
      const v = p.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (k === 'q') q = Number(v); else params[k] = v;
    }
    if (!Number.isNaN(q) && q > 0) ranges.push({ type, params, q });
  }
  // Stable sort by quality, highest first.
  return ranges.map((r, i) => ({ r, i })).sort((a, b) => b.r.q - a.r.q || a.i - b.i).map((x) => x.r);
}

/** Picks the response form; throws 406 when nothing acceptable is offered. */
export function negotiate(acceptHeader: string | undefined, allowedShapes: Shape[] = ['Object', 'Table', 'PartialObjectMetadata']): Negotiated {
  for (const range of parseMediaRanges(acceptHeader)) {
    const json = range.type === 'application/json' || range.type === '*/*' || range.type === 'application/*';
    const yaml = range.type === 'application/yaml';
    if (!json && !yaml) continue;
    const as = range.params.as;
    if (as === undefined) return { format: yaml ? 'yaml' : 'json', shape: 'Object' };
    if (range.params.g !== 'meta.k8s.io' || (range.params.v !== 'v1' && range.params.v !== 'v1beta1')) continue;
    if (as === 'Table' && allowedShapes.includes('Table')) return { format: 'json', shape: 'Table' };
    if ((as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && allowedShapes.includes('PartialObjectMetadata')) {
      return { format: 'json', shape: 'PartialObjectMetadata' };
    }
  }
  throw notAcceptable(PRODUCED);
}

/** The bare media type of a Content-Type header. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * metadata.managedFields[].fieldsV1 mirrors the object's own fields five levels further down (metadata,
 * managedFields, the entry, fieldsV1, and an empty object for each leaf), so it is given those five levels on top:
 * an object as deep as allowed can be sent back as it was read (GET, then PUT).
 */
const MANAGED_FIELDS_HEADROOM = 5;

/** Throws 400 when a value nests deeper than MAX_BODY_DEPTH (checked without recursion). */
export function assertDepth(value: unknown): void {
  const metadata = value !== null && typeof value === 'object' ? (value as { metadata?: unknown }).metadata : undefined;
  const managedFields = metadata !== null && typeof metadata === 'object' ? (metadata as { managedFields?: unknown }).managedFields : undefined;
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 1 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop() as { v: unknown; d: number };
    if (v === null || typeof v !== 'object') continue;
    if (d > MAX_BODY_DEPTH) throw badRequest(`the request body is nested too deeply (more than ${MAX_BODY_DEPTH} levels)`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push({ v: child, d: child === managedFields ? d + 1 - MANAGED_FIELDS_HEADROOM : d + 1 });
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseYamlDocument(text: string): unknown {
  try {
    const docs = parseAllDocuments(text, { uniqueKeys: false });
    const list = Array.isArray(docs) ? docs : [docs];
    if (list.length > 1) throw new Error('expected a single YAML document');
    const doc = list[0];
    if (!doc) return null;
    if (doc.errors.length > 0) throw new Error(doc.errors[0].message);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    // Through JSON once: YAML-only values (binary, sets, dates) become plain JSON or are rejected.
    return JSON.parse(JSON.stringify(value ?? null)) as unknown;
  } catch (err) {
    const message = err instanceof RangeError ? 'document is nested too deeply' : err instanceof Error ? err.message : String(err);
    throw badRequest(`error decoding request body: invalid YAML: ${message.split('\n')[0]}`);
  }
}

export type BodyKind = 'object' | 'json-patch' | 'merge-patch' | 'apply' | 'strategic';

/** Which kind of body a request carries; 415 for anything else. */
export function bodyKind(contentType: string | undefined, forPatch: boolean): BodyKind {
  const type = mediaType(contentType);
  if (forPatch) {
    switch (type) {
      case 'application/json-patch+json': return 'json-patch';
      case 'application/merge-patch+json': return 'merge-patch';
      case 'application/apply-patch+yaml': return 'apply';
      case 'application/strategic-merge-patch+json': return 'strategic';
      default: throw unsupportedMediaType(type, PATCH_MEDIA_TYPES);
    }
  }
  if (type === 'application/json' || type === 'application/yaml') return 'object';
  throw unsupportedMediaType(type, OBJECT_MEDIA_TYPES);
}

/** Decodes a request body of the given content type into JSON values. */
export function decodeBody(contentType: string | undefined, body: Buffer | undefined): unknown {
  return decodeText(contentType, bodyText(body));
}

/** A request body as text (UTF-8). */
export function bodyText(body: Buffer | undefined): string {
  return body && body.length > 0 ? body.toString('utf8') : '';
}

/** decodeBody, of a body already made text (bodyText). */
export function decodeText(contentType: string | undefined, text: string): unknown {
  if (text.trim() === '') throw badRequest('the request body is empty');
  const type = mediaType(contentType);
  const value = type === 'application/yaml' || type === 'application/apply-patch+yaml' ? parseYamlDocument(text) : parseJson(text);
  assertDepth(value);
  return value;
}

/** parseYaml re-exported for tests that build bodies. */
export { parseYaml };

/** Object keys in a parsed JSON value (duplicates in the text collapsed into one). */
function countParsedKeys(value: unknown): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const child of v) stack.push(child);
    } else {
      const children = Object.values(v);
      count += children.length;
      for (const child of children) stack.push(child);
    }
  }
  return count;
}

/** Object keys written in a valid JSON text: the strings followed by a colon. */
function countKeyTokens(text: string): number {
  let count = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    // Find the closing quote: one not preceded by an odd number of backslashes.
    let end = text.indexOf('"', i + 1);
    for (;;) {
      let backslashes = 0;
      while (text.charCodeAt(end - 1 - backslashes) === 92) backslashes++;
      if (backslashes % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    let next = end + 1;
    while (next < text.length && (text[next] === ' ' || text[next] === '\n' || text[next] === '\r' || text[next] === '\t')) next++;
    if (text[next] === ':') count++;
    i = text.indexOf('"', next);
  }
  return count;
}

/**
 * Paths of object keys that appear twice in one JSON object (`spec.replicas`, `spec.inputs[0].name`), for
 * fieldValidation Strict/Warn like kube's strict decoder. `text` must be valid JSON (checked by JSON.parse first);
 * `parsed`, its parsed value, lets a text without duplicates be answered without building any path.
 */
export function findDuplicateFields(text: string, parsed?: unknown): string[] {
  // The common case, no duplicates, is proven by counting: every key written survives parsing unless repeated.
  if (parsed !== undefined && countKeyTokens(text) === countParsedKeys(parsed)) return [];
  interface Frame { kind: 'object' | 'array'; path: string; keys: Set<string>; index: number; key?: string }
  const stack: Frame[] = [];
  const duplicates: string[] = [];
  const childPath = (frame: Frame | undefined): string => {
    if (!frame) return '';
    if (frame.kind === 'array') return `${frame.path}[${frame.index}]`;
    return frame.path ? `${frame.path}.${frame.key ?? ''}` : frame.key ?? '';
  };
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.kind === 'object' && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) duplicates.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      stack.push({ kind: c === '{' ? 'object' : 'array', path: childPath(stack[stack.length - 1]), keys: new Set(), index: 0 });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.index++;
      else expectKey = true;
    }
  }
  return duplicates;
}
