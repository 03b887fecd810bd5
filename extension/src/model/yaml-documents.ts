// Parses a YAML file into its documents and keeps, for each, the AST needed to map Kubernetes field paths back to
// source ranges. Everything the editor knows about a file starts here; parsing never throws.
import { Document, LineCounter, parseAllDocuments, isMap, isScalar, isSeq, Node, Pair, Scalar, YAMLMap } from 'yaml';
import { GROUP } from '../../../crds/types';

export type OurKind = 'ClusterStream' | 'Stream' | 'Processor';
export const OUR_KINDS: readonly OurKind[] = ['ClusterStream', 'Stream', 'Processor'];

/** Half-open character range [start, end) in the file's text. */
export interface OffsetRange {
  start: number;
  end: number;
}

export interface ParsedDocument {
  /** Index of the document in the file (0-based). */
  index: number;
  doc: Document.Parsed;
  /** The plain JavaScript value of the document (undefined when it is empty or unparseable). */
  value: unknown;
  /** Range of the whole document (from its first token to its end). */
  range: OffsetRange;
  /** Set when the document is one of ours: apiVersion in our group and a known kind. */
  kind?: OurKind;
  apiVersion?: string;
  name?: string;
  namespace?: string;
}

export interface ParsedFile {
  text: string;
  lineCounter: LineCounter;
  documents: ParsedDocument[];
}

export function parseYamlFile(text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, keepSourceTokens: true, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  const documents = list.map((doc, index) => describeDocument(doc, index, text.length));
  return { text, lineCounter, documents };
}

function describeDocument(doc: Document.Parsed, index: number, textLength: number): ParsedDocument {
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch {
    value = undefined;
  }
  const [start, , end] = doc.range ?? [0, textLength, textLength];
  const parsed: ParsedDocument = { index, doc, value, range: { start, end } };
  if (isPlainObject(value)) {
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : undefined;
    const kind = typeof value.kind === 'string' ? value.kind : undefined;
    parsed.apiVersion = apiVersion;
    if (kind && (OUR_KINDS as readonly string[]).includes(kind) && isOurApiVersion(apiVersion)) {
      parsed.kind = kind as OurKind;
    }
    const metadata = value.metadata;
    if (isPlainObject(metadata)) {
      if (typeof metadata.name === 'string') parsed.name = metadata.name;
      if (typeof metadata.namespace === 'string') parsed.namespace = metadata.namespace;
    }
  }
  return parsed;
}

/** A document is ours when its apiVersion is in our group, or when it has none yet but one of our kinds (typing). */
export function isOurApiVersion(apiVersion: string | undefined): boolean {
  return apiVersion === undefined || apiVersion.split('/')[0] === GROUP;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type PathSegment = string | number;

/**
 * Splits a Kubernetes field path into segments: `spec.inputs[0].name` → ['spec','inputs',0,'name'],
 * `spec.attributes[srp.window]` → ['spec','attributes','srp.window'] (map keys may contain dots inside brackets).
 */
export function parseFieldPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  let current = '';
  const flush = (): void => {
    if (current !== '') segments.push(current);
    current = '';
  };
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      flush();
      i++;
    } else if (ch === '[') {
      flush();
      const close = path.indexOf(']', i + 1);
      const inner = close < 0 ? path.slice(i + 1) : path.slice(i + 1, close);
      const unquoted = inner.replace(/^["']|["']$/g, '');
      segments.push(/^\d+$/.test(unquoted) ? Number(unquoted) : unquoted);
      i = close < 0 ? path.length : close + 1;
    } else {
      current += ch;
      i++;
    }
  }
  flush();
  return segments;
}

export interface LocatedNode {
  /** The deepest node reached along the path (the value node, or the parent when the path stops early). */
  node: Node | null;
  /** The key node of the last segment when the last segment is a map key that exists. */
  keyNode: Scalar | null;
  /** How many segments were resolved. */
  depth: number;
}

/** Walks the document's AST along the segments as far as the nodes exist. */
export function locatePath(doc: Document.Parsed, segments: PathSegment[]): LocatedNode {
  let node: Node | null = isNode(doc.contents) ? doc.contents : null;
  let keyNode: Scalar | null = null;
  let depth = 0;
  for (const segment of segments) {
    if (node === null) break;
    if (isMap(node) && typeof segment === 'string') {
      const pair = findPair(node, segment);
      if (!pair) break;
      keyNode = isScalar(pair.key) ? pair.key : null;
      const next: unknown = pair.value;
      if (!isNode(next)) {
        // `key:` with no value: the key is the best place to point at.
        node = null;
        depth++;
        return { node: keyNode, keyNode, depth };
      }
      node = next;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (!isNode(item)) break;
      keyNode = null;
      node = item;
    } else {
      break;
    }
    depth++;
  }
  return { node, keyNode: depth === segments.length ? keyNode : null, depth };
}

export function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((pair) => keyText(pair) === key);
}

export function keyText(pair: Pair): string | undefined {
  const key: unknown = pair.key;
  if (isScalar(key)) return key.value === null || key.value === undefined ? undefined : String(key.value);
  return undefined;
}

export function isNode(value: unknown): value is Node {
  return isMap(value) || isSeq(value) || isScalar(value) || (typeof value === 'object' && value !== null && 'range' in value);
}

export function nodeRange(node: Node): OffsetRange | undefined {
  const range = node.range;
  if (!range) return undefined;
  return { start: range[0], end: range[1] };
}
