// Parser for the documented subset of Spring Expression Language (SpEL) used by `srp.spel.expression` and a
// Stream's `keyExpression` (subset documented in processor/expressions/README.md). The root object is the message:
// `payload` and `headers`. Anything outside the subset (type references `T(...)`, constructors, bean references,
// assignment, selection/projection, unknown functions or methods) is rejected here with the offset of the
// offending token, so the API server refuses it at validation time and the editor underlines it.
// Pure TypeScript: imported by the API server, the processor and the VS Code language server.

import { fail, ok, type ParseResult } from './result';

interface Span {
  /** 0-based offset of the node's first character. */
  start: number;
  /** 0-based offset just past the node's last character. */
  end: number;
}

export type SpelLiteralValue = string | number | boolean | null;

export type SpelBinaryOperator =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'and'
  | 'or'
  | 'matches';

export type SpelNode =
  /** `real` marks a number written as a real (`2.0`, `1e3`, `2d`): Java divides it without truncation. */
  | (Span & { kind: 'literal'; value: SpelLiteralValue; real?: true })
  /** A property of the root message: `payload` or `headers`. */
  | (Span & { kind: 'root'; name: 'payload' | 'headers' })
  /** `#root` or `#this`: the message itself. */
  | (Span & { kind: 'variable'; name: 'root' | 'this' })
  | (Span & { kind: 'member'; object: SpelNode; name: string; safe: boolean })
  | (Span & { kind: 'index'; object: SpelNode; index: SpelNode; safe: boolean })
  | (Span & { kind: 'method'; object: SpelNode; name: string; args: SpelNode[]; safe: boolean })
  | (Span & { kind: 'function'; name: 'jsonPath'; args: SpelNode[] })
  | (Span & { kind: 'unary'; op: '-' | '+' | '!'; operand: SpelNode })
  | (Span & { kind: 'binary'; op: SpelBinaryOperator; left: SpelNode; right: SpelNode })
  | (Span & { kind: 'ternary'; test: SpelNode; then: SpelNode; otherwise: SpelNode })
  | (Span & { kind: 'elvis'; value: SpelNode; fallback: SpelNode })
  | (Span & { kind: 'list'; items: SpelNode[] })
  | (Span & { kind: 'map'; entries: Array<{ key: SpelNode; value: SpelNode }> });

/** Methods callable on strings, with the argument counts they accept. */
export const SPEL_STRING_METHODS: Readonly<Record<string, readonly number[]>> = {
  toUpperCase: [0],
  toLowerCase: [0],
  substring: [1, 2],
  length: [0],
  trim: [0],
  contains: [1],
  startsWith: [1],
  endsWith: [1],
  replace: [2],
  split: [1],
  concat: [1],
  indexOf: [1],
  lastIndexOf: [1],
  equals: [1],
  equalsIgnoreCase: [1],
  isEmpty: [0],
  charAt: [1],
  toString: [0],
};

/** Methods callable on lists and maps (JSON arrays and objects, `headers`). */
export const SPEL_COLLECTION_METHODS: Readonly<Record<string, readonly number[]>> = {
  size: [0],
  get: [1],
  containsKey: [1],
  isEmpty: [0],
  contains: [1],
  toString: [0],
};

/** Functions callable with `#name(...)`. */
export const SPEL_FUNCTIONS: Readonly<Record<string, number>> = { jsonPath: 2 };

type TokenKind = 'ident' | 'number' | 'string' | 'punct' | 'end';

interface Token {
  kind: TokenKind;
  /** Identifier name, operator text, or the raw number text. */
  text: string;
  /** Decoded value for string and number literals. */
  value?: string | number;
  start: number;
  end: number;
}

class SpelSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

