// `srp.envs`: "K=V;K2=V2" — extra environment for the processor (the original's only way to pick e.g. the state
// type). The value is everything after the first '=', so values may themselves contain '='.

import { fail, ok, type ParseResult } from './result';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parseEnvs(text: string): ParseResult<Record<string, string>> {
  const result: Record<string, string> = {};
  let start = 0;
  for (const segment of text.split(';')) {
    const segmentStart = start;
    start += segment.length + 1;
    if (segment.trim() === '') continue;
    const eq = segment.indexOf('=');
    const nameOffset = segmentStart + (segment.length - segment.trimStart().length);
    if (eq < 0) return fail(`expected NAME=VALUE in '${segment.trim()}'`, nameOffset);
    const name = segment.slice(0, eq).trim();
    if (name === '') return fail('environment variable name is empty', segmentStart + eq);
    if (!NAME.test(name)) {
      return fail(`invalid environment variable name '${name}': use letters, digits and _ (not starting with a digit)`, nameOffset);
    }
    if (Object.prototype.hasOwnProperty.call(result, name)) {
      return fail(`environment variable '${name}' is set twice`, nameOffset);
    }
    result[name] = segment.slice(eq + 1).trim();
  }
  return ok(result);
}
