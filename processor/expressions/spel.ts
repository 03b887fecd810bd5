// Evaluator for the SpEL subset parsed by crds/expressions/spel.ts. An expression is compiled once into a tree of
// closures, then evaluated per message over `{ payload, headers }`. Semantics follow Spring's SpEL where a JSON
// document can express them (see README.md in this folder for the subset and every deliberate difference).

import { parseJsonPath, parseSpel, type JsonPathStep, type SpelNode } from '../../crds/expressions/spel';

/** The root object an expression sees: the message. `payload` is parsed JSON when the payload is JSON, else text. */
export interface SpelContext {
  payload: unknown;
  headers: Readonly<Record<string, string>>;
}

/** Evaluation failed (a type mismatch, a missing property, a bad index...). The runtime dead-letters the message. */
export class SpelEvaluationError extends Error {
  constructor(
    message: string,
    /** Offset of the sub-expression that failed, within the expression text. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'SpelEvaluationError';
  }
}

/** The expression could not be compiled (it is outside the subset). */
export class SpelCompileError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'SpelCompileError';
  }
}

export interface CompiledSpel {
  readonly source: string;
  evaluate(context: SpelContext): unknown;
}

type Evaluator = (context: SpelContext) => unknown;

/** Compiles once; throws SpelCompileError (with the parser's message and offset) on invalid text. */
export function compileSpel(source: string): CompiledSpel {
  const parsed = parseSpel(source);
  if (!parsed.ok) throw new SpelCompileError(`invalid SpEL expression: ${parsed.error} (at offset ${parsed.offset})`, parsed.offset);
  const evaluator = compileNode(parsed.value);
  return { source, evaluate: evaluator };
}

function compileNode(node: SpelNode): Evaluator {
  switch (node.kind) {
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'root':
      return node.name === 'payload' ? (context) => context.payload : (context) => context.headers;
    case 'variable':
      return (context) => context;
    case 'member':
      return compileMember(node.object, node.name, node.safe, node.start);
    case 'index': {
      const object = compileNode(node.object);
      const index = compileNode(node.index);
      const offset = node.start;
      return (context) => indexValue(object(context), index(context), offset);
    }
    case 'method': {
      const object = compileNode(node.object);
      const args = node.args.map(compileNode);
      const { name, safe, start } = node;
      return (context) => {
        const target = object(context);
        if (target === null || target === undefined) {
          if (safe) return null;
          throw new SpelEvaluationError(`method '${name}()' called on null (use ?. for safe navigation)`, start);
        }
        return callMethod(target, name, args.map((arg) => arg(context)), start);
      };
    }
    case 'function':
      return compileJsonPath(node.args, node.start);
    case 'unary': {
      const operand = compileNode(node.operand);
      const { op, start } = node;
      if (op === '!') return (context) => !toBoolean(operand(context), start, "operator '!'");
      return (context) => {
        const value = toNumber(operand(context), start, `unary '${op}'`);
        return op === '-' ? -value : value;
      };
    }
    case 'binary':
      return compileBinary(node.op, compileNode(node.left), compileNode(node.right), node.start, node.right.start, isReal(node.left) || isReal(node.right));
    case 'ternary': {
      const test = compileNode(node.test);
      const then = compileNode(node.then);
      const otherwise = compileNode(node.otherwise);
      const start = node.start;
      return (context) => (toBoolean(test(context), start, 'the condition of ?:') ? then(context) : otherwise(context));
    }
    case 'elvis': {
      const value = compileNode(node.value);
      const fallback = compileNode(node.fallback);
      // SpEL's Elvis treats an empty string like null.
      return (context) => {
        const result = value(context);
        return result === null || result === undefined || result === '' ? fallback(context) : result;
      };
    }
    case 'list': {
      const items = node.items.map(compileNode);
      return (context) => items.map((item) => item(context));
    }
    case 'map': {
      const entries = node.entries.map((entry) => ({ key: compileNode(entry.key), value: compileNode(entry.value) }));
      return (context) => {
        const result: Record<string, unknown> = {};
        for (const entry of entries) result[javaString(entry.key(context))] = entry.value(context);
        return result;
      };
    }
  }
}