// Longest first: the tokenizer takes the first match.
const PUNCTUATION = [
  '?.',
  '?[',
  '?:',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '![',
  '^[',
  '$[',
  '++',
  '--',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  '?',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '!',
  '<',
  '>',
  '=',
  '#',
  '@',
  '&',
];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const ch = text[pos];
    if (/\s/.test(ch)) {
      pos++;
      continue;
    }
    const start = pos;
    if (ch === "'" || ch === '"') {
      // SpEL escapes the quote character by doubling it: 'it''s'.
      let value = '';
      pos++;
      for (;;) {
        if (pos >= text.length) throw new SpelSyntaxError('unterminated string literal', start);
        if (text[pos] === ch) {
          if (text[pos + 1] === ch) {
            value += ch;
            pos += 2;
            continue;
          }
          pos++;
          break;
        }
        value += text[pos++];
      }
      tokens.push({ kind: 'string', text: text.slice(start, pos), value, start, end: pos });
      continue;
    }
    if (/[0-9]/.test(ch)) {
      const hex = /^0[xX][0-9a-fA-F]+[lL]?/.exec(text.slice(pos));
      if (hex) {
        pos += hex[0].length;
        tokens.push({ kind: 'number', text: hex[0], value: parseInt(hex[0].replace(/[lL]$/, ''), 16), start, end: pos });
        continue;
      }
      const num = /^[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?[lLdDfF]?/.exec(text.slice(pos));
      const raw = num ? num[0] : ch;
      pos += raw.length;
      if (/[A-Za-z_$]/.test(text[pos] ?? '')) {
        throw new SpelSyntaxError(`invalid number literal '${raw}${text[pos]}'`, start);
      }
      tokens.push({ kind: 'number', text: raw, value: Number(raw.replace(/[lLdDfF]$/, '')), start, end: pos });
      continue;
    }
    if (/[A-Za-z_$]/.test(ch)) {
      const ident = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(pos));
      const name = ident ? ident[0] : ch;
      pos += name.length;
      tokens.push({ kind: 'ident', text: name, start, end: pos });
      continue;
    }
    const punct = PUNCTUATION.find((p) => text.startsWith(p, pos));
    if (!punct) throw new SpelSyntaxError(`unexpected character '${ch}'`, pos);
    pos += punct.length;
    tokens.push({ kind: 'punct', text: punct, start, end: pos });
  }
  tokens.push({ kind: 'end', text: '', start: text.length, end: text.length });
  return tokens;
}

const WORD_OPERATORS: Record<string, SpelBinaryOperator> = {
  eq: '==',
  ne: '!=',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  div: '/',
  mod: '%',
  and: 'and',
  or: 'or',
  matches: 'matches',
};

const RELATIONAL = new Set<SpelBinaryOperator>(['==', '!=', '<', '<=', '>', '>=', 'matches']);

