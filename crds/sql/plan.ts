// Semantic analysis of one FSQL statement into a logical plan: names resolved to field positions, types checked where
// cheap, window / join / Top-N patterns recognised, and the changelog mode of every node inferred (as Flink does) so
// that an updating result is never written into an insert-only sink.
//
// Pure (no Node APIs): the API server's admission and the VS Code language server import it; the processor compiles
// the plan into physical operators (processor/sql).
//
// Decisions (Flink-compatible where Flink has an answer):
//   - changelog mode per node: scans, calcs, window TVFs, window aggregates, INNER / interval joins and window Top-N
//     are insert-only; a GROUP BY without a window TVF is an upsert result keyed by its GROUP BY columns; a LEFT (or
//     RIGHT, planned as a swapped LEFT) JOIN is a retract result. An updating plan is accepted only by an upsert sink
//     with a primary key; an insert-only sink gets a diagnostic naming the reason. FULL JOIN is not supported.
//   - ROW_NUMBER() only in the window Top-N pattern (an updating Top-N would need retractions of ranks).
//   - Names: `[[STREAM:x]]` by SqlTable.stream, plain names by SqlTable.name (case-insensitive when unambiguous);
//     qualifiers are the table's (record) name and its alias; columns match exactly, else case-insensitively.
//   - WHERE conjuncts over one side of a join run below it; a regular join's output has no time attribute (Flink
//     1.14), an interval join's keeps both.
import type {
  BinaryExpr, Expr, FromItem, FunctionCall, Identifier, IntervalLiteral, Join, OverExpr, Select, SelectItem, Span,
  SqlDiagnostic, SqlType, SqlTypeName, Statement, TableName, WindowTableFunction,
} from './ast';
import type { SqlTable } from './table';

// ------------------------------------------------------------------------------------------------ types

/** Plan types: SQL types plus INTERVAL (milliseconds) and the type of a bare NULL literal. */
export type PlanTypeName = SqlTypeName | 'INTERVAL' | 'NULL';

export interface PlanType {
  name: PlanTypeName;
  nullable: boolean;
  /** TIMESTAMP(p), DECIMAL(p, s), VARCHAR(n) as declared. */
  params?: number[];
}

/** How a node's output changes over time (Flink's changelog modes). */
export type ChangelogMode = 'insert-only' | 'upsert' | 'retract';

export interface PlanField {
  name: string;
  type: PlanType;
  /** Names that may qualify this field (`Clicks.user_id`): the table's record name, its alias; lower-cased. */
  qualifiers: string[];
  /** A time attribute: rowtime (watermarked event time) or proctime (wall clock at read). */
  time?: 'rowtime' | 'proctime';
  /** Set on window_start / window_end / window_time produced by a window TVF, kept through aggregation. */
  window?: 'start' | 'end' | 'time';
}

export type PlanExpr =
  | { kind: 'field'; index: number; type: PlanType }
  | { kind: 'literal'; value: string | number | boolean | null; type: PlanType }
  /** Operators (`+`, `=`, `AND`, `NOT`, `NEG`, `IS NULL`, `IN`, `LIKE`, ...) and functions (`UPPER`, ...) alike. */
  | { kind: 'call'; op: string; args: PlanExpr[]; type: PlanType }
  | { kind: 'case'; whens: { when: PlanExpr; then: PlanExpr }[]; else?: PlanExpr; type: PlanType }
  | { kind: 'cast'; operand: PlanExpr; type: PlanType; try: boolean };

export type AggregateFunction = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX';

export interface AggregateCall {
  fn: AggregateFunction;
  /** Input field index; undefined for COUNT(*). */
  arg?: number;
  distinct: boolean;
  type: PlanType;
  /** As written, for EXPLAIN. */
  text: string;
}

export interface WindowSpec {
  fn: 'TUMBLE' | 'HOP' | 'CUMULATE';
  /** TUMBLE: size; HOP: size; CUMULATE: max size. */
  sizeMs: number;
  /** HOP: slide; CUMULATE: step; TUMBLE: = size. */
  stepMs: number;
  offsetMs: number;
}

interface NodeBase {
  fields: PlanField[];
  changelog: ChangelogMode;
  /** Upsert key (field positions) of an updating node. */
  upsertKey?: number[];
}

export interface ScanNode extends NodeBase { kind: 'scan'; table: SqlTable; /** rowtime field position */ rowtime?: number }
/** Filter then project, fused (both stateless). `projections` undefined = pass the input through. */
export interface CalcNode extends NodeBase { kind: 'calc'; input: PlanNode; condition?: PlanExpr; projections?: PlanExpr[] }
/** A window TVF: the input's fields plus window_start, window_end, window_time. */
export interface WindowNode extends NodeBase { kind: 'window'; input: PlanNode; window: WindowSpec; timeField: number; timeMode: 'event' | 'processing' }
export interface AggregateNode extends NodeBase {
  kind: 'aggregate';
  input: PlanNode;
  /** Input field positions, in GROUP BY order; output = keys then aggregates. */
  groupKeys: number[];
  aggregates: AggregateCall[];
  /** Window aggregation: positions (in the output) of window_start / window_end; else a regular (updating) one. */
  window?: { startKey: number; endKey: number; timeMode: 'event' | 'processing' };
}
export interface JoinNode extends NodeBase {
  kind: 'join';
  joinType: 'INNER' | 'LEFT';
  left: PlanNode;
  right: PlanNode;
  leftKeys: number[];
  rightKeys: number[];
  /** Non-equi part of ON, over left fields ++ right fields. */
  residual?: PlanExpr;
}
export interface IntervalJoinNode extends NodeBase {
  kind: 'intervalJoin';
  left: PlanNode;
  right: PlanNode;
  leftKeys: number[];
  rightKeys: number[];
  leftTime: number;
  rightTime: number;
  /** left.time − right.time ∈ [lowerMs, upperMs]. */
  lowerMs: number;
  upperMs: number;
  residual?: PlanExpr;
}
/** Window Top-N: input fields + the row number (BIGINT). */
export interface WindowRankNode extends NodeBase {
  kind: 'windowRank';
  input: PlanNode;
  partitionKeys: number[];
  orderBy: { field: number; descending: boolean }[];
  limit: number;
  windowEndField: number;
}

export type PlanNode = ScanNode | CalcNode | WindowNode | AggregateNode | JoinNode | IntervalJoinNode | WindowRankNode;

export interface SinkPlan {
  table: SqlTable;
  /** For each sink column (table.columns order): the input field written to it, or -1 for NULL. Virtual columns: -1. */
  columnMap: number[];
}

export interface LogicalPlan {
  statement: number;
  root: PlanNode;
  /** INSERT INTO: the target; a bare query has none. */
  sink?: SinkPlan;
}

// ------------------------------------------------------------------------------------------------ errors

class PlanError extends Error {
  constructor(readonly span: Span, message: string) {
    super(message);
  }
}

const fail = (span: Span, message: string): never => {
  throw new PlanError(span, message);
};

