// The value model of the SQL engine, and the coercion of decoded input values into it.
//
//   STRING → string; TINYINT/SMALLINT/INT/BIGINT → number (an integer); FLOAT/DOUBLE/DECIMAL → number;
//   BOOLEAN → boolean; TIMESTAMP(p) / TIMESTAMP_LTZ → epoch milliseconds (number, UTC); DATE → days since
//   1970-01-01 (number); TIME → milliseconds of the day; BYTES → string (as decoded); NULL → null.
//
// BIGINT as a JS number is exact up to 2^53 (about 285,000 years of epoch milliseconds, or 9·10^15 counts): enough for
// counters, ids from generators and timestamps; larger values lose precision rather than overflow (documented).
// Rows are arrays indexed by plan field position, never objects: the hot path reads `row[i]`.
import type { SqlTypeName } from '../../crds/sql/ast';

export type Row = unknown[];

/** Thrown by a coercer; the engine turns it into a `reject(row, reason)`. */
export class CoercionError extends Error {}

const MS_PER_DAY = 86_400_000;

/** Parses `yyyy-MM-dd[ T]HH:mm[:ss[.fff]][Z|±hh:mm]` (UTC unless an offset is given); undefined when not a timestamp. */
export function parseTimestamp(text: string): number | undefined {
  const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$/.exec(text);
  if (!m) return undefined;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  let value = Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, ms);
  if (m[8] && m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    value -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return Number.isFinite(value) ? value : undefined;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `yyyy-MM-dd HH:mm:ss.SSS` in UTC: Flink's text form of TIMESTAMP(3). */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

export function formatDate(days: number): string {
  return formatTimestamp(days * MS_PER_DAY).slice(0, 10);
}

/** A SQL value as text (CAST to STRING, CONCAT). */
export function valueToString(value: unknown, type?: SqlTypeName | 'INTERVAL' | 'NULL'): string {
  if (type === 'TIMESTAMP' || type === 'TIMESTAMP_LTZ') return formatTimestamp(value as number);
  if (type === 'DATE') return formatDate(value as number);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return String(value);
}

export type Coercer = (value: unknown) => unknown;

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new CoercionError(`not a number: ${JSON.stringify(value)}`);
}

/** The function turning a decoded JSON / Avro value into the engine's value for `type`; null and undefined → null. */
export function coercerFor(type: SqlTypeName): Coercer {
  switch (type) {
    case 'STRING':
    case 'BYTES':
      return (v) => (typeof v === 'string' ? v : v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));
    case 'TINYINT':
    case 'SMALLINT':
    case 'INT':
    case 'BIGINT':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === 'number' && Number.isInteger(v)) return v;
        const n = toNumber(v);
        if (!Number.isInteger(n)) throw new CoercionError(`not an integer: ${JSON.stringify(v)}`);
        return n;
      };
    case 'FLOAT':
    case 'DOUBLE':
    case 'DECIMAL':
      return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? v : toNumber(v));
    case 'BOOLEAN':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 'TRUE') return true;
        if (v === 'false' || v === 'FALSE') return false;
        throw new CoercionError(`not a boolean: ${JSON.stringify(v)}`);
      };
    case 'TIMESTAMP':
    case 'TIMESTAMP_LTZ':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v);
        if (typeof v === 'string') {
          const parsed = /^\s*-?\d+\s*$/.test(v) ? Number(v) : parseTimestamp(v);
          if (parsed !== undefined && Number.isFinite(parsed)) return parsed;
        }
        if (v instanceof Date) return v.getTime();
        throw new CoercionError(`not a timestamp (epoch ms, ISO-8601 or 'yyyy-MM-dd HH:mm:ss[.SSS]'): ${JSON.stringify(v)}`);
      };
    case 'DATE':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === 'number' && Number.isInteger(v)) return v;
        if (typeof v === 'string') {
          const parsed = parseTimestamp(v);
          if (parsed !== undefined) return Math.floor(parsed / MS_PER_DAY);
        }
        throw new CoercionError(`not a date (days since epoch or 'yyyy-MM-dd'): ${JSON.stringify(v)}`);
      };
    case 'TIME':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === 'number') return v;
        const m = typeof v === 'string' ? /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(v.trim()) : null;
        if (!m) throw new CoercionError(`not a time: ${JSON.stringify(v)}`);
        return ((+m[1] * 60 + +m[2]) * 60 + (m[3] ? +m[3] : 0)) * 1000 + (m[4] ? Number(m[4].padEnd(3, '0')) : 0);
      };
  }
}

/** Total order used by MIN/MAX, ORDER BY and comparisons of same-typed values: NULL first, then natural order. */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}
