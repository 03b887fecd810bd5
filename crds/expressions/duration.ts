// Spring Boot style durations (`500ms`, `5s`, `2m`, `1h`, `1d`, a bare integer = milliseconds), the format of every
// duration attribute (`srp.window`, `srp.window.idle.timeout`, `srp.udf.timeout` ...). ISO-8601 (`PT5S`) is accepted
// too because Spring's DurationStyle detects it, so manifests written for the original keep working.

import { fail, ok, type ParseResult } from './result';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const SIMPLE = /^(\d+)([a-zA-Z]*)$/;
const ISO = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/i;

/** Parses a duration into whole milliseconds. Negative durations are refused: no attribute has a use for them. */
export function parseDuration(text: string): ParseResult<number> {
  const leading = text.length - text.trimStart().length;
  const trimmed = text.trim();
  if (trimmed === '') return fail('duration is empty; expected e.g. 500ms, 5s, 2m, 1h, 1d', 0);
  if (trimmed.startsWith('-')) return fail('duration must not be negative', leading);
  const body = trimmed.startsWith('+') ? trimmed.slice(1) : trimmed;
  const bodyOffset = leading + (trimmed.length - body.length);
  if (/^P/i.test(body)) return parseIso(body, bodyOffset);
  const match = SIMPLE.exec(body);
  if (!match) {
    const bad = body.search(/[^0-9a-zA-Z]/);
    if (/^\d/.test(body) && bad >= 0) {
      return fail(`invalid character '${body[bad]}' in duration; expected a whole number and a unit (ms, s, m, h, d)`, bodyOffset + bad);
    }
    return fail(`invalid duration '${trimmed}'; expected a whole number and a unit, e.g. 500ms, 5s, 2m, 1h, 1d`, bodyOffset);
  }
  const [, digits, rawUnit] = match;
  const unit = rawUnit.toLowerCase();
  const factor = unit === '' ? 1 : UNIT_MS[unit];
  if (factor === undefined) {
    return fail(`unknown duration unit '${rawUnit}'; use ms, s, m, h or d`, bodyOffset + digits.length);
  }
  const value = Number(digits) * factor;
  if (!Number.isSafeInteger(value)) return fail('duration is too large', bodyOffset);
  return ok(value);
}

function parseIso(body: string, offset: number): ParseResult<number> {
  const match = ISO.exec(body);
  if (!match || body.length <= 1 || /T$/i.test(body)) {
    return fail(`invalid ISO-8601 duration '${body}'; expected e.g. PT5S, PT2M, P1D`, offset);
  }
  const [, days, hours, minutes, seconds] = match;
  const ms =
    Number(days ?? 0) * 86_400_000 +
    Number(hours ?? 0) * 3_600_000 +
    Number(minutes ?? 0) * 60_000 +
    Math.round(Number(seconds ?? 0) * 1000);
  if (!Number.isSafeInteger(ms)) return fail('duration is too large', offset);
  return ok(ms);
}

/** Formats milliseconds back into the shortest exact Spring-style text (for messages and debug output). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const factor = UNIT_MS[unit];
    if (ms !== 0 && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}
