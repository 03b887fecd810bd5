// Scalar functions over the engine's values (values.ts). Every function returns NULL when an argument it needs is
// NULL (SQL NULL propagation), except COALESCE / NULLIF / IF / CONCAT_WS, which define their own NULL handling.
// Times are UTC: the engine has no session time zone (Flink's default `table.local-time-zone` is the JVM's).
import { parseTimestamp, valueToString } from './values';

type Value = unknown;

const isNull = (v: Value): boolean => v === null || v === undefined;

/** Java SimpleDateFormat patterns (the subset Flink users write): yyyy, yy, MM, M, dd, d, HH, H, mm, ss, SSS, 'literal'. */
type FormatToken = { kind: 'field'; field: string } | { kind: 'text'; text: string };

const formatCache = new Map<string, FormatToken[]>();

function tokenizeFormat(format: string): FormatToken[] {
  const cached = formatCache.get(format);
  if (cached) return cached;
  const tokens: FormatToken[] = [];
  for (let i = 0; i < format.length;) {
    const c = format[i];
    if (c === "'") {
      const end = format.indexOf("'", i + 1);
      const text = end < 0 ? format.slice(i + 1) : format.slice(i + 1, end);
      tokens.push({ kind: 'text', text: text === '' ? "'" : text });
      i = end < 0 ? format.length : end + 1;
    } else if (/[a-zA-Z]/.test(c)) {
      let j = i;
      while (j < format.length && format[j] === c) j++;
      tokens.push({ kind: 'field', field: format.slice(i, j) });
      i = j;
    } else {
      tokens.push({ kind: 'text', text: c });
      i++;
    }
  }
  formatCache.set(format, tokens);
  return tokens;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function formatWith(ms: number, format: string): string {
  const d = new Date(ms);
  let out = '';
  for (const token of tokenizeFormat(format)) {
    if (token.kind === 'text') { out += token.text; continue; }
    const f = token.field;
    switch (f[0]) {
      case 'y': out += f.length === 2 ? pad(d.getUTCFullYear() % 100, 2) : pad(d.getUTCFullYear(), f.length); break;
      case 'M': out += pad(d.getUTCMonth() + 1, f.length); break;
      case 'd': out += pad(d.getUTCDate(), f.length); break;
      case 'H': out += pad(d.getUTCHours(), f.length); break;
      case 'm': out += pad(d.getUTCMinutes(), f.length); break;
      case 's': out += pad(d.getUTCSeconds(), f.length); break;
      case 'S': out += pad(d.getUTCMilliseconds(), 3).slice(0, f.length).padEnd(f.length, '0'); break;
      default: out += f;
    }
  }
  return out;
}

/** Parses `text` with a SimpleDateFormat pattern (UTC); undefined when it does not match. */
export function parseWith(text: string, format: string): number | undefined {
  let i = 0;
  const parts = { y: 1970, M: 1, d: 1, H: 0, m: 0, s: 0, S: 0 };
  for (const token of tokenizeFormat(format)) {
    if (token.kind === 'text') {
      if (text.slice(i, i + token.text.length) !== token.text) return undefined;
      i += token.text.length;
      continue;
    }
    const key = token.field[0] as keyof typeof parts;
    const width = key === 'y' && token.field.length === 4 ? 4 : key === 'S' ? token.field.length : token.field.length === 1 ? 0 : token.field.length;
    const m = (width > 0 ? new RegExp(`^\\d{${width}}`) : /^\d+/).exec(text.slice(i));
    if (!m || !(key in parts)) return undefined;
    parts[key] = key === 'S' ? Number(m[0].padEnd(3, '0').slice(0, 3)) : Number(m[0]);
    i += m[0].length;
  }
  if (i !== text.length) return undefined;
  return Date.UTC(parts.y, parts.M - 1, parts.d, parts.H, parts.m, parts.s, parts.S);
}

const DEFAULT_FORMAT = 'yyyy-MM-dd HH:mm:ss';

function toTimestamp(v: Value, format?: Value): number | null {
  if (isNull(v)) return null;
  if (typeof v === 'number') return v;
  const text = String(v);
  const parsed = format !== undefined && !isNull(format) ? parseWith(text, String(format)) : parseTimestamp(text);
  return parsed ?? null;
}

function initcap(s: string): string {
  return s.toLowerCase().replace(/(^|[^a-zA-Z0-9])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

function substring(s: string, start: number, length?: number): string {
  // SQL positions are 1-based; a start <= 0 counts characters before the string (as in Flink / Calcite).
  const from = start > 0 ? start - 1 : 0;
  const to = length === undefined ? s.length : start > 0 ? from + length : Math.max(0, start - 1 + length);
  return length !== undefined && length < 0 ? '' : s.slice(from, Math.max(from, to));
}

function pad3(s: string, length: number, fill: string, left: boolean): string | null {
  if (length < 0) return null;
  if (s.length >= length) return s.slice(0, length);
  if (fill === '') return s;
  const filler = fill.repeat(Math.ceil((length - s.length) / fill.length)).slice(0, length - s.length);
  return left ? filler + s : s + filler;
}

function round(v: number, digits: number): number {
  const factor = 10 ** digits;
  // Half away from zero (SQL ROUND), not JS's half toward +∞.
  return (Math.sign(v) * Math.round(Math.abs(v) * factor)) / factor;
}

/** A function of already evaluated arguments. `now` supplies CURRENT_TIMESTAMP. */
export type ScalarImpl = (args: Value[], now: () => number) => Value;

const strict = (f: (args: Value[]) => Value): ScalarImpl => (args) => {
  for (let i = 0; i < args.length; i++) if (isNull(args[i])) return null;
  return f(args);
};

export const SCALAR_IMPLEMENTATIONS: Record<string, ScalarImpl> = {
  UPPER: strict((a) => String(a[0]).toUpperCase()),
  LOWER: strict((a) => String(a[0]).toLowerCase()),
  TRIM: strict((a) => String(a[0]).trim()),
  LTRIM: strict((a) => String(a[0]).replace(/^\s+/, '')),
  RTRIM: strict((a) => String(a[0]).replace(/\s+$/, '')),
  INITCAP: strict((a) => initcap(String(a[0]))),
  CHAR_LENGTH: strict((a) => [...String(a[0])].length),
  CHARACTER_LENGTH: strict((a) => [...String(a[0])].length),
  LENGTH: strict((a) => [...String(a[0])].length),
  SUBSTRING: strict((a) => substring(String(a[0]), Number(a[1]), a.length > 2 ? Number(a[2]) : undefined)),
  SUBSTR: strict((a) => substring(String(a[0]), Number(a[1]), a.length > 2 ? Number(a[2]) : undefined)),
  CONCAT: strict((a) => a.map((x) => valueToString(x)).join('')),
  // CONCAT_WS skips NULL arguments; a NULL separator gives NULL.
  CONCAT_WS: (a) => (isNull(a[0]) ? null : a.slice(1).filter((x) => !isNull(x)).map((x) => valueToString(x)).join(String(a[0]))),
  REPLACE: strict((a) => String(a[0]).split(String(a[1])).join(String(a[2]))),
  POSITION: strict((a) => String(a[1]).indexOf(String(a[0])) + 1),
  LPAD: strict((a) => pad3(String(a[0]), Number(a[1]), String(a[2]), true)),
  RPAD: strict((a) => pad3(String(a[0]), Number(a[1]), String(a[2]), false)),
  ABS: strict((a) => Math.abs(a[0] as number)),
  CEIL: strict((a) => Math.ceil(a[0] as number)),
  CEILING: strict((a) => Math.ceil(a[0] as number)),
  FLOOR: strict((a) => Math.floor(a[0] as number)),
  ROUND: strict((a) => round(a[0] as number, a.length > 1 ? (a[1] as number) : 0)),
  // Java's % keeps the dividend's sign, as JS's does; MOD(x, 0) is NULL here (Flink raises an error).
  MOD: strict((a) => ((a[1] as number) === 0 ? null : (a[0] as number) % (a[1] as number))),
  POWER: strict((a) => (a[0] as number) ** (a[1] as number)),
  SQRT: strict((a) => ((a[0] as number) < 0 ? null : Math.sqrt(a[0] as number))),
  COALESCE: (a) => {
    for (const v of a) if (!isNull(v)) return v;
    return null;
  },
  NULLIF: (a) => (isNull(a[0]) ? null : !isNull(a[1]) && a[0] === a[1] ? null : a[0]),
  IF: (a) => (a[0] === true ? a[1] : a[2]),
  TO_TIMESTAMP: (a) => toTimestamp(a[0], a[1]),
  TO_TIMESTAMP_LTZ: (a) => {
    if (isNull(a[0])) return null;
    const precision = a.length > 1 ? Number(a[1]) : 3;
    return precision === 0 ? (a[0] as number) * 1000 : (a[0] as number);
  },
  FROM_UNIXTIME: strict((a) => formatWith((a[0] as number) * 1000, a.length > 1 ? String(a[1]) : DEFAULT_FORMAT)),
  UNIX_TIMESTAMP: (a, now) => {
    if (a.length === 0) return Math.floor(now() / 1000);
    const ms = toTimestamp(a[0], a[1] ?? DEFAULT_FORMAT);
    return ms === null ? null : Math.floor(ms / 1000);
  },
  DATE_FORMAT: strict((a) => {
    const ms = typeof a[0] === 'number' ? a[0] : parseTimestamp(String(a[0]));
    return ms === undefined ? null : formatWith(ms, String(a[1]));
  }),
  CURRENT_TIMESTAMP: (_a, now) => now(),
  LOCALTIMESTAMP: (_a, now) => now(),
  NOW: (_a, now) => now(),
};

