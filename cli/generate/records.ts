// Records from an annotated Avro schema, as the original generator (logaritex data-generator) makes them: a field's
// `doc` is a template — SpEL parts `[[...]]` first, then Java Faker expressions `#{...}` — whose text is converted
// to the field's type; a field without doc gets a random value of its type. A record's own `doc` holds `key=value`
// pairs separated by `;`: `unique_on=<field>` (the first record made for a value of that field is returned whenever
// the value comes again), `to_share=<field>[,<field>]` (values go into the shared pool as `<record>.<field>`, lower
// case, for `#shared.field(...)` of other generators), any other key a `#variable` for the field expressions.
// Everything is compiled when the configuration is read, so an unknown expression names its field before anything
// runs.
import type { Faker } from '@faker-js/faker';
import { compileFakerTemplate, type FakerFn } from './faker';
import { compileSpel, type SharedPool, type SpelContext, type SpelFn } from './spel';

export type AvroJson = string | AvroJson[] | { [key: string]: unknown };

/** A record could not be made (a doc resolved to null, or to text that is not of the field's type): the original
 *  logs it and sends nothing for that record. */
export class RecordSkipped extends Error {}

export class SchemaExpressionError extends Error {}

export interface GeneratorContext {
  faker: Faker;
  shared: SharedPool;
  now(): number;
}

type Doc = (ctx: SpelContext) => string;
type Gen = (ctx: SpelContext, depth: number) => unknown;

/** Compiles a doc template: `[[spel]]` and `#{faker}` parts between literal text. A doc that is one SpEL part alone
 *  and evaluates to null skips the record (the original's template then resolves to null); inside longer text a
 *  null part is empty, as Spring's composite templates make it. */
export function compileDoc(doc: string): Doc {
  const pieces: Array<{ spel: SpelFn } | { faker: FakerFn }> = [];
  let last = 0;
  for (const m of doc.matchAll(/\[\[(.*?)\]\]/gs)) {
    if (m.index > last) pieces.push({ faker: compileFakerTemplate(doc.slice(last, m.index)) });
    pieces.push({ spel: compileSpel(m[1]) });
    last = m.index + m[0].length;
  }
  if (last < doc.length) pieces.push({ faker: compileFakerTemplate(doc.slice(last)) });
  const alone = pieces.length === 1 && 'spel' in pieces[0];
  return (ctx) => pieces.map((p) => {
    if ('faker' in p) return p.faker(ctx.faker);
    const v = p.spel(ctx);
    if (v === undefined || v === null) {
      if (alone) throw new RecordSkipped(`[[...]] resolved to null in "${doc}"`);
      return '';
    }
    return String(v);
  }).join('');
}

/** `k1=v1;k2=v2` of a record or map doc (keys and values trimmed). Undefined when the doc is not of that form
 *  (free text): the original would fail every record; here the doc is only documentation. */
export function parseDocPairs(doc: string | undefined): Record<string, string> | undefined {
  if (!doc || !doc.trim()) return {};
  const pairs: Record<string, string> = {};
  for (const part of doc.split(';')) {
    if (!part.trim()) continue;
    const kv = part.split('=');
    if (kv.length !== 2 || !kv[0].trim()) return undefined;
    pairs[kv[0].trim()] = kv[1].trim();
  }
  return pairs;
}

/** Converts a doc's text to a value of the type, as Java's parse methods would (or refuses). */
function convert(text: string, type: string, where: string): unknown {
  switch (type) {
    case 'string': return text;
    case 'int':
    case 'long': {
      const t = text.trim();
      if (!/^[+-]?\d+$/.test(t)) throw new RecordSkipped(`${where}: "${text}" is not an integer`);
      const n = Number(t);
      if (type === 'int' && (n < -(2 ** 31) || n >= 2 ** 31)) throw new RecordSkipped(`${where}: ${t} does not fit an int`);
      if (!Number.isSafeInteger(n)) throw new RecordSkipped(`${where}: ${t} is beyond the integers this generator can encode exactly`);
      return n;
    }
    case 'float':
    case 'double': {
      const n = Number(text.trim());
      if (text.trim() === '' || Number.isNaN(n)) throw new RecordSkipped(`${where}: "${text}" is not a number`);
      return n;
    }
    case 'boolean': return text.trim().toLowerCase() === 'true';
    case 'bytes': return Buffer.from(text, 'utf8');
    case 'null': return null;
    default: return text;
  }
}

/** Compiles a record schema into a generator of records. */
export class RecordGenerator {
  private readonly named = new Map<string, Gen>();
  private readonly top: Gen;
  private readonly unique = new Map<string, Map<string, unknown>>();

  constructor(schema: AvroJson, where: string) {
    this.top = this.compile(schema, undefined, where, undefined);
  }

  /** The next record, or RecordSkipped thrown when the original would have sent nothing for it. */
  next(ctx: GeneratorContext): Record<string, unknown> {
    const value = this.top({ ...ctx, variables: {} }, 0);
    return value as Record<string, unknown>;
  }

