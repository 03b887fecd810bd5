// The one result shape every expression parser in crds/expressions returns. Parsers never throw on bad user text:
// the API server turns an error into a FieldIssue and the language server into a diagnostic at `offset`.

/** `offset` is the 0-based character index of the problem inside the parsed text (for editor ranges). */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string; offset: number };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T>(error: string, offset: number): ParseResult<T> {
  return { ok: false, error, offset: Math.max(0, offset) };
}