function position(text: string | undefined, offset: number): { line: number; column: number } {
  if (text === undefined) return { line: 1, column: offset + 1 };
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export function makeDiagnostic(statement: number, span: Span, message: string, text?: string): SqlDiagnostic {
  return { statement, span, ...position(text, span.start), message };
}

// ------------------------------------------------------------------------------------------------ type helpers

const t = (name: PlanTypeName, nullable = true): PlanType => ({ name, nullable });
const INTEGER_TYPES: ReadonlySet<PlanTypeName> = new Set(['TINYINT', 'SMALLINT', 'INT', 'BIGINT']);
const NUMERIC_RANK: Record<string, number> = { TINYINT: 1, SMALLINT: 2, INT: 3, BIGINT: 4, DECIMAL: 5, FLOAT: 6, DOUBLE: 7 };
export const isInteger = (type: PlanType): boolean => INTEGER_TYPES.has(type.name);
export const isNumeric = (type: PlanType): boolean => type.name in NUMERIC_RANK;
export const isTimestamp = (type: PlanType): boolean => type.name === 'TIMESTAMP' || type.name === 'TIMESTAMP_LTZ';
const isString = (type: PlanType): boolean => type.name === 'STRING';
const isNull = (type: PlanType): boolean => type.name === 'NULL';

function widerNumeric(a: PlanType, b: PlanType): PlanType {
  const name = NUMERIC_RANK[a.name] >= NUMERIC_RANK[b.name] ? a.name : b.name;
  return t(name, a.nullable || b.nullable);
}

export function typeText(type: PlanType): string {
  return type.params?.length ? `${type.name}(${type.params.join(', ')})` : type.name;
}

function fromSqlType(type: SqlType): PlanType {
  return { name: type.name, nullable: type.nullable, ...(type.params ? { params: type.params } : {}) };
}

/** Types two sides of a comparison / CASE / COALESCE may share. Strings compare with timestamps (parsed). */
function comparable(a: PlanType, b: PlanType): boolean {
  if (isNull(a) || isNull(b)) return true;
  if (isNumeric(a) && isNumeric(b)) return true;
  if (isTimestamp(a) && isTimestamp(b)) return true;
  if ((isTimestamp(a) || a.name === 'DATE') && isString(b)) return true;
  if ((isTimestamp(b) || b.name === 'DATE') && isString(a)) return true;
  return a.name === b.name;
}

function commonType(types: PlanType[], span: Span, what: string): PlanType {
  let result: PlanType = t('NULL');
  for (const type of types) {
    if (isNull(type)) continue;
    if (isNull(result)) result = { ...type };
    else if (isNumeric(result) && isNumeric(type)) result = widerNumeric(result, type);
    else if (!comparable(result, type)) fail(span, `${what}: ${typeText(result)} and ${typeText(type)} have no common type`);
    result = { ...result, nullable: result.nullable || type.nullable };
  }
  return result;
}

// ------------------------------------------------------------------------------------------------ functions

interface FunctionSignature {
  min: number;
  max: number;
  returns: (args: PlanType[], span: Span) => PlanType;
}

const anyNullable = (args: PlanType[]): boolean => args.some((a) => a.nullable);
const stringFn = (min: number, max: number): FunctionSignature => ({ min, max, returns: (args) => t('STRING', anyNullable(args)) });
const numericArg = (name: string) => (args: PlanType[], span: Span): PlanType => {
  if (!isNumeric(args[0]) && !isNull(args[0])) fail(span, `${name} expects a number, got ${typeText(args[0])}`);
  return isNull(args[0]) ? t('DOUBLE') : { name: args[0].name, nullable: args[0].nullable };
};

/** Scalar functions the engine implements (processor/sql/functions.ts). */
export const SCALAR_FUNCTIONS: Record<string, FunctionSignature> = {
  UPPER: stringFn(1, 1),
  LOWER: stringFn(1, 1),
  TRIM: stringFn(1, 1),
  LTRIM: stringFn(1, 1),
  RTRIM: stringFn(1, 1),
  INITCAP: stringFn(1, 1),
  CHAR_LENGTH: { min: 1, max: 1, returns: (a) => t('INT', anyNullable(a)) },
  CHARACTER_LENGTH: { min: 1, max: 1, returns: (a) => t('INT', anyNullable(a)) },
  LENGTH: { min: 1, max: 1, returns: (a) => t('INT', anyNullable(a)) },
  SUBSTRING: stringFn(2, 3),
  SUBSTR: stringFn(2, 3),
  CONCAT: stringFn(1, 64),
  CONCAT_WS: { min: 2, max: 64, returns: (a) => t('STRING', a[0].nullable) },
  REPLACE: stringFn(3, 3),
  POSITION: { min: 2, max: 2, returns: (a) => t('INT', anyNullable(a)) },
  LPAD: stringFn(3, 3),
  RPAD: stringFn(3, 3),
  ABS: { min: 1, max: 1, returns: numericArg('ABS') },
  CEIL: { min: 1, max: 1, returns: numericArg('CEIL') },
  CEILING: { min: 1, max: 1, returns: numericArg('CEILING') },
  FLOOR: { min: 1, max: 1, returns: numericArg('FLOOR') },
  ROUND: { min: 1, max: 2, returns: numericArg('ROUND') },
  MOD: { min: 2, max: 2, returns: (a, s) => (isInteger(a[0]) && isInteger(a[1]) ? t('INT', anyNullable(a)) : numericArg('MOD')(a, s)) },
  POWER: { min: 2, max: 2, returns: (a) => t('DOUBLE', anyNullable(a)) },
  SQRT: { min: 1, max: 1, returns: (a) => t('DOUBLE', anyNullable(a)) },
  COALESCE: { min: 1, max: 64, returns: (a, s) => ({ ...commonType(a, s, 'COALESCE'), nullable: a.every((x) => x.nullable) }) },
  NULLIF: { min: 2, max: 2, returns: (a) => ({ ...a[0], nullable: true }) },
  IF: { min: 3, max: 3, returns: (a, s) => commonType([a[1], a[2]], s, 'IF') },
  TO_TIMESTAMP: { min: 1, max: 2, returns: () => t('TIMESTAMP') },
  TO_TIMESTAMP_LTZ: { min: 1, max: 2, returns: () => t('TIMESTAMP_LTZ') },
  FROM_UNIXTIME: { min: 1, max: 2, returns: () => t('STRING') },
  UNIX_TIMESTAMP: { min: 0, max: 2, returns: () => t('BIGINT') },
  DATE_FORMAT: { min: 2, max: 2, returns: () => t('STRING') },
  CURRENT_TIMESTAMP: { min: 0, max: 0, returns: () => t('TIMESTAMP_LTZ', false) },
  LOCALTIMESTAMP: { min: 0, max: 0, returns: () => t('TIMESTAMP', false) },
  NOW: { min: 0, max: 0, returns: () => t('TIMESTAMP_LTZ', false) },
};

const AGGREGATES: ReadonlySet<string> = new Set(['COUNT', 'SUM', 'AVG', 'MIN', 'MAX']);

// ------------------------------------------------------------------------------------------------ scopes

/** The fields visible to expressions of one SELECT. */
interface Scope {
  fields: PlanField[];
}

function available(scope: Scope): string {
  const names = scope.fields.map((f) => (f.qualifiers[0] ? `${f.qualifiers[0]}.${f.name}` : f.name));
  return names.length ? names.join(', ') : '(none)';
}

function resolveColumn(scope: Scope, qualifier: Identifier | undefined, name: Identifier): number {
  const q = qualifier?.value.toLowerCase();
  const inQualifier = scope.fields
    .map((field, index) => ({ field, index }))
    .filter(({ field }) => q === undefined || field.qualifiers.includes(q));
  if (q !== undefined && inQualifier.length === 0) {
    const known = [...new Set(scope.fields.flatMap((f) => f.qualifiers.slice(0, 1)))];
    fail(qualifier!.span, `unknown table or alias '${qualifier!.value}'; known here: ${known.length ? known.join(', ') : '(none)'}`);
  }
  let matches = inQualifier.filter(({ field }) => field.name === name.value);
  if (matches.length === 0 && !name.quoted) matches = inQualifier.filter(({ field }) => field.name.toLowerCase() === name.value.toLowerCase());
  if (matches.length === 0) {
    const where = q !== undefined ? ` in '${qualifier!.value}'` : '';
    return fail(name.span, `unknown column '${name.value}'${where}; available columns: ${available({ fields: inQualifier.map((m) => m.field) })}`);
  }
  if (matches.length > 1) {
    return fail(name.span, `column '${name.value}' is ambiguous (${matches.map((m) => m.field.qualifiers[0] ?? '?').join(', ')}); qualify it`);
  }
  return matches[0].index;
}

// ------------------------------------------------------------------------------------------------ expressions

interface ExprContext {
  scope: Scope;
  /** Set while planning a SELECT list / HAVING over a GROUP BY: aggregates resolve here. */
  aggregation?: AggregationContext;
  /** Whether window functions (OVER) are allowed: only the Top-N pattern consumes them. */
  allowOver?: boolean;
}

interface AggregationContext {
  /** Input scope (before grouping). */
  input: Scope;
  /** GROUP BY keys as input field positions. */
  groupKeys: number[];
  aggregates: AggregateCall[];
  /** Output fields of the aggregate node: keys then aggregates. */
}

function literalType(value: Expr & { kind: 'literal' }): PlanType {
  if (value.typed) return t(value.typed, false);
  switch (value.type) {
    case 'string': return t('STRING', false);
    case 'integer': return t(Math.abs(Number(value.value)) > 2147483647 ? 'BIGINT' : 'INT', false);
    case 'decimal': return t('DOUBLE', false);
    case 'boolean': return t('BOOLEAN', false);
    default: return t('NULL');
  }
}

function parseTimestampLiteral(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, ms);
}

function planLiteral(expr: Expr & { kind: 'literal' }): PlanExpr {
  const type = literalType(expr);
  if (expr.typed === 'TIMESTAMP' || expr.typed === 'TIMESTAMP_LTZ' || expr.typed === 'DATE') {
    const ms = parseTimestampLiteral(String(expr.value));
    if (ms === undefined) fail(expr.span, `invalid ${expr.typed} literal '${String(expr.value)}' (expected 'yyyy-MM-dd HH:mm:ss[.SSS]')`);
    return { kind: 'literal', value: expr.typed === 'DATE' ? Math.floor(ms! / 86_400_000) : ms!, type };
  }
  return { kind: 'literal', value: expr.value, type };
}

function bool(expr: PlanExpr, span: Span, what: string): PlanExpr {
  if (expr.type.name !== 'BOOLEAN' && !isNull(expr.type)) fail(span, `${what} must be BOOLEAN, got ${typeText(expr.type)}`);
  return expr;
}

