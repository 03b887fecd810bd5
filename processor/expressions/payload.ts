// How message payloads are seen by expressions (SpEL, JSONata, output headers, key expressions) and how an
// expression's result becomes a payload again. One place, so every stage agrees.

/**
 * The payload as expressions see it: parsed JSON when the content type says JSON (or is absent and the bytes parse),
 * else the UTF-8 text. A JSON content type whose bytes do not parse is still given as text: the expression decides.
 */
export function payloadView(payload: Buffer, contentType: string | undefined): unknown {
  const text = payload.toString('utf8');
  if (contentType !== undefined && contentType !== '' && !/json/i.test(contentType)) return text;
  const first = firstNonSpace(text);
  // Cheap pre-check: only attempt a parse when the text can be JSON, so plain text costs no exception.
  if (first === undefined || !/[[{"\-0-9tfn]/.test(first)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function firstNonSpace(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== ' ' && ch !== '\n' && ch !== '\r' && ch !== '\t') return ch;
  }
  return undefined;
}

/** An expression result as the outbound payload: strings verbatim, everything else as JSON. */
export interface EncodedResult {
  payload: Buffer;
  /** True when the result was a structured value (map/list/number/boolean) serialised as JSON. */
  structured: boolean;
}

/** The expression produced nothing usable as a payload (null/undefined). */
export class EmptyResultError extends Error {
  constructor(message = 'the expression produced no value (null): a message payload must not be empty') {
    super(message);
    this.name = 'EmptyResultError';
  }
}

export function encodeResult(value: unknown): EncodedResult {
  if (value === null || value === undefined) throw new EmptyResultError();
  if (typeof value === 'string') return { payload: Buffer.from(value, 'utf8'), structured: false };
  if (Buffer.isBuffer(value)) return { payload: value, structured: false };
  return { payload: Buffer.from(JSON.stringify(value), 'utf8'), structured: true };
}
