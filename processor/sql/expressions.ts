// Plan expressions compiled into closures over a row array: this is the per-row hot path, so each node becomes one
// small function chosen at compile time (no interpretation of the tree per row, no per-row allocation).
//
// SQL NULL semantics: NULL propagates through operators and functions; comparisons with NULL are NULL (unknown);
// AND / OR are three-valued (FALSE AND NULL = FALSE, TRUE OR NULL = TRUE); a WHERE keeps a row only when its condition
// is TRUE. Integer `/` is Flink's integer division (truncation toward zero); division by zero is NULL here (Flink
// raises a runtime error, which in a stream means a failed job; we prefer a NULL the query can handle).
import { isInteger, isNumeric, isTimestamp, type PlanExpr, type PlanType } from '../../crds/sql/plan';
import { SCALAR_IMPLEMENTATIONS } from './functions';
import { coercerFor, CoercionError, parseTimestamp, type Row, valueToString } from './values';

export type Evaluator = (row: Row) => unknown;

export interface CompileOptions {
  /** Wall clock for CURRENT_TIMESTAMP / UNIX_TIMESTAMP(). */
  now: () => number;
}

const isNullish = (v: unknown): boolean => v === null || v === undefined;

function likeToRegExp(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) source += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') source += '.*';
    else if (c === '_') source += '.';
    else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 's');
}

function comparator(op: string, left: Evaluator, right: Evaluator, stringToTime: 'left' | 'right' | undefined): Evaluator {
  // A string compared with a timestamp (not a literal, which the planner converted) is parsed per row.
  const l: Evaluator = stringToTime === 'left' ? (r) => { const v = left(r); return typeof v === 'string' ? parseTimestamp(v) ?? null : v; } : left;
  const rt: Evaluator = stringToTime === 'right' ? (r) => { const v = right(r); return typeof v === 'string' ? parseTimestamp(v) ?? null : v; } : right;
  switch (op) {
    case '=': return (r) => { const a = l(r); if (isNullish(a)) return null; const b = rt(r); return isNullish(b) ? null : a === b; };
    case '<>': return (r) => { const a = l(r); if (isNullish(a)) return null; const b = rt(r); return isNullish(b) ? null : a !== b; };
    case '<': return (r) => { const a = l(r); if (isNullish(a)) return null; const b = rt(r); return isNullish(b) ? null : (a as number) < (b as number); };
    case '<=': return (r) => { const a = l(r); if (isNullish(a)) return null; const b = rt(r); return isNullish(b) ? null : (a as number) <= (b as number); };
    case '>': return (r) => { const a = l(r); if (isNullish(a)) return null; const b = rt(r); return isNullish(b) ? null : (a as number) > (b as number); };
    default: return (r) => { const a = l(r); if (isNullish(a)) return null; const b = rt(r); return isNullish(b) ? null : (a as number) >= (b as number); };
  }
}

function arithmetic(op: string, left: Evaluator, right: Evaluator, type: PlanType): Evaluator {
  const integer = isInteger(type);
  switch (op) {
    case '+': return (r) => { const a = left(r); if (isNullish(a)) return null; const b = right(r); return isNullish(b) ? null : (a as number) + (b as number); };
    case '-': return (r) => { const a = left(r); if (isNullish(a)) return null; const b = right(r); return isNullish(b) ? null : (a as number) - (b as number); };
    case '*': return (r) => { const a = left(r); if (isNullish(a)) return null; const b = right(r); return isNullish(b) ? null : (a as number) * (b as number); };
    case '/':
      return integer
        ? (r) => { const a = left(r); if (isNullish(a)) return null; const b = right(r); return isNullish(b) || b === 0 ? null : Math.trunc((a as number) / (b as number)); }
        : (r) => { const a = left(r); if (isNullish(a)) return null; const b = right(r); return isNullish(b) || b === 0 ? null : (a as number) / (b as number); };
    default:
      return (r) => { const a = left(r); if (isNullish(a)) return null; const b = right(r); return isNullish(b) || b === 0 ? null : (a as number) % (b as number); };
  }
}

function castTo(type: PlanType, from: PlanType): (v: unknown) => unknown {
  if (type.name === 'STRING') return (v) => (isNullish(v) ? null : valueToString(v, from.name));
  if (type.name === 'INTERVAL' || type.name === 'NULL') return (v) => v;
  const coerce = coercerFor(type.name);
  const integerTarget = isInteger(type);
  // Flink 1.14's CAST returned NULL for unparsable input, as TRY_CAST does; we keep that for both (no failed rows).
  return (v) => {
    if (isNullish(v)) return null;
    if (integerTarget && typeof v === 'number') return Math.trunc(v);
    if (integerTarget && typeof v === 'string') {
      const n = Number(v.trim());
      return v.trim() !== '' && Number.isFinite(n) ? Math.trunc(n) : null;
    }
    if (isTimestamp(type) && isNumeric(from)) return v;
    if (isTimestamp(type) && from.name === 'DATE') return (v as number) * 86_400_000;
    if (type.name === 'DATE' && isTimestamp(from)) return Math.floor((v as number) / 86_400_000);
    if (type.name === 'BOOLEAN' && typeof v === 'number') return v !== 0;
    if (type.name === 'BOOLEAN' && typeof v === 'string') {
      const s = v.trim().toLowerCase();
      return s === 'true' ? true : s === 'false' ? false : null;
    }
    try {
      return coerce(v);
    } catch (err) {
      if (err instanceof CoercionError) return null;
      throw err;
    }
  };
}