function compileMember(objectNode: SpelNode, name: string, safe: boolean, offset: number): Evaluator {
  const object = compileNode(objectNode);
  return (context) => {
    const target = object(context);
    if (target === null || target === undefined) {
      if (safe) return null;
      throw new SpelEvaluationError(`cannot read property '${name}' of null (use ?. for safe navigation)`, offset);
    }
    if (target === context) return name === 'payload' ? context.payload : name === 'headers' ? context.headers : missing(name, offset);
    if (isRecord(target)) {
      if (Object.prototype.hasOwnProperty.call(target, name)) return target[name];
      return missing(name, offset);
    }
    throw new SpelEvaluationError(`cannot read property '${name}' of ${describe(target)}`, offset);
  };
}

function missing(name: string, offset: number): never {
  throw new SpelEvaluationError(`property '${name}' not found (use ['${name}'] to get null for a missing key)`, offset);
}

function indexValue(target: unknown, index: unknown, offset: number): unknown {
  if (target === null || target === undefined) {
    throw new SpelEvaluationError('cannot index into null', offset);
  }
  if (Array.isArray(target) || typeof target === 'string') {
    const position = toNumber(index, offset, 'an index');
    if (!Number.isInteger(position) || position < 0 || position >= target.length) {
      throw new SpelEvaluationError(`index ${javaString(index)} is out of bounds (size ${target.length})`, offset);
    }
    return target[position];
  }
  if (isRecord(target)) {
    const key = javaString(index);
    // Indexing a map yields null for a missing key, as SpEL does.
    return Object.prototype.hasOwnProperty.call(target, key) ? target[key] : null;
  }
  throw new SpelEvaluationError(`cannot index into ${describe(target)}`, offset);
}

function compileJsonPath(args: SpelNode[], offset: number): Evaluator {
  const document = compileNode(args[0]);
  const pathNode = args[1];
  // The usual case, a literal path, is parsed once here; a computed path is parsed per call.
  let fixedSteps: JsonPathStep[] | undefined;
  let fixedPath: string | undefined;
  if (pathNode.kind === 'literal' && typeof pathNode.value === 'string') {
    const steps = parseJsonPath(pathNode.value);
    if (!steps.ok) throw new SpelCompileError(`invalid JSON path: ${steps.error}`, pathNode.start);
    fixedSteps = steps.value;
    fixedPath = pathNode.value;
  }
  const pathEvaluator = compileNode(pathNode);
  return (context) => {
    let steps = fixedSteps;
    let path = fixedPath;
    if (!steps) {
      path = javaString(pathEvaluator(context));
      const parsed = parseJsonPath(path);
      if (!parsed.ok) throw new SpelEvaluationError(`invalid JSON path '${path}': ${parsed.error}`, offset);
      steps = parsed.value;
    }
    let root = document(context);
    if (typeof root === 'string' || Buffer.isBuffer(root)) {
      try {
        root = JSON.parse(root.toString());
      } catch {
        throw new SpelEvaluationError(`#jsonPath: the document is not JSON`, offset);
      }
    }
    return readJsonPath(root, steps, path ?? '', offset);
  };
}

function readJsonPath(root: unknown, steps: JsonPathStep[], path: string, offset: number): unknown {
  // A definite path yields one value; a wildcard makes the result a list (as Jayway JsonPath does).
  let current: unknown[] = [root];
  let definite = true;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === 'wildcard') {
        if (Array.isArray(value)) next.push(...value);
        else if (isRecord(value)) next.push(...Object.values(value));
      } else if (step.kind === 'index') {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
        else if (definite) throw new SpelEvaluationError(`#jsonPath: no value at '${path}'`, offset);
      } else if (isRecord(value) && Object.prototype.hasOwnProperty.call(value, step.name)) {
        next.push(value[step.name]);
      } else if (definite) {
        throw new SpelEvaluationError(`#jsonPath: no value at '${path}'`, offset);
      }
    }
    if (step.kind === 'wildcard') definite = false;
    current = next;
  }
  return definite ? current[0] : current;
}