/** Converts a string literal compared with a timestamp / date into that type at plan time. */
function coerceLiteralTo(expr: PlanExpr, target: PlanType): PlanExpr {
  if (expr.kind !== 'literal' || typeof expr.value !== 'string') return expr;
  if (isTimestamp(target) || target.name === 'DATE') {
    const ms = parseTimestampLiteral(expr.value);
    if (ms !== undefined) return { kind: 'literal', value: target.name === 'DATE' ? Math.floor(ms / 86_400_000) : ms, type: { ...target, nullable: false } };
  }
  if (isNumeric(target) && expr.value.trim() !== '' && Number.isFinite(Number(expr.value))) {
    return { kind: 'literal', value: Number(expr.value), type: t(isInteger(target) ? 'BIGINT' : 'DOUBLE', false) };
  }
  return expr;
}

function planComparison(op: string, left: PlanExpr, right: PlanExpr, span: Span): PlanExpr {
  left = coerceLiteralTo(left, right.type);
  right = coerceLiteralTo(right, left.type);
  if (!comparable(left.type, right.type)) fail(span, `cannot compare ${typeText(left.type)} with ${typeText(right.type)}`);
  return { kind: 'call', op, args: [left, right], type: t('BOOLEAN', left.type.nullable || right.type.nullable) };
}

function planArithmetic(op: string, left: PlanExpr, right: PlanExpr, span: Span): PlanExpr {
  const lt = left.type;
  const rt = right.type;
  const nullable = lt.nullable || rt.nullable;
  if (op === '||') return { kind: 'call', op: 'CONCAT', args: [left, right], type: t('STRING', nullable) };
  // Time arithmetic: timestamp ± interval, timestamp − timestamp is not supported (use TIMESTAMPDIFF in Flink).
  if ((isTimestamp(lt) || lt.name === 'DATE') && rt.name === 'INTERVAL' && (op === '+' || op === '-')) {
    return { kind: 'call', op, args: [left, right], type: { ...lt, nullable } };
  }
  if (lt.name === 'INTERVAL' && isTimestamp(rt) && op === '+') return { kind: 'call', op, args: [right, left], type: { ...rt, nullable } };
  if (lt.name === 'INTERVAL' && rt.name === 'INTERVAL' && (op === '+' || op === '-')) return { kind: 'call', op, args: [left, right], type: t('INTERVAL', nullable) };
  if ((isNumeric(lt) || isNull(lt)) && (isNumeric(rt) || isNull(rt))) {
    const type = isNull(lt) ? rt : isNull(rt) ? lt : widerNumeric(lt, rt);
    // Flink: INT / INT is an integer division; `%` is MOD.
    return { kind: 'call', op, args: [left, right], type: { name: type.name === 'NULL' ? 'INT' : type.name, nullable } };
  }
  return fail(span, `operator ${op} is not defined for ${typeText(lt)} and ${typeText(rt)}`);
}

function intervalLiteral(expr: IntervalLiteral): PlanExpr {
  return { kind: 'literal', value: expr.millis, type: t('INTERVAL', false) };
}

function planExpr(expr: Expr, ctx: ExprContext): PlanExpr {
  switch (expr.kind) {
    case 'literal':
      return planLiteral(expr);
    case 'interval':
      return intervalLiteral(expr);
    case 'column': {
      if (ctx.aggregation) return groupedColumn(expr.qualifier, expr.name, ctx.aggregation, expr.span);
      const index = resolveColumn(ctx.scope, expr.qualifier, expr.name);
      return { kind: 'field', index, type: ctx.scope.fields[index].type };
    }
    case 'binary':
      return planBinary(expr, ctx);
    case 'unary': {
      const operand = planExpr(expr.operand, ctx);
      if (expr.op === 'NOT') return { kind: 'call', op: 'NOT', args: [bool(operand, expr.operand.span, 'NOT operand')], type: t('BOOLEAN', operand.type.nullable) };
      if (!isNumeric(operand.type) && operand.type.name !== 'INTERVAL' && !isNull(operand.type)) fail(expr.span, `unary ${expr.op} needs a number, got ${typeText(operand.type)}`);
      return expr.op === '-' ? { kind: 'call', op: 'NEG', args: [operand], type: operand.type } : operand;
    }
    case 'isNull': {
      const operand = planExpr(expr.operand, ctx);
      return { kind: 'call', op: expr.negated ? 'IS NOT NULL' : 'IS NULL', args: [operand], type: t('BOOLEAN', false) };
    }
    case 'between': {
      const operand = planExpr(expr.operand, ctx);
      const low = planComparison('>=', operand, planExpr(expr.low, ctx), expr.span);
      const high = planComparison('<=', operand, planExpr(expr.high, ctx), expr.span);
      const both: PlanExpr = { kind: 'call', op: 'AND', args: [low, high], type: t('BOOLEAN', low.type.nullable || high.type.nullable) };
      return expr.negated ? { kind: 'call', op: 'NOT', args: [both], type: both.type } : both;
    }
    case 'in': {
      const operand = planExpr(expr.operand, ctx);
      const list = expr.list.map((item) => {
        const planned = coerceLiteralTo(planExpr(item, ctx), operand.type);
        if (!comparable(operand.type, planned.type)) fail(item.span, `IN list item ${typeText(planned.type)} does not compare with ${typeText(operand.type)}`);
        return planned;
      });
      const nullable = operand.type.nullable || list.some((l) => l.type.nullable);
      const call: PlanExpr = { kind: 'call', op: 'IN', args: [operand, ...list], type: t('BOOLEAN', nullable) };
      return expr.negated ? { kind: 'call', op: 'NOT', args: [call], type: call.type } : call;
    }
    case 'like': {
      const operand = planExpr(expr.operand, ctx);
      const pattern = planExpr(expr.pattern, ctx);
      if (!isString(operand.type) && !isNull(operand.type)) fail(expr.operand.span, `LIKE needs a STRING, got ${typeText(operand.type)}`);
      const call: PlanExpr = { kind: 'call', op: 'LIKE', args: [operand, pattern], type: t('BOOLEAN', operand.type.nullable || pattern.type.nullable) };
      return expr.negated ? { kind: 'call', op: 'NOT', args: [call], type: call.type } : call;
    }
    case 'case': {
      const operand = expr.operand ? planExpr(expr.operand, ctx) : undefined;
      const whens = expr.whens.map((w) => {
        const when = operand ? planComparison('=', operand, planExpr(w.when, ctx), w.when.span) : bool(planExpr(w.when, ctx), w.when.span, 'WHEN condition');
        return { when, then: planExpr(w.then, ctx) };
      });
      const otherwise = expr.else ? planExpr(expr.else, ctx) : undefined;
      const type = commonType([...whens.map((w) => w.then.type), ...(otherwise ? [otherwise.type] : [])], expr.span, 'CASE branches');
      return { kind: 'case', whens, ...(otherwise ? { else: otherwise } : {}), type: { ...type, nullable: type.nullable || !otherwise } };
    }
    case 'cast': {
      const operand = planExpr(expr.operand, ctx);
      return { kind: 'cast', operand, type: { ...fromSqlType(expr.type), nullable: true }, try: expr.try };
    }
    case 'call':
      return planCall(expr, ctx);
    case 'over':
      return fail(expr.span, 'ROW_NUMBER() OVER (...) is supported only as window Top-N: SELECT ... FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, ... ORDER BY m DESC) AS rn FROM <window aggregation>) WHERE rn <= N');
  }
}

function planBinary(expr: BinaryExpr, ctx: ExprContext): PlanExpr {
  const left = planExpr(expr.left, ctx);
  const right = planExpr(expr.right, ctx);
  switch (expr.op) {
    case 'AND':
    case 'OR':
      bool(left, expr.left.span, `${expr.op} operand`);
      bool(right, expr.right.span, `${expr.op} operand`);
      return { kind: 'call', op: expr.op, args: [left, right], type: t('BOOLEAN', left.type.nullable || right.type.nullable) };
    case '=': case '<>': case '<': case '<=': case '>': case '>=':
      return planComparison(expr.op, left, right, expr.span);
    default:
      return planArithmetic(expr.op, left, right, expr.span);
  }
}

