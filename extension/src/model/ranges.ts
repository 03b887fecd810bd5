// Maps between Kubernetes field paths (as the API server reports them) and YAML source ranges, both ways.
import { Document, isMap, isScalar, isSeq, Node, Scalar } from 'yaml';
import { isNode, keyText, locatePath, OffsetRange, parseFieldPath, PathSegment } from './yaml-documents';

/**
 * The source range the API server's complaint about `fieldPath` refers to. With `valueOffset` (a character index in
 * the string value, as expression parsers report it) the range is that one character of the scalar's source, so
 * `srp.window: 5x` underlines exactly the `x`. When the path does not exist (a missing required field) the range is
 * the key of the deepest existing parent, or the document's first line.
 */
export function rangeOfFieldPath(
  text: string,
  doc: Document.Parsed,
  fieldPath: string,
  valueOffset?: number,
): OffsetRange {
  const segments = parseFieldPath(fieldPath);
  const located = locatePath(doc, segments);
  if (located.depth === segments.length && located.node) {
    const node = located.node;
    if (valueOffset !== undefined && isScalar(node) && typeof node.value === 'string' && node.range) {
      const at = scalarSourceOffset(text, node, valueOffset);
      if (at !== undefined) {
        // An error at the end of the value (e.g. "missing unit") points at its last character.
        const scalarEnd = trimmedNodeRange(text, node).end;
        const start = at >= scalarEnd ? Math.max(scalarEnd - 1, node.range[0]) : at;
        return { start, end: start + 1 };
      }
    }
    return trimmedNodeRange(text, node);
  }
  // The deepest existing key along the path.
  const parent = locatePath(doc, segments.slice(0, located.depth));
  const lastKey = lastKeyAlong(doc, segments.slice(0, located.depth));
  if (lastKey?.range) return { start: lastKey.range[0], end: lastKey.range[1] };
  if (parent.node?.range && located.depth > 0) return trimmedNodeRange(text, parent.node);
  return firstLine(text, doc);
}

function lastKeyAlong(doc: Document.Parsed, segments: PathSegment[]): Scalar | null {
  for (let n = segments.length; n > 0; n--) {
    const found = locatePath(doc, segments.slice(0, n));
    if (found.keyNode) return found.keyNode;
  }
  return null;
}

function firstLine(text: string, doc: Document.Parsed): OffsetRange {
  const start = doc.contents?.range?.[0] ?? doc.range[0];
  const newline = text.indexOf('\n', start);
  return { start, end: newline < 0 ? text.length : newline };
}

/** A node's range without the trailing newline/comment the parser includes for block collections. */
export function trimmedNodeRange(text: string, node: Node): OffsetRange {
  const [start, valueEnd] = node.range ?? [0, 0];
  let end = valueEnd;
  while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
  return { start, end: Math.max(end, start + 1) };
}

/**
 * Source offset of the character with index `valueIndex` in a scalar's parsed value. Aligns value and source
 * greedily: quotes, escapes, block-scalar headers and folded indentation exist only in the source.
 */
export function scalarSourceOffset(text: string, node: Scalar, valueIndex: number): number | undefined {
  const value = typeof node.value === 'string' ? node.value : undefined;
  if (value === undefined || !node.range) return undefined;
  const [start, end] = node.range;
  let source = start;
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    const headerEnd = text.indexOf('\n', start);
    if (headerEnd < 0 || headerEnd >= end) return undefined;
    source = headerEnd + 1;
  } else if (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) {
    source = start + 1;
  }
  const target = Math.min(Math.max(valueIndex, 0), value.length);
  let index = 0;
  while (source < end && index < target) {
    const s = text[source];
    const v = value[index];
    if (s === v) {
      source++;
      index++;
    } else if (s === '\\' || s === "'" || /\s/.test(s ?? '')) {
      source++; // escape, doubled single quote, indentation or folded line break
    } else if (/\s/.test(v ?? '')) {
      index++; // a value whitespace produced by an escape (\n, \t) already consumed
    } else {
      source++;
      index++;
    }
  }
  // Land on the character itself, past any indentation in front of it.
  while (source < end && /[ \t]/.test(text[source] ?? '') && !/[ \t]/.test(value[index] ?? '')) source++;
  return Math.min(source, end);
}

export interface PathAtOffset {
  path: PathSegment[];
  /** True when the offset is on a map key (hover explains the field), false when on a value. */
  onKey: boolean;
  node: Node | null;
}

/** The field path of the AST node under `offset` (for hover, definition and references). */
export function pathAtOffset(doc: Document.Parsed, offset: number): PathAtOffset | undefined {
  const root: unknown = doc.contents;
  if (!isNode(root)) return undefined;
  return descend(root, offset, []);
}

function descend(node: Node, offset: number, path: PathSegment[]): PathAtOffset | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key: unknown = pair.key;
      const name = keyText(pair);
      if (name === undefined) continue;
      if (isScalar(key) && key.range && offset >= key.range[0] && offset <= key.range[1]) {
        return { path: [...path, name], onKey: true, node: key };
      }
      const value: unknown = pair.value;
      if (isNode(value) && value.range && offset >= value.range[0] && offset <= value.range[1]) {
        return descend(value, offset, [...path, name]) ?? { path: [...path, name], onKey: false, node: value };
      }
    }
    return undefined;
  }
  if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const item: unknown = node.items[i];
      if (isNode(item) && item.range && offset >= item.range[0] && offset <= item.range[1]) {
        return descend(item, offset, [...path, i]) ?? { path: [...path, i], onKey: false, node: item };
      }
    }
    return undefined;
  }
  if (isScalar(node)) return { path, onKey: false, node };
  return undefined;
}
