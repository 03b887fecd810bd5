// Tokens of the streaming SQL subset. The lexer never throws: text it cannot read becomes an `error` token carrying
// the message, so the parser reports it at the right place like any other syntax error. Offsets are into the
// statement exactly as written (placeholders included), which is what every AST span refers to.

export type TokenKind =
  /** A bare word: keyword or identifier (the parser decides; keywords are matched case-insensitively). */
  | 'word'
  /** A back-quoted identifier: `value` without the quotes, doubled back-quotes unescaped. */
  | 'quoted'
  /** A single-quoted string: `value` without the quotes, '' unescaped. */
  | 'string'
  | 'number'
  /** `[[STREAM:<name>]]`: `value` is the trimmed stream name. */
  | 'placeholder'
  /** Punctuation and operators: ( ) , . ; * + - / % || = <> != < <= > >= => */
  | 'op'
  | 'error'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The text as written. */
  text: string;
  /** Unquoted value (quoted, string, placeholder), the upper-cased word (word), the message (error), else the text. */
  value: string;
  start: number;
  end: number;
}

const OPERATORS = ['<>', '!=', '<=', '>=', '=>', '||', '(', ')', ',', '.', ';', '*', '+', '-', '/', '%', '=', '<', '>'];

const isWordStart = (c: string): boolean => /[A-Za-z_$\u00C0-\uFFFF]/.test(c);
const isWordPart = (c: string): boolean => /[A-Za-z0-9_$\u00C0-\uFFFF]/.test(c);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: string): void => {
    const raw = text.slice(start, end);
    tokens.push({ kind, text: raw, value: value ?? raw, start, end });
  };
  while (pos < text.length) {
    const c = text[pos];
    if (/\s/.test(c)) {
      pos++;
      continue;
    }
    if (c === '-' && text[pos + 1] === '-') {
      const nl = text.indexOf('\n', pos);
      pos = nl < 0 ? text.length : nl + 1;
      continue;
    }
    if (c === '/' && text[pos + 1] === '*') {
      const close = text.indexOf('*/', pos + 2);
      if (text[pos + 2] === '+') {
        // A hint changes what Flink runs (e.g. OPTIONS('scan.startup.mode'=...)): refuse it rather than skip it.
        const end = close < 0 ? text.length : close + 2;
        push('error', pos, end, 'SQL hints (/*+ ... */) are not supported; supported: Stream options (dataSchemaContext.options ddl.*)');
        pos = end;
        continue;
      }
      if (close < 0) {
        push('error', pos, text.length, 'unterminated /* comment */');
        pos = text.length;
        break;
      }
      pos = close + 2;
      continue;
    }
    const start = pos;
    if (text.startsWith('[[', pos)) {
      const close = text.indexOf(']]', pos);
      const m = /^\[\[\s*STREAM\s*:([^\]]*)$/i.exec(text.slice(pos, close < 0 ? undefined : close));
      if (close < 0 || !m) {
        const end = close < 0 ? text.length : close + 2;
        push('error', start, end, 'malformed placeholder: write [[STREAM:<stream name>]]');
        pos = end;
        continue;
      }
      const name = m[1].trim();
      pos = close + 2;
      if (name === '') push('error', start, pos, 'placeholder names no stream: write [[STREAM:<stream name>]]');
      else push('placeholder', start, pos, name);
      continue;
    }
    if (isWordStart(c)) {
      while (pos < text.length && isWordPart(text[pos])) pos++;
      push('word', start, pos, text.slice(start, pos).toUpperCase());
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[pos + 1] ?? ''))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(pos));
      pos += m ? m[0].length : 1;
      if (pos < text.length && isWordStart(text[pos])) {
        while (pos < text.length && isWordPart(text[pos])) pos++;
        push('error', start, pos, `invalid number '${text.slice(start, pos)}'`);
        continue;
      }
      push('number', start, pos);
      continue;
    }
    if (c === "'" || c === '`') {
      // Both quote styles escape their own quote by doubling it.
      let value = '';
      pos++;
      let closed = false;
      while (pos < text.length) {
        if (text[pos] === c) {
          if (text[pos + 1] === c) {
            value += c;
            pos += 2;
            continue;
          }
          pos++;
          closed = true;
          break;
        }
        value += text[pos++];
      }
      if (!closed) push('error', start, pos, c === "'" ? 'unterminated string literal' : 'unterminated `quoted` identifier');
      else if (c === '`' && value === '') push('error', start, pos, 'empty `quoted` identifier');
      else push(c === "'" ? 'string' : 'quoted', start, pos, value);
      continue;
    }
    if (c === '"') {
      const close = text.indexOf('"', pos + 1);
      pos = close < 0 ? text.length : close + 1;
      push('error', start, pos,
        'double quotes are not supported: quote identifiers with back-quotes (`name`) and strings with single quotes');
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, pos));
    if (op) {
      pos += op.length;
      push('op', start, pos);
      continue;
    }
    pos++;
    push('error', start, pos, `unexpected character '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '', value: '', start: text.length, end: text.length });
  return tokens;
}