function planCall(expr: FunctionCall, ctx: ExprContext): PlanExpr {
  if (AGGREGATES.has(expr.name)) {
    if (!ctx.aggregation) return fail(expr.span, `aggregate ${expr.name} is allowed only in the SELECT list or HAVING of a GROUP BY query`);
    return planAggregate(expr, ctx.aggregation);
  }
  const signature = SCALAR_FUNCTIONS[expr.name];
  if (!signature) {
    return fail(expr.span, `unknown function ${expr.name}; supported: ${[...AGGREGATES, ...Object.keys(SCALAR_FUNCTIONS)].join(', ')}`);
  }
  if (expr.args.length < signature.min || expr.args.length > signature.max) {
    const expected = signature.min === signature.max ? `${signature.min}` : `${signature.min} to ${signature.max}`;
    fail(expr.span, `${expr.name} takes ${expected} argument(s), got ${expr.args.length}`);
  }
  const args = expr.args.map((a) => planExpr(a, ctx));
  if (expr.name === 'IF') bool(args[0], expr.args[0].span, 'IF condition');
  return { kind: 'call', op: expr.name, args, type: signature.returns(args.map((a) => a.type), expr.span) };
}

function groupedColumn(qualifier: Identifier | undefined, name: Identifier, agg: AggregationContext, span: Span): PlanExpr {
  const index = resolveColumn(agg.input, qualifier, name);
  const key = agg.groupKeys.indexOf(index);
  if (key < 0) {
    return fail(span, `column '${name.value}' must appear in GROUP BY or inside an aggregate (COUNT, SUM, AVG, MIN, MAX)`);
  }
  return { kind: 'field', index: key, type: agg.input.fields[index].type };
}

function planAggregate(expr: FunctionCall, agg: AggregationContext): PlanExpr {
  const fn = expr.name as AggregateFunction;
  let arg: number | undefined;
  let argType: PlanType | undefined;
  if (expr.star) {
    if (fn !== 'COUNT') fail(expr.span, `${fn}(*) is not valid; only COUNT(*)`);
  } else {
    if (expr.args.length !== 1) fail(expr.span, `${fn} takes one argument`);
    const inner = planExpr(expr.args[0], { scope: agg.input });
    if (inner.kind !== 'field') fail(expr.args[0].span, `${fn} over an expression is not supported; aggregate a column (compute it in a subquery)`);
    arg = (inner as { index: number }).index;
    argType = inner.type;
    if ((fn === 'SUM' || fn === 'AVG') && !isNumeric(argType)) fail(expr.args[0].span, `${fn} needs a numeric column, got ${typeText(argType)}`);
  }
  let type: PlanType;
  if (fn === 'COUNT') type = t('BIGINT', false);
  else if (fn === 'SUM') type = t(isInteger(argType!) ? 'BIGINT' : 'DOUBLE', true);
  else type = { ...argType!, nullable: true };
  const text = spanText(expr);
  const existing = agg.aggregates.findIndex((a) => a.fn === fn && a.arg === arg && a.distinct === expr.distinct);
  const index = existing >= 0 ? existing : agg.aggregates.push({ fn, ...(arg !== undefined ? { arg } : {}), distinct: expr.distinct, type, text }) - 1;
  return { kind: 'field', index: agg.groupKeys.length + index, type };
}

function spanText(expr: FunctionCall): string {
  return `${expr.name}(${expr.star ? '*' : `${expr.distinct ? 'DISTINCT ' : ''}…`})`;
}

// ------------------------------------------------------------------------------------------------ FROM

interface PlannerContext {
  tables: SqlTable[];
  statement: number;
}

function findTable(name: TableName, ctx: PlannerContext): SqlTable {
  if (name.kind === 'stream') {
    const table = ctx.tables.find((tb) => tb.stream === name.stream);
    if (!table) return fail(name.span, `unknown stream '${name.stream}'; known streams: ${ctx.tables.map((tb) => tb.stream).join(', ') || '(none)'}`);
    return table;
  }
  const exact = ctx.tables.filter((tb) => tb.name === name.name);
  if (exact.length === 1) return exact[0];
  const loose = ctx.tables.filter((tb) => tb.name.toLowerCase() === name.name.toLowerCase() || tb.stream === name.name);
  if (loose.length === 1) return loose[0];
  if (loose.length > 1) return fail(name.span, `table '${name.name}' is ambiguous: ${loose.map((tb) => `${tb.name} (stream ${tb.stream})`).join(', ')}`);
  return fail(name.span, `unknown table '${name.name}'; known tables: ${ctx.tables.map((tb) => tb.name).join(', ') || '(none)'}`);
}

function scanNode(table: SqlTable, alias: Identifier | undefined): ScanNode {
  const qualifiers = alias ? [alias.value.toLowerCase(), table.name.toLowerCase()] : [table.name.toLowerCase()];
  const fields: PlanField[] = table.columns.map((c) => {
    const time = c.source === 'proctime' ? 'proctime' : table.watermark?.column === c.name ? 'rowtime' : undefined;
    return { name: c.name, type: fromSqlType(c.type), qualifiers, ...(time ? { time } : {}) };
  });
  const rowtime = table.watermark ? table.columns.findIndex((c) => c.name === table.watermark!.column) : -1;
  return { kind: 'scan', table, fields, changelog: 'insert-only', ...(rowtime >= 0 ? { rowtime } : {}) };
}

function requalify(node: PlanNode, alias: Identifier | undefined): PlanNode {
  if (!alias) return node;
  const q = alias.value.toLowerCase();
  return { ...node, fields: node.fields.map((f) => ({ ...f, qualifiers: [q, ...f.qualifiers.filter((x) => x !== q)] })) };
}

function planFrom(from: FromItem, ctx: PlannerContext): PlanNode {
  switch (from.kind) {
    case 'table':
      return scanNode(findTable(from.table, ctx), from.alias);
    case 'subquery':
      return requalify(planSelect(from.query, ctx), from.alias);
    case 'window':
      return planWindow(from, ctx);
    case 'join':
      return planJoin(from, ctx);
  }
}

function planWindow(from: WindowTableFunction, ctx: PlannerContext): PlanNode {
  const input = planFrom(from.source, ctx);
  if (input.changelog !== 'insert-only') fail(from.span, `${from.function} needs an insert-only input; this one is ${input.changelog}`);
  const timeField = resolveColumn({ fields: input.fields }, undefined, from.timeColumn);
  const field = input.fields[timeField];
  if (!field.time) {
    fail(from.timeColumn.span, `DESCRIPTOR(${from.timeColumn.value}) must be a time attribute (a rowtime column with a watermark, or a proctime column); '${field.name}' is a plain ${typeText(field.type)}` +
      (fromRegularJoin(input) ? ' (the output of a regular join carries no time attribute, as in Flink 1.14: use an interval join to keep it)' : ''));
  }
  const ms = from.intervals.map((i) => i.millis);
  const needed = from.function === 'TUMBLE' ? 1 : 2;
  if (ms.length < needed || ms.length > needed + 1) fail(from.span, `${from.function} takes ${needed} interval(s) and an optional offset`);
  let window: WindowSpec;
  if (from.function === 'TUMBLE') window = { fn: 'TUMBLE', sizeMs: ms[0], stepMs: ms[0], offsetMs: ms[1] ?? 0 };
  else if (from.function === 'HOP') window = { fn: 'HOP', stepMs: ms[0], sizeMs: ms[1], offsetMs: ms[2] ?? 0 };
  else window = { fn: 'CUMULATE', stepMs: ms[0], sizeMs: ms[1], offsetMs: ms[2] ?? 0 };
  if (window.sizeMs <= 0 || window.stepMs <= 0) fail(from.span, `${from.function} intervals must be positive`);
  if (window.fn !== 'TUMBLE' && window.sizeMs % window.stepMs !== 0) {
    fail(from.span, `${from.function}: the ${window.fn === 'HOP' ? 'size' : 'max size'} must be a multiple of the ${window.fn === 'HOP' ? 'slide' : 'step'}`);
  }
  const qualifiers = from.alias ? [from.alias.value.toLowerCase()] : input.fields[0]?.qualifiers ?? [];
  const timeType: PlanType = { name: 'TIMESTAMP', nullable: false, params: [3] };
  // The input's columns (the time column stays a time attribute, as in Flink), then the window columns, of which
  // window_time is the rowtime of what a window aggregation emits.
  const baseFields = input.fields.map((f): PlanField => ({ ...f, ...(from.alias ? { qualifiers: [from.alias.value.toLowerCase(), ...f.qualifiers] } : {}) }));
  const timeMode = field.time === 'proctime' ? 'processing' : 'event';
  const fields: PlanField[] = [
    ...baseFields,
    { name: 'window_start', type: timeType, qualifiers, window: 'start' },
    { name: 'window_end', type: timeType, qualifiers, window: 'end' },
    { name: 'window_time', type: timeType, qualifiers, window: 'time', ...(timeMode === 'event' ? { time: 'rowtime' as const } : {}) },
  ];
  return { kind: 'window', input, window, timeField, timeMode, fields, changelog: 'insert-only' };
}

function fromRegularJoin(node: PlanNode): boolean {
  if (node.kind === 'join') return true;
  return node.kind === 'calc' ? fromRegularJoin(node.input) : false;
}

