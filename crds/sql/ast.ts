// The abstract syntax of the streaming SQL (FSQL) subset we run: Flink SQL as the original's samples write it.
// Produced by `parser.ts`, read by the admission checks (crds/validation), the editor and the processor's planner
// (processor/sql). Every node carries the span of the text it came from, as offsets into the statement as the user
// wrote it (placeholders included), so a diagnostic can point at the exact place.

/** Half-open character range [start, end) inside one statement's text. */
export interface Span {
  start: number;
  end: number;
}

// ------------------------------------------------------------------------------------------------ types

/** SQL types we know, after normalisation (`STRING` = `VARCHAR`, `BIGINT`, `TIMESTAMP(3)`, ...). */
export type SqlTypeName =
  | 'STRING' | 'BOOLEAN' | 'TINYINT' | 'SMALLINT' | 'INT' | 'BIGINT' | 'FLOAT' | 'DOUBLE' | 'DECIMAL'
  | 'DATE' | 'TIME' | 'TIMESTAMP' | 'TIMESTAMP_LTZ' | 'BYTES';

export interface SqlType {
  name: SqlTypeName;
  /** TIMESTAMP(p), DECIMAL(p, s), VARCHAR(n): the numbers as written. */
  params?: number[];
  nullable: boolean;
}

// ------------------------------------------------------------------------------------------------ statements

export type Statement = InsertStatement | QueryStatement | CreateTableStatement;

/** `INSERT INTO target [(c1, c2)] <query>`: columns mapped by position unless a column list is given. */
export interface InsertStatement {
  kind: 'insert';
  target: TableName;
  columns?: Identifier[];
  query: Query;
  span: Span;
}

/** A bare query (the `debugQuery` attribute). */
export interface QueryStatement {
  kind: 'query';
  query: Query;
  span: Span;
}

/** `CREATE TABLE name (columns, WATERMARK FOR c AS expr, PRIMARY KEY (..) NOT ENFORCED) [WITH (...)]`:
 *  the inline `sql` schema of a Stream. */
export interface CreateTableStatement {
  kind: 'createTable';
  name: Identifier;
  columns: ColumnDefinition[];
  watermark?: { column: Identifier; expression: Expr; span: Span };
  primaryKey?: Identifier[];
  /** WITH ('k' = 'v', ...), verbatim. */
  options: Record<string, string>;
  span: Span;
}

export interface ColumnDefinition {
  name: Identifier;
  /** Physical and metadata columns have a type; computed columns (`c AS expr`, `c AS PROCTIME()`) have an expression. */
  type?: SqlType;
  computed?: Expr;
  /** `METADATA [FROM 'key'] [VIRTUAL]`: `from` defaults to the column name. */
  metadata?: { from: string; virtual: boolean };
  span: Span;
}

// ------------------------------------------------------------------------------------------------ queries

export type Query = Select;

export interface Select {
  kind: 'select';
  distinct: boolean;
  items: SelectItem[];
  from: FromItem;
  where?: Expr;
  groupBy?: Expr[];
  having?: Expr;
  span: Span;
}

export type SelectItem =
  /** `*` or `t.*` */
  | { kind: 'star'; qualifier?: Identifier; span: Span }
  | { kind: 'expr'; expr: Expr; alias?: Identifier; span: Span };

/** A table as named in a query: a `[[STREAM:<name>]]` placeholder or a plain (possibly back-quoted) name. */
export type TableName =
  | { kind: 'stream'; stream: string; span: Span }
  | { kind: 'named'; name: string; span: Span };

export type FromItem = TableRef | SubqueryRef | WindowTableFunction | Join;

export interface TableRef {
  kind: 'table';
  table: TableName;
  alias?: Identifier;
  span: Span;
}

export interface SubqueryRef {
  kind: 'subquery';
  query: Query;
  alias?: Identifier;
  span: Span;
}

/** `TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), size))`, `HOP(..., slide, size)`, `CUMULATE(..., step, max)`;
 *  the named-argument form (`DATA => TABLE t, TIMECOL => DESCRIPTOR(c), SIZE => ...`) parses to the same node.
 *  `source` is a table or a parenthesised subquery. Intervals in milliseconds, in the function's argument order. */
export interface WindowTableFunction {
  kind: 'window';
  function: 'TUMBLE' | 'HOP' | 'CUMULATE';
  source: TableRef | SubqueryRef;
  timeColumn: Identifier;
  /** TUMBLE: [size]; HOP: [slide, size]; CUMULATE: [step, maxSize]; then an optional offset. */
  intervals: IntervalLiteral[];
  alias?: Identifier;
  span: Span;
}