  private compile(type: AvroJson, doc: string | undefined, where: string, namespace: string | undefined): Gen {
    if (typeof type === 'string') {
      const primitive = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'];
      if (!primitive.includes(type)) {
        // A named type defined earlier in the schema.
        const full = type.includes('.') || !namespace ? type : `${namespace}.${type}`;
        return (ctx, depth) => {
          const gen = this.named.get(full) ?? this.named.get(type);
          if (!gen) throw new SchemaExpressionError(`${where}: unknown type "${type}"`);
          return gen(ctx, depth);
        };
      }
      return this.primitive(type, doc, where);
    }
    if (Array.isArray(type)) {
      const branches = type.map((t, i) => this.compile(t, doc, `${where}[${i}]`, namespace));
      // As the original: a random branch (with the field's doc applied to it).
      return (ctx, depth) => ctx.faker.helpers.arrayElement(branches)(ctx, depth);
    }
    const t = String(type.type);
    const name = typeof type.name === 'string' ? type.name : undefined;
    const ns = typeof type.namespace === 'string' ? type.namespace : namespace;
    const fullName = name ? (name.includes('.') || !ns ? name : `${ns}.${name}`) : undefined;
    let gen: Gen;
    switch (t) {
      case 'record':
      case 'error':
        gen = this.record(type, name ?? 'record', where, ns);
        break;
      case 'enum': {
        const symbols = Array.isArray(type.symbols) ? (type.symbols as string[]) : [];
        gen = (ctx) => ctx.faker.helpers.arrayElement(symbols);
        break;
      }
      case 'array': {
        const items = this.compile(type.items as AvroJson, doc, `${where}[]`, ns);
        gen = (ctx, depth) => {
          const length = Math.max(ctx.faker.number.int({ min: 2, max: 6 }) - depth, 0);
          return Array.from({ length }, () => items(ctx, depth + 1));
        };
        break;
      }
      case 'map': {
        const pairs = parseDocPairs(doc) ?? {};
        const key = pairs.key !== undefined ? compileDoc(pairs.key) : undefined;
        const length = pairs.length !== undefined ? compileDoc(pairs.length) : undefined;
        const values = this.compile(type.values as AvroJson, pairs.value, `${where}{}`, ns);
        gen = (ctx, depth) => {
          const n = length ? Number(length(ctx)) : Math.max(ctx.faker.number.int({ min: 2, max: 6 }) - depth, 0);
          const map: Record<string, unknown> = {};
          for (let i = 0; i < n; i++) map[key ? key(ctx) : ctx.faker.string.alpha({ length: { min: 1, max: 40 }, casing: 'lower' })] = values(ctx, depth + 1);
          return map;
        };
        break;
      }
      case 'fixed': {
        const size = Number(type.size);
        gen = (ctx) => Buffer.from(ctx.faker.helpers.multiple(() => ctx.faker.number.int({ min: 0, max: 255 }), { count: size }));
        break;
      }
      default:
        // A primitive written as an object, maybe with a logicalType ({type: long, logicalType: timestamp-millis}).
        gen = this.primitive(t, doc, where);
    }
    if (fullName) {
      this.named.set(fullName, gen);
      if (name) this.named.set(name, gen);
    }
    return gen;
  }

  private primitive(type: string, doc: string | undefined, where: string): Gen {
    if (doc && doc.trim()) {
      let compiled: Doc;
      try {
        compiled = compileDoc(doc);
      } catch (err) {
        throw new SchemaExpressionError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return (ctx) => convert(compiled(ctx), type, where);
    }
    return (ctx) => randomOf(type, ctx.faker);
  }

  private record(schema: { [key: string]: unknown }, name: string, where: string, namespace: string | undefined): Gen {
    const pairs = parseDocPairs(typeof schema.doc === 'string' ? schema.doc : undefined) ?? {};
    const uniqueOn = pairs.unique_on;
    const toShare = new Set((pairs.to_share ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    const variables = Object.entries(pairs).filter(([k]) => k !== 'unique_on' && k !== 'to_share').map(([k, v]) => [k, compileDoc(v)] as const);
    const fields = (Array.isArray(schema.fields) ? schema.fields : []) as Array<{ name: string; type: AvroJson; doc?: string }>;
    const fieldNames = new Set(fields.map((f) => f.name));
    for (const f of [uniqueOn, ...toShare]) {
      if (f && !fieldNames.has(f)) throw new SchemaExpressionError(`${where}: record ${name} names field "${f}" in its doc, but has no such field`);
    }
    const compiled = fields.map((f) => ({ name: f.name, gen: this.compile(f.type, f.doc, `${where}.${f.name}`, namespace) }));
    const sharedPrefix = name.toLowerCase();
    const uniqueKey = `${namespace ?? ''}.${name}`;
    return (ctx, depth) => {
      const vars: Record<string, unknown> = { ...ctx.variables };
      for (const [k, v] of variables) vars[k] = v({ ...ctx, variables: vars });
      const inner = { ...ctx, variables: vars };
      const record: Record<string, unknown> = {};
      for (const f of compiled) {
        record[f.name] = f.gen(inner, depth + 1);
        if (toShare.has(f.name)) ctx.shared.add(`${sharedPrefix}.${f.name}`, record[f.name]);
      }
      if (!uniqueOn) return record;
      const seen = this.unique.get(uniqueKey) ?? new Map<string, unknown>();
      this.unique.set(uniqueKey, seen);
      const key = JSON.stringify(record[uniqueOn]);
      if (!seen.has(key)) seen.set(key, record);
      return seen.get(key);
    };
  }
}

/** A value of the type for a field without doc (the original's random data). */
function randomOf(type: string, f: Faker): unknown {
  switch (type) {
    case 'string': return f.string.alpha({ length: { min: 0, max: 39 }, casing: 'lower' });
    case 'int': return f.number.int({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'long': return f.number.int({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    case 'float':
    case 'double': return f.number.float({ min: 0, max: 1 });
    case 'boolean': return f.datatype.boolean();
    case 'bytes': return Buffer.from(f.helpers.multiple(() => f.number.int({ min: 0, max: 255 }), { count: { min: 0, max: 39 } }));
    case 'null': return null;
    default: throw new SchemaExpressionError(`unknown Avro type "${type}"`);
  }
}