/** Splits an AND tree into its conjuncts. */
function conjuncts(expr: Expr): Expr[] {
  if (expr.kind === 'binary' && expr.op === 'AND') return [...conjuncts(expr.left), ...conjuncts(expr.right)];
  return [expr];
}

function andAll(parts: PlanExpr[]): PlanExpr | undefined {
  if (parts.length === 0) return undefined;
  return parts.reduce((a, b) => ({ kind: 'call', op: 'AND', args: [a, b], type: t('BOOLEAN', a.type.nullable || b.type.nullable) }));
}

/** `field ± constant` on one side of an interval-join bound: which field and which offset. */
function timeTerm(expr: PlanExpr): { field: number; offset: number } | undefined {
  if (expr.kind === 'field') return isTimestamp(expr.type) ? { field: expr.index, offset: 0 } : undefined;
  if (expr.kind === 'call' && (expr.op === '+' || expr.op === '-') && expr.args[0].kind === 'field' && expr.args[1].kind === 'literal' && expr.args[1].type.name === 'INTERVAL') {
    const ms = Number(expr.args[1].value);
    return isTimestamp(expr.args[0].type) ? { field: expr.args[0].index, offset: expr.op === '+' ? ms : -ms } : undefined;
  }
  return undefined;
}

function planJoin(join: Join, ctx: PlannerContext): PlanNode {
  if (join.joinType === 'FULL') {
    fail(join.span, 'FULL JOIN is not supported; supported joins: INNER JOIN, LEFT JOIN and RIGHT JOIN');
  }
  if (join.joinType === 'RIGHT') {
    // A RIGHT JOIN is the LEFT JOIN with the sides swapped, then the columns put back in the written order.
    const swapped = planJoin({ ...join, joinType: 'LEFT', left: join.right, right: join.left }, ctx);
    if (swapped.kind !== 'join') return swapped;
    const rightCount = swapped.left.fields.length;
    const leftCount = swapped.right.fields.length;
    const order = [...Array.from({ length: leftCount }, (_, i) => rightCount + i), ...Array.from({ length: rightCount }, (_, i) => i)];
    const fields = order.map((i) => swapped.fields[i]);
    return { kind: 'calc', input: swapped, projections: order.map((i) => ({ kind: 'field' as const, index: i, type: swapped.fields[i].type })), fields, changelog: swapped.changelog };
  }
  const left = planFrom(join.left, ctx);
  const right = planFrom(join.right, ctx);
  for (const [side, node] of [['left', left], ['right', right]] as const) {
    if (node.changelog !== 'insert-only') fail(join.span, `the ${side} side of this join is an updating (${node.changelog}) result; joins are supported over insert-only inputs`);
  }
  const leftCount = left.fields.length;
  const scope: Scope = { fields: [...left.fields, ...right.fields] };
  const leftKeys: number[] = [];
  const rightKeys: number[] = [];
  const residual: PlanExpr[] = [];
  const bounds: { leftTime: number; rightTime: number; lower?: number; upper?: number } = { leftTime: -1, rightTime: -1 };
  const isRowtime = (i: number): boolean => scope.fields[i].time === 'rowtime';
  for (const part of conjuncts(join.on)) {
    const planned = planExpr(part, { scope });
    if (planned.kind === 'call' && planned.op === '=' && planned.args[0].kind === 'field' && planned.args[1].kind === 'field') {
      const a = planned.args[0].index;
      const b = planned.args[1].index;
      if (a < leftCount && b >= leftCount) { leftKeys.push(a); rightKeys.push(b - leftCount); continue; }
      if (b < leftCount && a >= leftCount) { leftKeys.push(b); rightKeys.push(a - leftCount); continue; }
    }
    // Interval bounds: `l.t op r.t ± c` (either order), op one of >=, >, <=, <; BETWEEN arrives as an AND of two.
    const comparisons = planned.kind === 'call' && planned.op === 'AND' ? planned.args : [planned];
    let consumed = comparisons.length > 0;
    const found: { lower?: number; upper?: number; leftTime: number; rightTime: number }[] = [];
    for (const c of comparisons) {
      const bound = c.kind === 'call' && ['>=', '>', '<=', '<'].includes(c.op) ? intervalBound(c.op, c.args[0], c.args[1], leftCount, isRowtime) : undefined;
      if (!bound) { consumed = false; break; }
      found.push(bound);
    }
    if (consumed) {
      for (const f of found) {
        if (bounds.leftTime >= 0 && (bounds.leftTime !== f.leftTime || bounds.rightTime !== f.rightTime)) { consumed = false; break; }
      }
    }
    if (consumed) {
      for (const f of found) {
        bounds.leftTime = f.leftTime;
        bounds.rightTime = f.rightTime;
        if (f.lower !== undefined) bounds.lower = Math.max(bounds.lower ?? -Infinity, f.lower);
        if (f.upper !== undefined) bounds.upper = Math.min(bounds.upper ?? Infinity, f.upper);
      }
      continue;
    }
    residual.push(bool(planned, part.span, 'ON condition'));
  }
  const fields = [...left.fields, ...right.fields];
  const interval = bounds.lower !== undefined && bounds.upper !== undefined;
  if (interval) {
    if (join.joinType !== 'INNER') fail(join.span, 'interval joins are supported as INNER JOIN only');
    return {
      kind: 'intervalJoin', left, right, leftKeys, rightKeys, leftTime: bounds.leftTime, rightTime: bounds.rightTime - leftCount,
      lowerMs: bounds.lower!, upperMs: bounds.upper!, ...(residual.length ? { residual: andAll(residual)! } : {}),
      fields, changelog: 'insert-only',
    };
  }
  // A half-bounded time condition stays a residual filter of a regular join (state unbounded, as in Flink).
  if (bounds.leftTime >= 0) {
    fail(join.span, 'a time condition between the two sides needs both bounds to make an interval join (l.t BETWEEN r.t - INTERVAL .. AND r.t + INTERVAL ..)');
  }
  // Regular join output: time attributes become plain timestamps (no watermark downstream, as in Flink 1.14).
  const plain = fields.map((f) => {
    const { time: _time, ...rest } = f;
    return f.time === 'rowtime' ? rest : f;
  });
  return {
    kind: 'join', joinType: join.joinType as 'INNER' | 'LEFT', left, right, leftKeys, rightKeys,
    ...(residual.length ? { residual: andAll(residual)! } : {}),
    fields: join.joinType === 'LEFT' ? plain.map((f, i) => (i >= leftCount ? { ...f, type: { ...f.type, nullable: true } } : f)) : plain,
    changelog: join.joinType === 'LEFT' ? 'retract' : 'insert-only',
  };
}

/** Normalises `a op b` over two rowtime fields of different sides into a bound on left.t − right.t. */
function intervalBound(op: string, a: PlanExpr, b: PlanExpr, leftCount: number, isRowtime: (i: number) => boolean):
  { lower?: number; upper?: number; leftTime: number; rightTime: number } | undefined {
  const ta = timeTerm(a);
  const tb = timeTerm(b);
  if (!ta || !tb || !isRowtime(ta.field) || !isRowtime(tb.field)) return undefined;
  const aLeft = ta.field < leftCount;
  const bLeft = tb.field < leftCount;
  if (aLeft === bLeft) return undefined;
  // a.f + ca op b.f + cb  →  a.f − b.f op cb − ca. Orient as left − right.
  let c = tb.offset - ta.offset;
  let o = op;
  if (!aLeft) {
    // right − left op c  →  left − right (flipped op) −c
    c = -c;
    o = { '>=': '<=', '>': '<', '<=': '>=', '<': '>' }[op]!;
  }
  const leftTime = aLeft ? ta.field : tb.field;
  const rightTime = aLeft ? tb.field : ta.field;
  // Strict bounds on millisecond timestamps: x > c ⇔ x ≥ c + 1.
  if (o === '>=') return { lower: c, leftTime, rightTime };
  if (o === '>') return { lower: c + 1, leftTime, rightTime };
  if (o === '<=') return { upper: c, leftTime, rightTime };
  return { upper: c - 1, leftTime, rightTime };
}

// ------------------------------------------------------------------------------------------------ SELECT

function selectName(item: SelectItem & { kind: 'expr' }, planned: PlanExpr, input: PlanField[], index: number): string {
  if (item.alias) return item.alias.value;
  if (item.expr.kind === 'column') return item.expr.name.value;
  if (planned.kind === 'field' && input[planned.index]) return input[planned.index].name;
  return `EXPR$${index}`;
}

function hasOver(select: Select): boolean {
  return select.items.some((i) => i.kind === 'expr' && i.expr.kind === 'over');
}

/** Output fields of a projection: names, types, and the time / window markers of plain field references. */
function projectFields(projections: PlanExpr[], names: string[], input: PlanField[], qualifiers: string[]): PlanField[] {
  return projections.map((p, i) => {
    const source = p.kind === 'field' ? input[p.index] : undefined;
    return {
      name: names[i],
      type: p.type,
      qualifiers: source ? [...new Set([...qualifiers, ...source.qualifiers])] : qualifiers,
      ...(source?.time ? { time: source.time } : {}),
      ...(source?.window ? { window: source.window } : {}),
    };
  });
}