/** A literal written as a real number, possibly negated: makes `/` a real division as in Java. */
function isReal(node: SpelNode): boolean {
  if (node.kind === 'literal') return node.real === true;
  return node.kind === 'unary' && isReal(node.operand);
}

function compileBinary(
  op: string,
  left: Evaluator,
  right: Evaluator,
  offset: number,
  rightOffset: number,
  realDivision: boolean,
): Evaluator {
  switch (op) {
    case 'and':
      return (c) => toBoolean(left(c), offset, "'and'") && toBoolean(right(c), rightOffset, "'and'");
    case 'or':
      return (c) => toBoolean(left(c), offset, "'or'") || toBoolean(right(c), rightOffset, "'or'");
    case '+':
      return (c) => add(left(c), right(c), offset);
    case '==':
      return (c) => equals(left(c), right(c));
    case '!=':
      return (c) => !equals(left(c), right(c));
    case '<':
      return (c) => compare(left(c), right(c), offset) < 0;
    case '<=':
      return (c) => compare(left(c), right(c), offset) <= 0;
    case '>':
      return (c) => compare(left(c), right(c), offset) > 0;
    case '>=':
      return (c) => compare(left(c), right(c), offset) >= 0;
    case 'matches':
      return (c) => {
        const text = left(c);
        const pattern = right(c);
        if (typeof text !== 'string' || typeof pattern !== 'string') {
          throw new SpelEvaluationError("'matches' needs a string on both sides", offset);
        }
        return regex(`^(?:${pattern})$`, offset).test(text);
      };
    default:
      return (c) =>
        arithmetic(op, toNumber(left(c), offset, `'${op}'`), toNumber(right(c), rightOffset, `'${op}'`), offset, realDivision);
  }
}

function arithmetic(op: string, a: number, b: number, offset: number, realDivision: boolean): number {
  switch (op) {
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      // Integers divide like Java ints (truncating); a division by zero is an error, not Infinity.
      if (!realDivision && Number.isInteger(a) && Number.isInteger(b)) {
        if (b === 0) throw new SpelEvaluationError('division by zero', offset);
        return Math.trunc(a / b);
      }
      return a / b;
    case '%':
      if (Number.isInteger(a) && Number.isInteger(b) && b === 0) throw new SpelEvaluationError('division by zero', offset);
      return a % b;
    case '^':
      return Math.pow(a, b);
    default:
      throw new SpelEvaluationError(`unsupported operator '${op}'`, offset);
  }
}

function add(a: unknown, b: unknown, offset: number): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' || typeof b === 'string') return javaString(a) + javaString(b);
  throw new SpelEvaluationError(`operator '+' cannot combine ${describe(a)} and ${describe(b)}`, offset);
}

function equals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a === 'object' && typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

function compare(a: unknown, b: unknown, offset: number): number {
  // SpEL orders null before everything else.
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  throw new SpelEvaluationError(`cannot compare ${describe(a)} with ${describe(b)}`, offset);
}

function toBoolean(value: unknown, offset: number, where: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SpelEvaluationError(`${where} needs a boolean, got ${describe(value)}`, offset);
}

function toNumber(value: unknown, offset: number, where: string): number {
  if (typeof value === 'number') return value;
  throw new SpelEvaluationError(`${where} needs a number, got ${describe(value)}`, offset);
}

const regexCache = new Map<string, RegExp>();

function regex(pattern: string, offset: number): RegExp {
  let compiled = regexCache.get(pattern);
  if (!compiled) {
    try {
      compiled = new RegExp(pattern);
    } catch (error: unknown) {
      throw new SpelEvaluationError(`invalid regular expression: ${error instanceof Error ? error.message : String(error)}`, offset);
    }
    if (regexCache.size < 1000) regexCache.set(pattern, compiled);
  }
  return compiled;
}

