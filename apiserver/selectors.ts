// Label selectors (the full k8s.io/apimachinery/pkg/labels grammar) and the field selectors custom resources
// support (metadata.name, metadata.namespace). Neutral ground, like apimachinery's labels/fields packages: the
// endpoints parse selectors from requests, the registry and the watch match stored objects against them.
import { badRequest } from './errors';

export type LabelRequirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type Labels = Record<string, string> | undefined;

const KEY_PATTERN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE_PATTERN = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

class Lexer {
  private pos = 0;
  constructor(private readonly text: string) {}

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  peek(): string | undefined {
    this.skipSpace();
    return this.pos < this.text.length ? this.text[this.pos] : undefined;
  }

  atEnd(): boolean {
    return this.peek() === undefined;
  }

  /** An operator token if one starts here. */
  operator(): string | undefined {
    this.skipSpace();
    for (const op of ['==', '!=', '=', '>', '<']) {
      if (this.text.startsWith(op, this.pos)) { this.pos += op.length; return op; }
    }
    const rest = this.text.slice(this.pos);
    const word = /^(notin|in)(?=[\s(])/.exec(rest);
    if (word) { this.pos += word[1].length; return word[1]; }
    return undefined;
  }

  expect(ch: string): void {
    if (this.peek() !== ch) throw new Error(`expected '${ch}' at position ${this.pos}`);
    this.pos++;
  }

  /** An identifier/value: everything up to a delimiter. */
  word(): string {
    this.skipSpace();
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s,()=!<>]/.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

function checkKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.length > 316) throw new Error(`invalid label key "${key}"`);
}

function checkValue(value: string): void {
  if (!VALUE_PATTERN.test(value)) throw new Error(`invalid label value: "${value}"`);
}

/** Parses a label selector; throws 400 BadRequest on syntax errors. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  try {
    return parseRequirements(text);
  } catch (err) {
    throw badRequest(`unable to parse requirement: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseRequirements(text: string): LabelRequirement[] {
  const lex = new Lexer(text);
  const result: LabelRequirement[] = [];
  if (lex.atEnd()) return result;
  for (;;) {
    let negated = false;
    if (lex.peek() === '!') { lex.expect('!'); negated = true; }
    const key = lex.word();
    checkKey(key);
    if (negated) {
      result.push({ key, op: 'notexists' });
    } else {
      const next = lex.peek();
      if (next === undefined || next === ',') {
        result.push({ key, op: 'exists' });
      } else {
        const op = lex.operator();
        if (!op) throw new Error(`found '${next}', expected: in, notin, =, ==, !=, gt, lt`);
        if (op === 'in' || op === 'notin') {
          lex.expect('(');
          const values: string[] = [];
          if (lex.peek() !== ')') {
            for (;;) {
              const v = lex.word();
              checkValue(v);
              values.push(v);
              if (lex.peek() === ',') { lex.expect(','); continue; }
              break;
            }
          }
          lex.expect(')');
          result.push({ key, op, values });
        } else if (op === '>' || op === '<') {
          const v = lex.word();
          if (!/^-?\d+$/.test(v)) throw new Error(`for 'Gt', 'Lt' operators, the value must be an integer`);
          result.push({ key, op: op === '>' ? 'gt' : 'lt', value: Number(v) });
        } else {
          const v = lex.word();
          checkValue(v);
          result.push({ key, op: op === '!=' ? 'notin' : 'in', values: [v] });
        }
      }
    }
    if (lex.atEnd()) break;
    lex.expect(',');
  }
  return result;
}

export function matchesLabels(requirements: LabelRequirement[], labels: Labels): boolean {
  const l = labels ?? {};
  for (const r of requirements) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists': if (!has) return false; break;
      case 'notexists': if (has) return false; break;
      case 'in': if (!has || !r.values.includes(l[r.key])) return false; break;
      case 'notin': if (has && r.values.includes(l[r.key])) return false; break;
      case 'gt': if (!has || !/^-?\d+$/.test(l[r.key]) || !(Number(l[r.key]) > r.value)) return false; break;
      case 'lt': if (!has || !/^-?\d+$/.test(l[r.key]) || !(Number(l[r.key]) < r.value)) return false; break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: 'metadata.name' | 'metadata.namespace';
  equals: boolean;
  value: string;
}

const SUPPORTED_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Parses a field selector (`metadata.name=x,metadata.namespace!=y`); 400 for anything else. */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const result: FieldRequirement[] = [];
  if (text.trim() === '') return result;
  for (const part of text.split(',')) {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const [, field, op, value] = m;
    if (!SUPPORTED_FIELDS.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    result.push({ field: field as FieldRequirement['field'], equals: op !== '!=', value });
  }
  return result;
}

export function matchesFields(requirements: FieldRequirement[], meta: { name?: string; namespace?: string }): boolean {
  for (const r of requirements) {
    const actual = (r.field === 'metadata.name' ? meta.name : meta.namespace) ?? '';
    if ((actual === r.value) !== r.equals) return false;
  }
  return true;
}

/** True when an object's labels and metadata satisfy both selectors (k8s.io/apiserver's SelectionPredicate). */
export function matchesObject(object: Record<string, unknown>, labels: LabelRequirement[], fields: FieldRequirement[]): boolean {
  const meta = typeof object.metadata === 'object' && object.metadata !== null && !Array.isArray(object.metadata)
    ? (object.metadata as { labels?: Record<string, string>; name?: string; namespace?: string })
    : {};
  return matchesLabels(labels, meta.labels) && matchesFields(fields, meta);
}