function planSelect(select: Select, ctx: PlannerContext): PlanNode {
  if (select.distinct) fail(select.span, 'SELECT DISTINCT is not supported; use GROUP BY (a window aggregation) instead');
  // Window Top-N: SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (...) AS rn FROM <window aggregation>) WHERE rn <= N
  if (select.from.kind === 'subquery' && hasOver(select.from.query)) return planTopN(select, select.from.query, select.from.alias, ctx);
  if (hasOver(select)) {
    const over = select.items.find((i) => i.kind === 'expr' && i.expr.kind === 'over')!;
    fail(over.span, 'ROW_NUMBER() OVER (...) is supported only as window Top-N: wrap this query, SELECT ... FROM (<this query>) WHERE rn <= N, over a window aggregation (PARTITION BY window_start, window_end, ...)');
  }
  let input = planFrom(select.from, ctx);
  const scope: Scope = { fields: input.fields };
  if (select.where) {
    const condition = bool(planExpr(select.where, { scope }), select.where.span, 'WHERE');
    input = filterNode(input, condition);
  }
  const grouped = (select.groupBy?.length ?? 0) > 0 || select.items.some((i) => i.kind === 'expr' && containsAggregate(i.expr)) || select.having;
  if (grouped) return planGrouped(select, input, ctx);
  return project(select.items, input, scope, undefined, select.span);
}

function containsAggregate(expr: Expr): boolean {
  switch (expr.kind) {
    case 'call': return AGGREGATES.has(expr.name) || expr.args.some(containsAggregate);
    case 'binary': return containsAggregate(expr.left) || containsAggregate(expr.right);
    case 'unary': return containsAggregate(expr.operand);
    case 'cast': return containsAggregate(expr.operand);
    case 'isNull': return containsAggregate(expr.operand);
    case 'case': return expr.whens.some((w) => containsAggregate(w.when) || containsAggregate(w.then)) || (expr.else ? containsAggregate(expr.else) : false);
    default: return false;
  }
}

function planConjuncts(expr: PlanExpr): PlanExpr[] {
  return expr.kind === 'call' && expr.op === 'AND' ? [...planConjuncts(expr.args[0]), ...planConjuncts(expr.args[1])] : [expr];
}

function fieldRefs(expr: PlanExpr, into: number[] = []): number[] {
  if (expr.kind === 'field') into.push(expr.index);
  else if (expr.kind === 'call') expr.args.forEach((a) => fieldRefs(a, into));
  else if (expr.kind === 'cast') fieldRefs(expr.operand, into);
  else if (expr.kind === 'case') {
    expr.whens.forEach((w) => { fieldRefs(w.when, into); fieldRefs(w.then, into); });
    if (expr.else) fieldRefs(expr.else, into);
  }
  return into;
}

function shiftFields(expr: PlanExpr, by: number): PlanExpr {
  switch (expr.kind) {
    case 'field': return { ...expr, index: expr.index + by };
    case 'literal': return expr;
    case 'cast': return { ...expr, operand: shiftFields(expr.operand, by) };
    case 'call': return { ...expr, args: expr.args.map((a) => shiftFields(a, by)) };
    case 'case': return { ...expr, whens: expr.whens.map((w) => ({ when: shiftFields(w.when, by), then: shiftFields(w.then, by) })), ...(expr.else ? { else: shiftFields(expr.else, by) } : {}) };
  }
}

/**
 * A WHERE over `input`. Over a join, the conjuncts that read one side only run on that side before the join (as
 * Flink pushes them down): fewer rows stored, and a row filtered there is acknowledged at once. For a LEFT join only
 * the left side's conjuncts move (a condition on the right side also removes the NULL-padded rows).
 */
function filterNode(input: PlanNode, condition: PlanExpr): PlanNode {
  if (input.kind === 'join' || input.kind === 'intervalJoin') {
    const width = input.left.fields.length;
    const left: PlanExpr[] = [];
    const right: PlanExpr[] = [];
    const rest: PlanExpr[] = [];
    for (const c of planConjuncts(condition)) {
      const used = fieldRefs(c);
      const nondeterministic = JSON.stringify(c).includes('"CURRENT_TIMESTAMP"');
      if (used.length > 0 && !nondeterministic && used.every((i) => i < width)) left.push(c);
      else if (used.length > 0 && !nondeterministic && used.every((i) => i >= width) && (input.kind === 'intervalJoin' || input.joinType === 'INNER')) right.push(shiftFields(c, -width));
      else rest.push(c);
    }
    if (left.length || right.length) {
      const pushed: PlanNode = {
        ...input,
        left: left.length ? filterNode(input.left, andAll(left)!) : input.left,
        right: right.length ? filterNode(input.right, andAll(right)!) : input.right,
      } as PlanNode;
      return rest.length ? filterNode(pushed, andAll(rest)!) : pushed;
    }
  }
  return { kind: 'calc', input, condition, fields: input.fields, changelog: input.changelog, ...(input.upsertKey ? { upsertKey: input.upsertKey } : {}) };
}

/** A SELECT list (and optional HAVING) as a calc node over `input`. */
function project(items: SelectItem[], input: PlanNode, scope: Scope, aggregation: AggregationContext | undefined, span: Span, having?: Expr, overField?: { item: SelectItem; index: number }): PlanNode {
  const projections: PlanExpr[] = [];
  const names: string[] = [];
  const sourceFields: PlanField[] = [];
  for (const item of items) {
    if (item.kind === 'star') {
      const q = item.qualifier?.value.toLowerCase();
      const fields = aggregation ? aggregation.groupKeys.map((k) => aggregation.input.fields[k]) : scope.fields;
      let matched = 0;
      fields.forEach((f, i) => {
        if (q !== undefined && !f.qualifiers.includes(q)) return;
        if (overField && i === overField.index) return;
        matched++;
        projections.push({ kind: 'field', index: i, type: f.type });
        names.push(f.name);
      });
      if (q !== undefined && matched === 0) fail(item.qualifier!.span, `unknown table or alias '${item.qualifier!.value}'`);
      continue;
    }
    if (overField && item === overField.item) {
      projections.push({ kind: 'field', index: overField.index, type: input.fields[overField.index].type });
      names.push(item.alias?.value ?? 'EXPR$rn');
      continue;
    }
    const planned = planExpr(item.expr, { scope, ...(aggregation ? { aggregation } : {}) });
    projections.push(planned);
    names.push(selectName(item, planned, input.fields, projections.length - 1));
  }
  sourceFields.push(...input.fields);
  let condition: PlanExpr | undefined;
  if (having) condition = bool(planExpr(having, { scope, ...(aggregation ? { aggregation } : {}) }), having.span, 'HAVING');
  const qualifiers: string[] = [];
  const fields = projectFields(projections, names, sourceFields, qualifiers);
  // Identity projection without a condition: keep the input node (no work per row).
  const identity = !condition && projections.length === input.fields.length && projections.every((p, i) => p.kind === 'field' && p.index === i) && names.every((n, i) => n === input.fields[i].name);
  if (identity) return input;
  const upsertKey = input.upsertKey?.every((k) => projections.some((p) => p.kind === 'field' && p.index === k))
    ? input.upsertKey.map((k) => projections.findIndex((p) => p.kind === 'field' && p.index === k))
    : undefined;
  if (input.changelog === 'upsert' && !upsertKey) fail(span, 'the SELECT list of an updating (GROUP BY) result must keep every GROUP BY column, so that updates have a key');
  return { kind: 'calc', input, projections, ...(condition ? { condition } : {}), fields, changelog: input.changelog, ...(upsertKey ? { upsertKey } : {}) };
}

