// The SpEL parts of field docs (`[[...]]`), evaluated before the Faker expressions as in the original. Only the
// forms data-generator configurations use are supported, and anything else is an error when the configuration is
// read: `T(System).currentTimeMillis()`, `#shared.field('<record>.<field>')` (a random value from the shared pool)
// with an optional Elvis fallback `?: <literal>`, `#<variable>` (a record-doc `key=value` or `#default`), and
// number or 'string' literals.
import type { Faker } from '@faker-js/faker';

/** Values other generators put in the pool (`to_share=`), by lower-case `<record>.<field>`. */
export class SharedPool {
  private readonly values = new Map<string, unknown[]>();

  add(key: string, value: unknown): void {
    const list = this.values.get(key);
    if (list) list.push(value);
    else this.values.set(key, [value]);
  }

  /** A random value of the key (the reader's seeded randomness), undefined while there is none. */
  pick(key: string, faker: Faker): unknown {
    const list = this.values.get(key);
    return list && list.length > 0 ? faker.helpers.arrayElement(list) : undefined;
  }

  size(key: string): number {
    return this.values.get(key)?.length ?? 0;
  }
}

export interface SpelContext {
  now(): number;
  shared: SharedPool;
  faker: Faker;
  variables: Record<string, unknown>;
}

/** A compiled expression; undefined = null in SpEL (the original then drops the record). */
export type SpelFn = (ctx: SpelContext) => unknown;

export class UnsupportedSpelError extends Error {}

function compilePrimary(text: string): SpelFn {
  const t = text.trim();
  if (/^T\(\s*(java\.lang\.)?System\s*\)\s*\.\s*currentTimeMillis\(\s*\)$/.test(t)) return (ctx) => ctx.now();
  const shared = /^#shared\s*\.\s*field\(\s*'([^']*)'\s*\)$/.exec(t);
  if (shared) {
    const key = shared[1].toLowerCase();
    return (ctx) => ctx.shared.pick(key, ctx.faker);
  }
  if (/^-?\d+(\.\d+)?[LlDdFf]?$/.test(t)) {
    const n = Number(t.replace(/[LlDdFf]$/, ''));
    return () => n;
  }
  const str = /^'((?:[^']|'')*)'$/.exec(t);
  if (str) {
    const s = str[1].replace(/''/g, "'");
    return () => s;
  }
  const variable = /^#([A-Za-z_]\w*)$/.exec(t);
  if (variable) {
    const name = variable[1];
    return (ctx) => ctx.variables[name] ?? undefined;
  }
  throw new UnsupportedSpelError(`unsupported SpEL expression [[${text}]] (supported: T(System).currentTimeMillis(), #shared.field('record.field'), ?: fallback, #variable, literals)`);
}

/** Compiles the inside of `[[...]]`. */
export function compileSpel(text: string): SpelFn {
  // `a ?: b` — the Elvis operator: b when a is null. Split at the first `?:` outside quotes.
  let quoted = false;
  for (let i = 0; i < text.length - 1; i++) {
    if (text[i] === "'") quoted = !quoted;
    if (!quoted && text[i] === '?' && text[i + 1] === ':') {
      const left = compilePrimary(text.slice(0, i));
      const right = compileSpel(text.slice(i + 2));
      return (ctx) => {
        const v = left(ctx);
        return v === undefined || v === null || v === '' ? right(ctx) : v;
      };
    }
  }
  return compilePrimary(text);
}