export interface Join {
  kind: 'join';
  joinType: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL';
  left: FromItem;
  right: FromItem;
  on: Expr;
  span: Span;
}

// ------------------------------------------------------------------------------------------------ expressions

/** A name as written: `value` is unquoted (back-quotes removed), `quoted` says whether it was back-quoted. */
export interface Identifier {
  value: string;
  quoted: boolean;
  span: Span;
}

export type Expr =
  | Literal
  | IntervalLiteral
  | ColumnRef
  | BinaryExpr
  | UnaryExpr
  | IsNullExpr
  | BetweenExpr
  | InExpr
  | LikeExpr
  | CaseExpr
  | CastExpr
  | FunctionCall
  | OverExpr;

export interface Literal {
  kind: 'literal';
  /** Numbers keep their text's kind: `type: 'integer'` for 42, `'decimal'` for 4.2 / 4e2. */
  type: 'string' | 'integer' | 'decimal' | 'boolean' | 'null';
  value: string | number | boolean | null;
  /** `TIMESTAMP '2020-01-01 00:00:00'`, `DATE '...'`: a typed string literal. */
  typed?: SqlTypeName;
  span: Span;
}

/** `INTERVAL '5' SECOND(S)` (also MINUTE, HOUR, DAY, MILLISECOND; `'1:30' MINUTE TO SECOND` is not supported). */
export interface IntervalLiteral {
  kind: 'interval';
  /** The value as written inside the quotes. */
  text: string;
  unit: 'MILLISECOND' | 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY';
  millis: number;
  span: Span;
}

/** `c` or `q.c` (q: a table name, alias or record name). */
export interface ColumnRef {
  kind: 'column';
  qualifier?: Identifier;
  name: Identifier;
  span: Span;
}

export type BinaryOperator =
  | '+' | '-' | '*' | '/' | '%' | '||'
  | '=' | '<>' | '<' | '<=' | '>' | '>='
  | 'AND' | 'OR';

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOperator;
  left: Expr;
  right: Expr;
  span: Span;
}

export interface UnaryExpr {
  kind: 'unary';
  op: 'NOT' | '-' | '+';
  operand: Expr;
  span: Span;
}

export interface IsNullExpr {
  kind: 'isNull';
  operand: Expr;
  negated: boolean;
  span: Span;
}

export interface BetweenExpr {
  kind: 'between';
  operand: Expr;
  low: Expr;
  high: Expr;
  negated: boolean;
  span: Span;
}

export interface InExpr {
  kind: 'in';
  operand: Expr;
  list: Expr[];
  negated: boolean;
  span: Span;
}

export interface LikeExpr {
  kind: 'like';
  operand: Expr;
  pattern: Expr;
  negated: boolean;
  span: Span;
}

/** `CASE [operand] WHEN .. THEN .. [ELSE ..] END` */
export interface CaseExpr {
  kind: 'case';
  operand?: Expr;
  whens: { when: Expr; then: Expr }[];
  else?: Expr;
  span: Span;
}

export interface CastExpr {
  kind: 'cast';
  operand: Expr;
  type: SqlType;
  /** TRY_CAST: NULL instead of an error. */
  try: boolean;
  span: Span;
}

/** `f(args)`; `COUNT(*)` has `star`; `COUNT(DISTINCT x)` has `distinct`. `name` is upper-cased. */
export interface FunctionCall {
  kind: 'call';
  name: string;
  args: Expr[];
  star: boolean;
  distinct: boolean;
  span: Span;
}

/** `f(...) OVER (PARTITION BY ... ORDER BY ... [ASC|DESC])`: ROW_NUMBER for Top-N. */
export interface OverExpr {
  kind: 'over';
  call: FunctionCall;
  partitionBy: Expr[];
  orderBy: { expr: Expr; descending: boolean }[];
  span: Span;
}

// ------------------------------------------------------------------------------------------------ diagnostics

/** A problem in a statement: where (offsets into the statement text), what, and — for unsupported constructs —
 *  what is supported instead. */
export interface SqlDiagnostic {
  /** 0-based index of the statement in `spec.inlineQuery` (or the attribute / schema it came from). */
  statement: number;
  span: Span;
  /** 1-based line and column of `span.start` inside the statement text. */
  line: number;
  column: number;
  message: string;
}