/** Compiles a plan expression into a closure reading a row array. */
export function compileExpr(expr: PlanExpr, options: CompileOptions): Evaluator {
  switch (expr.kind) {
    case 'field': {
      const index = expr.index;
      return (r) => r[index];
    }
    case 'literal': {
      const value = expr.value;
      return () => value;
    }
    case 'cast': {
      const operand = compileExpr(expr.operand, options);
      const convert = castTo(expr.type, expr.operand.type);
      return (r) => convert(operand(r));
    }
    case 'case': {
      const whens = expr.whens.map((w) => ({ when: compileExpr(w.when, options), then: compileExpr(w.then, options) }));
      const otherwise = expr.else ? compileExpr(expr.else, options) : () => null;
      return (r) => {
        for (let i = 0; i < whens.length; i++) if (whens[i].when(r) === true) return whens[i].then(r);
        return otherwise(r);
      };
    }
    case 'call':
      return compileCall(expr, options);
  }
}

function compileCall(expr: PlanExpr & { kind: 'call' }, options: CompileOptions): Evaluator {
  const args = expr.args.map((a) => compileExpr(a, options));
  const [a, b] = args;
  switch (expr.op) {
    case 'AND':
      return (r) => {
        const x = a(r);
        if (x === false) return false;
        const y = b(r);
        if (y === false) return false;
        return x === true && y === true ? true : null;
      };
    case 'OR':
      return (r) => {
        const x = a(r);
        if (x === true) return true;
        const y = b(r);
        if (y === true) return true;
        return x === false && y === false ? false : null;
      };
    case 'NOT':
      return (r) => { const x = a(r); return isNullish(x) ? null : !x; };
    case 'NEG':
      return (r) => { const x = a(r); return isNullish(x) ? null : -(x as number); };
    case 'IS NULL':
      return (r) => isNullish(a(r));
    case 'IS NOT NULL':
      return (r) => !isNullish(a(r));
    case '=': case '<>': case '<': case '<=': case '>': case '>=': {
      const lt = expr.args[0].type;
      const rt = expr.args[1].type;
      const stringToTime = lt.name === 'STRING' && isTimestamp(rt) ? 'left' : rt.name === 'STRING' && isTimestamp(lt) ? 'right' : undefined;
      return comparator(expr.op, a, b, stringToTime);
    }
    case '+': case '-': case '*': case '/': case '%':
      return arithmetic(expr.op, a, b, expr.type);
    case 'IN': {
      const list = args.slice(1);
      const constants = expr.args.slice(1).every((x) => x.kind === 'literal' && x.value !== null);
      if (constants) {
        const set = new Set(expr.args.slice(1).map((x) => (x as { value: unknown }).value));
        return (r) => { const v = a(r); return isNullish(v) ? null : set.has(v); };
      }
      return (r) => {
        const v = a(r);
        if (isNullish(v)) return null;
        let sawNull = false;
        for (const item of list) {
          const x = item(r);
          if (isNullish(x)) sawNull = true;
          else if (x === v) return true;
        }
        return sawNull ? null : false;
      };
    }
    case 'LIKE': {
      const pattern = expr.args[1];
      if (pattern.kind === 'literal' && typeof pattern.value === 'string') {
        const re = likeToRegExp(pattern.value);
        return (r) => { const v = a(r); return isNullish(v) ? null : re.test(String(v)); };
      }
      const cache = new Map<string, RegExp>();
      return (r) => {
        const v = a(r);
        const p = b(r);
        if (isNullish(v) || isNullish(p)) return null;
        let re = cache.get(p as string);
        if (!re) cache.set(p as string, (re = likeToRegExp(String(p))));
        return re.test(String(v));
      };
    }
    case 'CONCAT': {
      // `||` and CONCAT: text forms of timestamps / dates follow the argument's type.
      const types = expr.args.map((x) => x.type.name);
      return (r) => {
        let out = '';
        for (let i = 0; i < args.length; i++) {
          const v = args[i](r);
          if (isNullish(v)) return null;
          out += typeof v === 'string' ? v : valueToString(v, types[i]);
        }
        return out;
      };
    }
    default: {
      const impl = SCALAR_IMPLEMENTATIONS[expr.op];
      if (!impl) throw new Error(`no implementation for ${expr.op}`);
      const now = options.now;
      if (args.length === 1) return (r) => impl([a(r)], now);
      return (r) => impl(args.map((f) => f(r)), now);
    }
  }
}

/** A condition as a predicate: TRUE keeps the row, FALSE and NULL (unknown) drop it. */
export function compilePredicate(expr: PlanExpr, options: CompileOptions): (row: Row) => boolean {
  // The most common filter, `column = 'constant'` (or <>, <, ...): one closure, no three-valued detour — a NULL
  // column compares false, which drops the row exactly as unknown does.
  if (expr.kind === 'call' && expr.args.length === 2 && expr.args[0].kind === 'field' && expr.args[1].kind === 'literal' && expr.args[1].value !== null) {
    const i = expr.args[0].index;
    const v = expr.args[1].value;
    const sameKind = typeof v === 'string' ? expr.args[0].type.name === 'STRING' : typeof v === 'number' ? isNumeric(expr.args[0].type) || isTimestamp(expr.args[0].type) : false;
    if (sameKind) {
      switch (expr.op) {
        case '=': return (r) => r[i] === v;
        case '<>': return (r) => { const a = r[i]; return a !== null && a !== undefined && a !== v; };
        case '<': return (r) => { const a = r[i]; return a !== null && a !== undefined && (a as number) < (v as number); };
        case '<=': return (r) => { const a = r[i]; return a !== null && a !== undefined && (a as number) <= (v as number); };
        case '>': return (r) => { const a = r[i]; return a !== null && a !== undefined && (a as number) > (v as number); };
        case '>=': return (r) => { const a = r[i]; return a !== null && a !== undefined && (a as number) >= (v as number); };
      }
    }
  }
  const f = compileExpr(expr, options);
  return (r) => f(r) === true;
}