class Parser {
  private index = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): SpelNode {
    if (this.peek().kind === 'end') throw new SpelSyntaxError('expression is empty', 0);
    const node = this.expression();
    const next = this.peek();
    if (next.kind !== 'end') {
      if (next.text === '=') this.rejectAssignment(next);
      throw new SpelSyntaxError(`unexpected '${next.text}' after the end of the expression`, next.start);
    }
    return node;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  private isPunct(text: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'punct' && token.text === text;
  }

  private expect(text: string, context: string): Token {
    const token = this.peek();
    if (token.kind !== 'punct' || token.text !== text) {
      const found = token.kind === 'end' ? 'the end of the expression' : `'${token.text}'`;
      throw new SpelSyntaxError(`expected '${text}' ${context}, found ${found}`, token.start);
    }
    return this.next();
  }

  private rejectAssignment(token: Token): never {
    throw new SpelSyntaxError("assignment '=' is not supported (did you mean '=='?)", token.start);
  }

  private wordOperator(): SpelBinaryOperator | undefined {
    const token = this.peek();
    if (token.kind !== 'ident') return undefined;
    const lower = token.text.toLowerCase();
    if (lower === 'instanceof' || lower === 'between') {
      throw new SpelSyntaxError(`operator '${token.text}' is not in the supported SpEL subset`, token.start);
    }
    return WORD_OPERATORS[lower];
  }

  // expression := or ( '?' expression ':' expression | '?:' expression )?
  private expression(): SpelNode {
    const test = this.or();
    if (this.isPunct('?:')) {
      this.next();
      const fallback = this.expression();
      return { kind: 'elvis', value: test, fallback, start: test.start, end: fallback.end };
    }
    if (this.isPunct('?')) {
      this.next();
      const then = this.expression();
      this.expect(':', "in the conditional 'test ? a : b'");
      const otherwise = this.expression();
      return { kind: 'ternary', test, then, otherwise, start: test.start, end: otherwise.end };
    }
    if (this.isPunct('=')) this.rejectAssignment(this.peek());
    return test;
  }

  private or(): SpelNode {
    let left = this.and();
    while (this.isPunct('||') || this.wordOperator() === 'or') {
      this.next();
      const right = this.and();
      left = { kind: 'binary', op: 'or', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private and(): SpelNode {
    let left = this.relational();
    while (this.isPunct('&&') || this.wordOperator() === 'and') {
      this.next();
      const right = this.relational();
      left = { kind: 'binary', op: 'and', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private relational(): SpelNode {
    const left = this.additive();
    const token = this.peek();
    let op: SpelBinaryOperator | undefined;
    if (token.kind === 'punct' && RELATIONAL.has(token.text as SpelBinaryOperator)) op = token.text as SpelBinaryOperator;
    else {
      const word = this.wordOperator();
      if (word && RELATIONAL.has(word)) op = word;
    }
    if (!op) return left;
    this.next();
    const right = this.additive();
    return { kind: 'binary', op, left, right, start: left.start, end: right.end };
  }

  private additive(): SpelNode {
    let left = this.multiplicative();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next().text as '+' | '-';
      const right = this.multiplicative();
      left = { kind: 'binary', op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private multiplicative(): SpelNode {
    let left = this.power();
    for (;;) {
      let op: SpelBinaryOperator | undefined;
      if (this.isPunct('*') || this.isPunct('/') || this.isPunct('%')) op = this.peek().text as SpelBinaryOperator;
      else {
        const word = this.wordOperator();
        if (word === '/' || word === '%') op = word;
      }
      if (!op) return left;
      this.next();
      const right = this.power();
      left = { kind: 'binary', op, left, right, start: left.start, end: right.end };
    }
  }

  private power(): SpelNode {
    const base = this.unary();
    if (this.isPunct('^')) {
      this.next();
      const exponent = this.unary();
      return { kind: 'binary', op: '^', left: base, right: exponent, start: base.start, end: exponent.end };
    }
    return base;
  }

  private unary(): SpelNode {
    const token = this.peek();
    if (token.kind === 'punct' && (token.text === '++' || token.text === '--')) {
      throw new SpelSyntaxError(`operator '${token.text}' (increment/decrement) is not supported`, token.start);
    }
    const isNot = (token.kind === 'punct' && token.text === '!') || (token.kind === 'ident' && token.text.toLowerCase() === 'not');
    if (isNot || (token.kind === 'punct' && (token.text === '-' || token.text === '+'))) {
      this.next();
      const operand = this.unary();
      const op = isNot ? '!' : (token.text as '-' | '+');
      return { kind: 'unary', op, operand, start: token.start, end: operand.end };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: SpelNode): SpelNode {
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'punct') return node;
      if (token.text === '.' || token.text === '?.') {
        this.next();
        const safe = token.text === '?.';
        const name = this.peek();
        if (name.kind !== 'ident') {
          throw new SpelSyntaxError(`expected a property or method name after '${token.text}'`, name.start);
        }
        this.next();
        if (this.isPunct('(')) {
          const args = this.arguments();
          this.checkMethod(name, args.nodes.length);
          node = { kind: 'method', object: node, name: name.text, args: args.nodes, safe, start: node.start, end: args.end };
        } else {
          node = { kind: 'member', object: node, name: name.text, safe, start: node.start, end: name.end };
        }
        continue;
      }
      if (token.text === '[') {
        this.next();
        const index = this.expression();
        const close = this.expect(']', 'to close the index');
        node = { kind: 'index', object: node, index, safe: false, start: node.start, end: close.end };
        continue;
      }
      if (token.text === '?[' || token.text === '![' || token.text === '^[' || token.text === '$[') {
        throw new SpelSyntaxError(
          `collection selection/projection '${token.text}...]' is not in the supported SpEL subset`,
          token.start,
        );
      }
      return node;
    }
  }

  private arguments(): { nodes: SpelNode[]; end: number } {
    this.expect('(', 'to start the arguments');
    const nodes: SpelNode[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        nodes.push(this.expression());
        if (!this.isPunct(',')) break;
        this.next();
      }
    }
    const close = this.expect(')', 'to close the argument list');
    return { nodes, end: close.end };
  }

  private checkMethod(name: Token, argCount: number): void {
    const arities = SPEL_STRING_METHODS[name.text] ?? SPEL_COLLECTION_METHODS[name.text];
    if (!arities) {
      const supported = [...new Set([...Object.keys(SPEL_STRING_METHODS), ...Object.keys(SPEL_COLLECTION_METHODS)])];
      throw new SpelSyntaxError(
        `method '${name.text}' is not in the supported SpEL subset (supported: ${supported.join(', ')})`,
        name.start,
      );
    }
    const allowed = new Set([...(SPEL_STRING_METHODS[name.text] ?? []), ...(SPEL_COLLECTION_METHODS[name.text] ?? [])]);
    if (!allowed.has(argCount)) {
      throw new SpelSyntaxError(
        `method '${name.text}' takes ${[...allowed].join(' or ')} argument(s), not ${argCount}`,
        name.start,
      );
    }
  }

  private primary(): SpelNode {
    const token = this.peek();
    switch (token.kind) {
      case 'end':
        throw new SpelSyntaxError('unexpected end of expression', token.start);
      case 'string':
        this.next();
        return { kind: 'literal', value: token.value as string, start: token.start, end: token.end };
      case 'number': {
        this.next();
        const literal: SpelNode = { kind: 'literal', value: token.value as number, start: token.start, end: token.end };
        if (/^[0-9]/.test(token.text) && !/^0[xX]/.test(token.text) && /[.eEdDfF]/.test(token.text)) literal.real = true;
        return literal;
      }
      case 'ident':
        return this.identifier();
      case 'punct':
        break;
    }
    switch (token.text) {
      case '(': {
        this.next();
        const inner = this.expression();
        const close = this.expect(')', 'to close the parenthesis');
        return { ...inner, start: token.start, end: close.end };
      }
      case '{':
        return this.inlineCollection();
      case '#':
        return this.hashReference();
      case '@':
      case '&':
        throw new SpelSyntaxError(`bean references ('${token.text}name') are not allowed in the SpEL subset`, token.start);
      default:
        throw new SpelSyntaxError(`unexpected '${token.text}'`, token.start);
    }
  }

  private identifier(): SpelNode {
    const token = this.next();
    const lower = token.text.toLowerCase();
    if (lower === 'true' || lower === 'false') {
      return { kind: 'literal', value: lower === 'true', start: token.start, end: token.end };
    }
    if (lower === 'null') return { kind: 'literal', value: null, start: token.start, end: token.end };
    if (token.text === 'T' && this.isPunct('(')) {
      throw new SpelSyntaxError('type references T(...) are not allowed: the SpEL subset cannot reach Java types', token.start);
    }
    if (lower === 'new') {
      throw new SpelSyntaxError("constructors ('new ...') are not allowed in the SpEL subset", token.start);
    }
    if (this.isPunct('(')) {
      throw new SpelSyntaxError(
        `'${token.text}(...)' is not a supported function: call methods on a value (e.g. payload.trim()) or use #jsonPath(...)`,
        token.start,
      );
    }
    if (token.text === 'payload' || token.text === 'headers') {
      return { kind: 'root', name: token.text, start: token.start, end: token.end };
    }
    throw new SpelSyntaxError(
      `unknown property '${token.text}': the message has only 'payload' and 'headers' (e.g. payload.${token.text})`,
      token.start,
    );
  }

  private hashReference(): SpelNode {
    const hash = this.next();
    const name = this.peek();
    if (name.kind !== 'ident' || name.start !== hash.end) {
      throw new SpelSyntaxError("expected a function or variable name after '#'", name.start);
    }
    this.next();
    if (this.isPunct('(')) {
      const arity = SPEL_FUNCTIONS[name.text];
      if (arity === undefined) {
        throw new SpelSyntaxError(`unknown function '#${name.text}': the SpEL subset supports #jsonPath(payload, '$.path')`, hash.start);
      }
      const args = this.arguments();
      if (args.nodes.length !== arity) {
        throw new SpelSyntaxError(`#${name.text} takes ${arity} arguments, not ${args.nodes.length}`, hash.start);
      }
      if (name.text === 'jsonPath') {
        const path = args.nodes[1];
        if (path.kind === 'literal' && typeof path.value === 'string') {
          const checked = parseJsonPath(path.value);
          if (!checked.ok) throw new SpelSyntaxError(`invalid JSON path: ${checked.error}`, path.start + 1 + checked.offset);
        }
      }
      return { kind: 'function', name: 'jsonPath', args: args.nodes, start: hash.start, end: args.end };
    }
    if (name.text === 'root' || name.text === 'this') {
      return { kind: 'variable', name: name.text, start: hash.start, end: name.end };
    }
    throw new SpelSyntaxError(`unknown variable '#${name.text}': only #root and #this are defined`, hash.start);
  }

  private inlineCollection(): SpelNode {
    const open = this.next();
    if (this.isPunct('}')) {
      const close = this.next();
      return { kind: 'list', items: [], start: open.start, end: close.end };
    }
    if (this.isPunct(':') && this.isPunct('}', 1)) {
      this.next();
      const close = this.next();
      return { kind: 'map', entries: [], start: open.start, end: close.end };
    }
    const first = this.mapKeyOrItem();
    if (this.isPunct(':')) {
      const entries: Array<{ key: SpelNode; value: SpelNode }> = [];
      let key = first;
      for (;;) {
        this.expect(':', 'between a map key and its value');
        entries.push({ key, value: this.expression() });
        if (!this.isPunct(',')) break;
        this.next();
        key = this.mapKeyOrItem();
      }
      const close = this.expect('}', 'to close the inline map');
      return { kind: 'map', entries, start: open.start, end: close.end };
    }
    const items = [first];
    while (this.isPunct(',')) {
      this.next();
      items.push(this.expression());
    }
    const close = this.expect('}', 'to close the inline list');
    return { kind: 'list', items, start: open.start, end: close.end };
  }

  /** In an inline map a bare identifier key is its own name (`{team: payload.team}`), as in SpEL. */
  private mapKeyOrItem(): SpelNode {
    const token = this.peek();
    if (token.kind === 'ident' && this.isPunct(':', 1)) {
      this.next();
      return { kind: 'literal', value: token.text, start: token.start, end: token.end };
    }
    return this.expression();
  }
}

/** Parses a SpEL expression of the supported subset into an AST with source offsets. */
export function parseSpel(text: string): ParseResult<SpelNode> {
  try {
    return ok(new Parser(tokenize(text)).parse());
  } catch (error: unknown) {
    if (error instanceof SpelSyntaxError) return fail(error.message, error.offset);
    throw error;
  }
}

/** One step of a JSON path: a field name or an array index; `*` = every element/value. */
export type JsonPathStep = { kind: 'field'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

/**
 * The JSON path subset `#jsonPath` understands: `$`, `.name`, `['name']`, `[n]`, `[*]`, `.*`.
 * Offsets are relative to the path text.
 */
export function parseJsonPath(path: string): ParseResult<JsonPathStep[]> {
  const steps: JsonPathStep[] = [];
  let pos = 0;
  if (path[0] !== '$') return fail("a JSON path starts with '$'", 0);
  pos = 1;
  while (pos < path.length) {
    if (path.startsWith('..', pos)) return fail("deep scan '..' is not supported", pos);
    if (path[pos] === '.') {
      pos++;
      if (path[pos] === '*') {
        steps.push({ kind: 'wildcard' });
        pos++;
        continue;
      }
      const match = /^[A-Za-z0-9_$@-]+/.exec(path.slice(pos));
      if (!match) return fail("expected a field name after '.'", pos);
      steps.push({ kind: 'field', name: match[0] });
      pos += match[0].length;
      continue;
    }
    if (path[pos] === '[') {
      const rest = path.slice(pos);
      const quoted = /^\[\s*(['"])((?:(?!\1).)*)\1\s*\]/.exec(rest);
      if (quoted) {
        steps.push({ kind: 'field', name: quoted[2] });
        pos += quoted[0].length;
        continue;
      }
      const numeric = /^\[\s*(\d+)\s*\]/.exec(rest);
      if (numeric) {
        steps.push({ kind: 'index', index: Number(numeric[1]) });
        pos += numeric[0].length;
        continue;
      }
      const star = /^\[\s*\*\s*\]/.exec(rest);
      if (star) {
        steps.push({ kind: 'wildcard' });
        pos += star[0].length;
        continue;
      }
      return fail("unsupported bracket expression: use ['name'], [n] or [*] (filters and slices are not supported)", pos);
    }
    return fail(`unexpected '${path[pos]}' in JSON path`, pos);
  }
  return ok(steps);
}