function planGrouped(select: Select, input: PlanNode, _ctx: PlannerContext): PlanNode {
  const scope: Scope = { fields: input.fields };
  const groupKeys: number[] = [];
  for (const g of select.groupBy ?? []) {
    const planned = planExpr(g, { scope });
    if (planned.kind !== 'field') fail(g.span, 'GROUP BY supports columns only; compute an expression in a subquery and group by its alias');
    const index = (planned as { index: number }).index;
    if (!groupKeys.includes(index)) groupKeys.push(index);
  }
  if (input.changelog !== 'insert-only') fail(select.span, `GROUP BY over an updating (${input.changelog}) input is not supported`);
  const aggregation: AggregationContext = { input: scope, groupKeys, aggregates: [] };
  // Plan the SELECT list and HAVING first to collect the aggregate calls, then build the aggregate node.
  const startKey = groupKeys.findIndex((k) => input.fields[k].window === 'start');
  const endKey = groupKeys.findIndex((k) => input.fields[k].window === 'end');
  const windowInput = findWindow(input);
  let window: AggregateNode['window'];
  if (endKey >= 0 || startKey >= 0) {
    if (startKey < 0 || endKey < 0) fail(select.span, 'a window aggregation must GROUP BY both window_start and window_end');
    if (!windowInput) fail(select.span, 'window_start / window_end here do not come from a window TVF');
    window = { startKey, endKey, timeMode: windowInput!.timeMode };
  }
  const placeholder: AggregateNode = { kind: 'aggregate', input, groupKeys, aggregates: aggregation.aggregates, fields: [], changelog: 'insert-only' };
  const calc = project(select.items, placeholder, scope, aggregation, select.span, select.having);
  const aggFields: PlanField[] = [
    ...groupKeys.map((k) => {
      const f = input.fields[k];
      const { time: _time, ...rest } = f;
      // window_start / window_end stay window markers; other time attributes become plain values after grouping.
      return f.window ? f : rest;
    }),
    ...aggregation.aggregates.map((a, i) => ({ name: `${a.fn}$${i}`, type: a.type, qualifiers: [] })),
  ];
  placeholder.fields = aggFields;
  if (!window) {
    placeholder.changelog = 'upsert';
    placeholder.upsertKey = groupKeys.map((_, i) => i);
  } else {
    placeholder.window = window;
  }
  // project() ran against the placeholder whose fields were empty: refresh the calc's fields / identity from it.
  if (calc === placeholder) return placeholder;
  const node = calc as CalcNode;
  const refreshed = projectFields(node.projections ?? [], node.fields.map((f) => f.name), aggFields, []);
  const upsertKey = placeholder.upsertKey?.every((k) => node.projections?.some((p) => p.kind === 'field' && p.index === k))
    ? placeholder.upsertKey.map((k) => node.projections!.findIndex((p) => p.kind === 'field' && p.index === k))
    : undefined;
  if (placeholder.changelog === 'upsert' && !upsertKey) fail(select.span, 'the SELECT list of a GROUP BY without a window must keep every GROUP BY column, so that updates have a key');
  return { ...node, fields: refreshed, changelog: placeholder.changelog, ...(upsertKey ? { upsertKey } : {}) };
}

/** The window TVF under a chain of calcs, if any. */
function findWindow(node: PlanNode): WindowNode | undefined {
  if (node.kind === 'window') return node;
  if (node.kind === 'calc') return findWindow(node.input);
  return undefined;
}

function planTopN(outer: Select, inner: Select, innerAlias: Identifier | undefined, ctx: PlannerContext): PlanNode {
  const overItems = inner.items.filter((i): i is SelectItem & { kind: 'expr' } => i.kind === 'expr' && i.expr.kind === 'over');
  if (overItems.length !== 1) fail(inner.span, 'exactly one ROW_NUMBER() OVER (...) is supported per query');
  const overItem = overItems[0];
  const over = overItem.expr as OverExpr;
  if (over.call.name !== 'ROW_NUMBER') fail(over.call.span, `${over.call.name}() OVER is not supported; only ROW_NUMBER() for window Top-N`);
  if (inner.groupBy?.length || inner.having) fail(inner.span, 'the Top-N query must select from a window aggregation in a subquery, not aggregate itself');
  let input = planFrom(inner.from, ctx);
  const scope: Scope = { fields: input.fields };
  if (inner.where) {
    const condition = bool(planExpr(inner.where, { scope }), inner.where.span, 'WHERE');
    input = { kind: 'calc', input, condition, fields: input.fields, changelog: input.changelog };
  }
  const partitionKeys = over.partitionBy.map((p) => {
    const planned = planExpr(p, { scope });
    if (planned.kind !== 'field') fail(p.span, 'PARTITION BY supports columns only');
    return (planned as { index: number }).index;
  });
  const windowEndField = partitionKeys.find((k) => input.fields[k].window === 'end');
  const hasStart = partitionKeys.some((k) => input.fields[k].window === 'start');
  if (windowEndField === undefined || !hasStart || input.changelog !== 'insert-only') {
    fail(over.span, 'ROW_NUMBER() is supported as window Top-N only: PARTITION BY window_start, window_end[, ...] over a window aggregation (TUMBLE/HOP/CUMULATE + GROUP BY window_start, window_end, ...)');
  }
  if (over.orderBy.length === 0) fail(over.span, 'window Top-N needs ORDER BY');
  const orderBy = over.orderBy.map((o) => {
    const planned = planExpr(o.expr, { scope });
    if (planned.kind !== 'field') fail(o.expr.span, 'ORDER BY supports columns only');
    return { field: (planned as { index: number }).index, descending: o.descending };
  });
  // The rank filter: a conjunct `rn <= N` / `rn < N` / `rn = 1` of the outer WHERE; the rest stays a filter.
  const rnName = overItem.alias?.value;
  let limit: number | undefined;
  const rest: Expr[] = [];
  for (const part of outer.where ? conjuncts(outer.where) : []) {
    const n = rankLimit(part, rnName);
    if (n !== undefined && limit === undefined) limit = n;
    else rest.push(part);
  }
  if (limit === undefined) {
    fail(outer.where?.span ?? outer.span, `window Top-N needs an outer WHERE ${rnName ?? 'rn'} <= N (a constant); without it the result is an updating ranking, which is not supported`);
  }
  const rankFields: PlanField[] = [...input.fields, { name: rnName ?? 'EXPR$rn', type: t('BIGINT', false), qualifiers: [] }];
  const rank: WindowRankNode = { kind: 'windowRank', input, partitionKeys, orderBy, limit: limit!, windowEndField: windowEndField!, fields: rankFields, changelog: 'insert-only' };
  const innerCalc = requalify(project(inner.items, rank, { fields: rankFields }, undefined, inner.span, undefined, { item: overItem, index: input.fields.length }), innerAlias);
  let node: PlanNode = innerCalc;
  const outerScope: Scope = { fields: node.fields };
  if (rest.length) {
    const condition = bool(andAll(rest.map((r) => planExpr(r, { scope: outerScope })))!, outer.where!.span, 'WHERE');
    node = { kind: 'calc', input: node, condition, fields: node.fields, changelog: node.changelog };
  }
  return project(outer.items, node, outerScope, undefined, outer.span);
}

