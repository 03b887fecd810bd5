// The subset of Kubernetes JSONPath used by additionalPrinterColumns: `.a.b`, `.a[0]`, `.a[*].b`, `['key.with.dots']`,
// and filters `[?(@.type=="Ready")]` (==, !=, <, >, <=, >=, and bare `@.x` existence).

type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: string[]; op?: string; literal?: unknown };

export interface CompiledPath {
  segments: Segment[];
}

function parseLiteral(text: string): unknown {
  const t = text.trim();
  if (/^(".*"|'.*')$/.test(t)) return t.slice(1, -1);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return t;
}

/** Compiles a column path; throws on syntax it does not understand. */
export function compileJsonPath(path: string): CompiledPath {
  let text = path.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1);
  if (text.startsWith('$')) text = text.slice(1);
  const segments: Segment[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      i++;
      const start = i;
      while (i < text.length && text[i] !== '.' && text[i] !== '[') i++;
      const name = text.slice(start, i);
      if (name === '*') segments.push({ kind: 'wildcard' });
      else if (name !== '') segments.push({ kind: 'field', name });
    } else if (ch === '[') {
      const close = findClose(text, i);
      const inner = text.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === '*') segments.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) segments.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) segments.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) segments.push(parseFilter(inner.slice(2, -1)));
      else throw new Error(`unsupported JSONPath segment [${inner}]`);
    } else {
      const start = i;
      while (i < text.length && text[i] !== '.' && text[i] !== '[') i++;
      segments.push({ kind: 'field', name: text.slice(start, i) });
    }
  }
  return { segments };
}

function findClose(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === quote) quote = undefined; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']') { depth--; if (depth === 0) return i; }
  }
  throw new Error(`unterminated [ in ${text}`);
}

function parseFilter(expr: string): Segment {
  const m = /^\s*@((?:\.[A-Za-z0-9_-]+)*)\s*(==|!=|<=|>=|<|>)?\s*(.*)$/.exec(expr);
  if (!m) throw new Error(`unsupported filter ${expr}`);
  const path = m[1].split('.').filter((s) => s !== '');
  if (!m[2]) return { kind: 'filter', path };
  return { kind: 'filter', path, op: m[2], literal: parseLiteral(m[3]) };
}

function childOf(value: unknown, name: string): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return (value as Record<string, unknown>)[name];
  return undefined;
}

function compare(a: unknown, op: string, b: unknown): boolean {
  switch (op) {
    case '==': return a === b || (typeof a === 'number' && String(a) === String(b));
    case '!=': return a !== b;
    case '<': return typeof a === 'number' && typeof b === 'number' && a < b;
    case '>': return typeof a === 'number' && typeof b === 'number' && a > b;
    case '<=': return typeof a === 'number' && typeof b === 'number' && a <= b;
    case '>=': return typeof a === 'number' && typeof b === 'number' && a >= b;
    default: return false;
  }
}

/** Every value the path selects, in document order. */
export function evaluateJsonPath(compiled: CompiledPath, root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const seg of compiled.segments) {
    const next: unknown[] = [];
    for (const value of current) {
      switch (seg.kind) {
        case 'field': {
          const child = childOf(value, seg.name);
          if (child !== undefined) next.push(child);
          break;
        }
        case 'index':
          if (Array.isArray(value)) {
            const idx = seg.index < 0 ? value.length + seg.index : seg.index;
            if (idx >= 0 && idx < value.length) next.push(value[idx]);
          }
          break;
        case 'wildcard':
          if (Array.isArray(value)) next.push(...value);
          else if (value !== null && typeof value === 'object') next.push(...Object.values(value));
          break;
        case 'filter':
          if (Array.isArray(value)) {
            for (const item of value) {
              let v: unknown = item;
              for (const p of seg.path) v = childOf(v, p);
              if (seg.op === undefined ? v !== undefined : compare(v, seg.op, seg.literal)) next.push(item);
            }
          }
          break;
      }
    }
    current = next;
  }
  return current;
}