function callMethod(target: unknown, name: string, args: unknown[], offset: number): unknown {
  if (typeof target === 'string') return callStringMethod(target, name, args, offset);
  if (Array.isArray(target) || isRecord(target)) return callCollectionMethod(target, name, args, offset);
  if (name === 'toString') return javaString(target);
  if (name === 'equals') return equals(target, args[0]);
  throw new SpelEvaluationError(`method '${name}()' is not available on ${describe(target)}`, offset);
}

function stringArg(args: unknown[], position: number, name: string, offset: number): string {
  const value = args[position];
  if (typeof value !== 'string') throw new SpelEvaluationError(`${name}() needs a string argument, got ${describe(value)}`, offset);
  return value;
}

function intArg(args: unknown[], position: number, name: string, offset: number): number {
  const value = args[position];
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new SpelEvaluationError(`${name}() needs an integer argument, got ${describe(value)}`, offset);
  }
  return value;
}

function callStringMethod(text: string, name: string, args: unknown[], offset: number): unknown {
  switch (name) {
    case 'toUpperCase':
      return text.toUpperCase();
    case 'toLowerCase':
      return text.toLowerCase();
    case 'length':
      return text.length;
    case 'trim':
      return text.trim();
    case 'isEmpty':
      return text.length === 0;
    case 'toString':
      return text;
    case 'substring': {
      const begin = intArg(args, 0, name, offset);
      const end = args.length > 1 ? intArg(args, 1, name, offset) : text.length;
      if (begin < 0 || end > text.length || begin > end) {
        throw new SpelEvaluationError(`substring(${begin}, ${end}) is out of range for a string of length ${text.length}`, offset);
      }
      return text.substring(begin, end);
    }
    case 'charAt': {
      const index = intArg(args, 0, name, offset);
      if (index < 0 || index >= text.length) {
        throw new SpelEvaluationError(`charAt(${index}) is out of range for a string of length ${text.length}`, offset);
      }
      return text[index];
    }
    case 'contains':
      return text.includes(stringArg(args, 0, name, offset));
    case 'startsWith':
      return text.startsWith(stringArg(args, 0, name, offset));
    case 'endsWith':
      return text.endsWith(stringArg(args, 0, name, offset));
    case 'indexOf':
      return text.indexOf(stringArg(args, 0, name, offset));
    case 'lastIndexOf':
      return text.lastIndexOf(stringArg(args, 0, name, offset));
    case 'concat':
      return text + stringArg(args, 0, name, offset);
    case 'equals':
      return args[0] === text;
    case 'equalsIgnoreCase':
      return typeof args[0] === 'string' && args[0].toLowerCase() === text.toLowerCase();
    case 'replace':
      // Java's String.replace(CharSequence, CharSequence) replaces every literal occurrence.
      return text.split(stringArg(args, 0, name, offset)).join(stringArg(args, 1, name, offset));
    case 'split': {
      // Java's String.split(regex) drops trailing empty strings.
      const parts = text.split(regex(stringArg(args, 0, name, offset), offset));
      while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
      return text === '' ? [''] : parts;
    }
    default:
      throw new SpelEvaluationError(`method '${name}()' is not available on a string`, offset);
  }
}

function callCollectionMethod(target: unknown[] | Record<string, unknown>, name: string, args: unknown[], offset: number): unknown {
  const isList = Array.isArray(target);
  switch (name) {
    case 'size':
      return isList ? target.length : Object.keys(target).length;
    case 'isEmpty':
      return (isList ? target.length : Object.keys(target).length) === 0;
    case 'get':
      return indexValue(target, args[0], offset);
    case 'contains':
      return isList ? target.some((item) => equals(item, args[0])) : Object.values(target).some((item) => equals(item, args[0]));
    case 'containsKey':
      if (isList) throw new SpelEvaluationError('containsKey() is not available on a list', offset);
      return Object.prototype.hasOwnProperty.call(target, javaString(args[0]));
    case 'toString':
      return javaString(target);
    default:
      throw new SpelEvaluationError(`method '${name}()' is not available on ${describe(target)}`, offset);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** String conversion used by `+` and map keys: null → "null", numbers as JS prints them, lists/maps as JSON. */
export function javaString(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}
