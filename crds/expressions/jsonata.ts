// Syntax check of a JSONata expression (`srp.jsonata.expression`, `srp.filter.expression`) using the jsonata package
// itself, so validation and the processor can never disagree about what parses.

import jsonata from 'jsonata';
import { fail, ok, type ParseResult } from './result';

interface JsonataError {
  code?: string;
  position?: number;
  token?: string;
  message?: string;
}

function isJsonataError(value: unknown): value is JsonataError {
  return typeof value === 'object' && value !== null && ('position' in value || 'code' in value);
}

export function checkJsonata(text: string): ParseResult<true> {
  if (text.trim() === '') return fail('JSONata expression is empty', 0);
  try {
    jsonata(text);
    return ok(true);
  } catch (error: unknown) {
    if (!isJsonataError(error)) return fail(error instanceof Error ? error.message : String(error), 0);
    // jsonata reports `position` just after the offending token; point at the token's first character instead.
    let offset = typeof error.position === 'number' ? error.position : 0;
    if (typeof error.token === 'string' && error.token !== '(end)' && offset >= error.token.length) {
      offset -= error.token.length;
    }
    offset = Math.min(offset, text.length);
    const code = error.code ? ` (${error.code})` : '';
    return fail(`${error.message ?? 'invalid JSONata expression'}${code}`, offset);
  }
}
