// `srp.output.headers`: "h1=expr;h2=expr". `header.X` copies inbound header X; `payload.a.b` (or `$.a.b`) reads a
// field of the OUTBOUND payload (after transforms/UDF), as in the original.

import { fail, ok, type ParseResult } from './result';

export type OutputHeaderSource = { kind: 'header'; name: string } | { kind: 'payload'; path: string[] };

export interface OutputHeader {
  name: string;
  source: OutputHeaderSource;
}

const HEADER_NAME = /^[A-Za-z0-9_.-]+$/;
const SEGMENT = /^(?:[A-Za-z_$][A-Za-z0-9_$-]*|\[\d+\]|\['[^']*'\])/;

export function parseOutputHeaders(text: string): ParseResult<OutputHeader[]> {
  const headers: OutputHeader[] = [];
  let start = 0;
  for (const segment of text.split(';')) {
    const segmentStart = start;
    start += segment.length + 1;
    if (segment.trim() === '') continue;
    const nameOffset = segmentStart + (segment.length - segment.trimStart().length);
    const eq = segment.indexOf('=');
    if (eq < 0) return fail(`expected NAME=EXPRESSION in '${segment.trim()}'`, nameOffset);
    const name = segment.slice(0, eq).trim();
    if (name === '') return fail('header name is empty', segmentStart + eq);
    if (!HEADER_NAME.test(name)) return fail(`invalid header name '${name}'`, nameOffset);
    if (headers.some((h) => h.name === name)) return fail(`header '${name}' is defined twice`, nameOffset);
    const rawExpr = segment.slice(eq + 1);
    const exprOffset = segmentStart + eq + 1 + (rawExpr.length - rawExpr.trimStart().length);
    const source = parseSource(rawExpr.trim(), exprOffset);
    if (!source.ok) return source;
    headers.push({ name, source: source.value });
  }
  return ok(headers);
}

function parseSource(expr: string, offset: number): ParseResult<OutputHeaderSource> {
  if (expr === '') return fail('expression is empty; expected header.<name> or payload.<path>', offset);
  if (expr.startsWith('header.') || expr.startsWith('headers.')) {
    const prefix = expr.startsWith('header.') ? 'header.' : 'headers.';
    const headerName = expr.slice(prefix.length);
    if (!HEADER_NAME.test(headerName)) return fail(`invalid header name '${headerName}'`, offset + prefix.length);
    return ok({ kind: 'header', name: headerName });
  }
  let rest: string;
  let pos: number;
  if (expr === 'payload' || expr === '$') return ok({ kind: 'payload', path: [] });
  if (expr.startsWith('payload')) {
    rest = expr.slice('payload'.length);
    pos = offset + 'payload'.length;
  } else if (expr.startsWith('$')) {
    rest = expr.slice(1);
    pos = offset + 1;
  } else {
    return fail(`unsupported header expression '${expr}': expected header.<name> or payload.<path>`, offset);
  }
  const path: string[] = [];
  while (rest.length > 0) {
    let piece = rest;
    let consumed = 0;
    if (piece.startsWith('.')) {
      piece = piece.slice(1);
      consumed = 1;
    } else if (!piece.startsWith('[')) {
      return fail(`expected '.' or '[' in payload path, found '${piece[0]}'`, pos);
    }
    const match = SEGMENT.exec(piece);
    if (!match) return fail('expected a field name in payload path', pos + consumed);
    const token = match[0];
    if (token.startsWith("['")) path.push(token.slice(2, -2));
    else if (token.startsWith('[')) path.push(token.slice(1, -1));
    else path.push(token);
    consumed += token.length;
    rest = rest.slice(consumed);
    pos += consumed;
  }
  return ok({ kind: 'payload', path });
}