function rankLimit(expr: Expr, rn: string | undefined): number | undefined {
  if (expr.kind !== 'binary' || rn === undefined) return undefined;
  const isRn = (e: Expr): boolean => e.kind === 'column' && e.name.value.toLowerCase() === rn.toLowerCase();
  const constant = (e: Expr): number | undefined => (e.kind === 'literal' && e.type === 'integer' ? Number(e.value) : undefined);
  if (isRn(expr.left) && constant(expr.right) !== undefined) {
    const n = constant(expr.right)!;
    if (expr.op === '<=') return n;
    if (expr.op === '<') return n - 1;
    if (expr.op === '=' && n === 1) return 1;
  }
  if (isRn(expr.right) && constant(expr.left) !== undefined) {
    const n = constant(expr.left)!;
    if (expr.op === '>=') return n;
    if (expr.op === '>') return n - 1;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------ INSERT

function planSink(statement: Statement & { kind: 'insert' }, root: PlanNode, ctx: PlannerContext): SinkPlan {
  const table = findTable(statement.target, ctx);
  const writable = table.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.virtual && c.source !== 'proctime');
  const columnMap = table.columns.map(() => -1);
  let targets: { c: (typeof writable)[number]['c']; i: number }[];
  if (statement.columns) {
    targets = statement.columns.map((id) => {
      const found = writable.find(({ c }) => c.name === id.value) ?? writable.find(({ c }) => c.name.toLowerCase() === id.value.toLowerCase());
      if (!found) return fail(id.span, `unknown column '${id.value}' of ${table.name}; writable columns: ${writable.map(({ c }) => c.name).join(', ')}`);
      return found;
    });
  } else {
    targets = writable;
  }
  if (targets.length !== root.fields.length) {
    fail(statement.query.span, `INSERT INTO ${table.name}: the query produces ${root.fields.length} column(s) (${root.fields.map((f) => f.name).join(', ')}) but the target takes ${targets.length} (${targets.map(({ c }) => c.name).join(', ')}); columns are matched by position`);
  }
  targets.forEach(({ c, i }, position) => {
    const from = root.fields[position].type;
    const to = fromSqlType(c.type);
    if (!isNull(from) && !assignable(from, to)) {
      fail(statement.query.span, `INSERT INTO ${table.name}: column ${position + 1} '${root.fields[position].name}' is ${typeText(from)}, the target column '${c.name}' is ${typeText(to)}`);
    }
    columnMap[i] = position;
  });
  if (root.changelog !== 'insert-only') {
    if (!table.upsert) {
      fail(statement.span, `${table.name} (stream ${table.stream}) accepts inserts only, but this query produces an updating (${root.changelog}) result` +
        ` (${updatingReason(root)}); write it to an upsert table (ddl.connector: upsert-kafka with a primary key) or use a window aggregation / INNER JOIN, which produce inserts only`);
    }
    if (!table.primaryKey?.length) fail(statement.span, `${table.name} is an upsert table without a primary key`);
  }
  return { table, columnMap };
}

function updatingReason(node: PlanNode): string {
  switch (node.kind) {
    case 'join': return node.joinType === 'LEFT' ? 'a LEFT JOIN retracts its null-padded rows when a match arrives' : updatingReason(node.left);
    case 'aggregate': return node.window ? 'window aggregation' : 'a GROUP BY without a window TVF updates its result on every row';
    case 'calc': return updatingReason(node.input);
    default: return node.kind;
  }
}

/** Whether a value of `from` may be written into a column of `to` (numbers widen and narrow; timestamps interchange). */
function assignable(from: PlanType, to: PlanType): boolean {
  if (isNumeric(from) && isNumeric(to)) return true;
  if (isTimestamp(from) && (isTimestamp(to) || to.name === 'BIGINT')) return true;
  if (to.name === 'STRING') return true;
  return from.name === to.name;
}

// ------------------------------------------------------------------------------------------------ entry points

export interface PlanResult {
  plan?: LogicalPlan;
  diagnostics: SqlDiagnostic[];
}

/**
 * Plans one statement. `text` (the statement as written) turns spans into line/column; without it the line is 1 and
 * the column the offset + 1.
 */
export function planStatement(statement: Statement, tables: SqlTable[], statementIndex: number, text?: string): PlanResult {
  const ctx: PlannerContext = { tables, statement: statementIndex };
  try {
    if (statement.kind === 'createTable') {
      return { diagnostics: [makeDiagnostic(statementIndex, statement.span, 'CREATE TABLE is a Stream schema, not a statement to run; use INSERT INTO ... SELECT', text)] };
    }
    const root = planSelect(statement.query, ctx);
    const sink = statement.kind === 'insert' ? planSink(statement, root, ctx) : undefined;
    return { plan: { statement: statementIndex, root, ...(sink ? { sink } : {}) }, diagnostics: [] };
  } catch (err) {
    if (err instanceof PlanError) return { diagnostics: [makeDiagnostic(statementIndex, err.span, err.message, text)] };
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------ EXPLAIN

export function explainExpr(expr: PlanExpr, fields: PlanField[]): string {
  switch (expr.kind) {
    case 'field': return fields[expr.index]?.name ?? `$${expr.index}`;
    case 'literal':
      if (expr.type.name === 'INTERVAL') return `INTERVAL ${String(expr.value)} ms`;
      return typeof expr.value === 'string' ? `'${expr.value.replace(/'/g, "''")}'` : String(expr.value);
    case 'cast': return `${expr.try ? 'TRY_CAST' : 'CAST'}(${explainExpr(expr.operand, fields)} AS ${typeText(expr.type)})`;
    case 'case': return `CASE ${expr.whens.map((w) => `WHEN ${explainExpr(w.when, fields)} THEN ${explainExpr(w.then, fields)}`).join(' ')}${expr.else ? ` ELSE ${explainExpr(expr.else, fields)}` : ''} END`;
    case 'call': {
      const args = expr.args.map((a) => explainExpr(a, fields));
      if (/^[^A-Z]/.test(expr.op) || expr.op === 'AND' || expr.op === 'OR') {
        if (args.length === 2) return `(${args[0]} ${expr.op} ${args[1]})`;
      }
      if (expr.op === 'NEG') return `-${args[0]}`;
      if (expr.op === 'IS NULL' || expr.op === 'IS NOT NULL') return `${args[0]} ${expr.op}`;
      if (expr.op === 'IN') return `${args[0]} IN (${args.slice(1).join(', ')})`;
      if (expr.op === 'LIKE') return `${args[0]} LIKE ${args[1]}`;
      return `${expr.op}(${args.join(', ')})`;
    }
  }
}

const qualified = (f: PlanField): string => (f.qualifiers[0] ? `${f.qualifiers[0]}.${f.name}` : f.name);

function explainNode(node: PlanNode, depth: number, lines: string[]): void {
  const pad = '  '.repeat(depth);
  const mode = node.changelog === 'insert-only' ? '' : ` [${node.changelog}${node.upsertKey ? ` key=(${node.upsertKey.map((k) => node.fields[k].name).join(', ')})` : ''}]`;
  switch (node.kind) {
    case 'scan': {
      const wm = node.table.watermark ? `, watermark ${node.table.watermark.column} - ${node.table.watermark.delayMs} ms` : '';
      lines.push(`${pad}Scan ${node.table.name} (stream ${node.table.stream}${wm}) [${node.fields.map((f) => f.name + (f.time ? `:${f.time}` : '')).join(', ')}]`);
      return;
    }
    case 'calc': {
      const parts: string[] = [];
      if (node.condition) parts.push(`where ${explainExpr(node.condition, node.input.fields)}`);
      if (node.projections) parts.push(`select ${node.projections.map((p, i) => { const e = explainExpr(p, node.input.fields); return e === node.fields[i].name ? e : `${e} AS ${node.fields[i].name}`; }).join(', ')}`);
      lines.push(`${pad}Calc ${parts.join('; ')}${mode}`);
      break;
    }
    case 'window': {
      const w = node.window;
      const args = w.fn === 'TUMBLE' ? `size=${w.sizeMs}ms` : w.fn === 'HOP' ? `slide=${w.stepMs}ms, size=${w.sizeMs}ms` : `step=${w.stepMs}ms, max=${w.sizeMs}ms`;
      lines.push(`${pad}Window ${w.fn}(${node.input.fields[node.timeField].name}, ${args}${w.offsetMs ? `, offset=${w.offsetMs}ms` : ''}) ${node.timeMode} time`);
      break;
    }
    case 'aggregate': {
      const keys = node.groupKeys.map((k) => node.input.fields[k].name).join(', ');
      const aggs = node.aggregates.map((a) => `${a.fn}(${a.distinct ? 'DISTINCT ' : ''}${a.arg === undefined ? '*' : node.input.fields[a.arg].name})`).join(', ');
      lines.push(`${pad}${node.window ? 'WindowAggregate' : 'GroupAggregate'} group=(${keys}) aggs=(${aggs})${node.window ? ' emit final rows when watermark >= window_end - 1' : ''}${mode}`);
      break;
    }
    case 'join': {
      const keys = node.leftKeys.map((k, i) => `${qualified(node.left.fields[k])} = ${qualified(node.right.fields[node.rightKeys[i]])}`).join(' AND ');
      lines.push(`${pad}Join ${node.joinType} on ${keys || 'TRUE'}${node.residual ? ` AND ${explainExpr(node.residual, node.fields)}` : ''}${mode}`);
      explainNode(node.left, depth + 1, lines);
      explainNode(node.right, depth + 1, lines);
      return;
    }
    case 'intervalJoin': {
      const keys = node.leftKeys.map((k, i) => `${qualified(node.left.fields[k])} = ${qualified(node.right.fields[node.rightKeys[i]])}`).join(' AND ');
      lines.push(`${pad}IntervalJoin on ${keys || 'TRUE'}, ${node.left.fields[node.leftTime].name} - ${node.right.fields[node.rightTime].name} in [${node.lowerMs}, ${node.upperMs}] ms${node.residual ? ` AND ${explainExpr(node.residual, node.fields)}` : ''}`);
      explainNode(node.left, depth + 1, lines);
      explainNode(node.right, depth + 1, lines);
      return;
    }
    case 'windowRank': {
      lines.push(`${pad}WindowTopN partition=(${node.partitionKeys.map((k) => node.input.fields[k].name).join(', ')}) order=(${node.orderBy.map((o) => `${node.input.fields[o.field].name} ${o.descending ? 'DESC' : 'ASC'}`).join(', ')}) limit=${node.limit}`);
      break;
    }
  }
  explainNode(node.input, depth + 1, lines);
}

/** A readable indented tree of the plan (the `debugExplain` attribute shows it). */
export function explainPlan(plan: LogicalPlan): string {
  const lines: string[] = [];
  if (plan.sink) {
    const s = plan.sink;
    const cols = s.table.columns.map((c, i) => (s.columnMap[i] >= 0 ? `${c.name} <- ${plan.root.fields[s.columnMap[i]].name}` : null)).filter((x) => x);
    lines.push(`Sink ${s.table.name} (stream ${s.table.stream}, ${s.table.upsert ? `upsert key=(${(s.table.primaryKey ?? []).join(', ')})` : 'insert-only'}) [${cols.join(', ')}]`);
  }
  explainNode(plan.root, plan.sink ? 1 : 0, lines);
  return lines.join('\n');
}
