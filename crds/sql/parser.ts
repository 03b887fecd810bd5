// A hand-written recursive-descent parser for the streaming SQL subset (see README.md for the decision). It turns one
// statement into the AST of ast.ts with exact spans, and answers anything outside the subset with a diagnostic that
// says what is supported instead. It never throws on user text: the first problem ends the parse and is reported.
import type {
  BinaryOperator,
  CaseExpr,
  ColumnDefinition,
  CreateTableStatement,
  Expr,
  FromItem,
  FunctionCall,
  Identifier,
  InsertStatement,
  IntervalLiteral,
  Join,
  Query,
  Select,
  SelectItem,
  Span,
  SqlDiagnostic,
  SqlType,
  SqlTypeName,
  Statement,
  SubqueryRef,
  TableName,
  TableRef,
  WindowTableFunction,
} from './ast';
import { tokenize, type Token } from './lexer';

export interface ParseStatementResult {
  statement?: Statement;
  diagnostics: SqlDiagnostic[];
}

/** Parses one statement (a trailing `;` is allowed). Never throws on bad input. */
export function parseStatement(text: string, statementIndex = 0): ParseStatementResult {
  const parser = new Parser(text);
  try {
    return { statement: parser.statement(), diagnostics: [] };
  } catch (e) {
    if (e instanceof SqlSyntaxError) return { diagnostics: [diagnosticAt(text, statementIndex, e.span, e.message)] };
    throw e;
  }
}

/** Parses each text as one statement; diagnostics carry the index of the statement they belong to. */
export function parseStatements(texts: string[]): { statements: (Statement | undefined)[]; diagnostics: SqlDiagnostic[] } {
  const statements: (Statement | undefined)[] = [];
  const diagnostics: SqlDiagnostic[] = [];
  texts.forEach((text, i) => {
    const r = parseStatement(text, i);
    statements.push(r.statement);
    diagnostics.push(...r.diagnostics);
  });
  return { statements, diagnostics };
}

/** A diagnostic with the 1-based line and column of `span.start` inside `text`. */
export function diagnosticAt(text: string, statement: number, span: Span, message: string): SqlDiagnostic {
  const before = text.slice(0, span.start);
  const line = before.split('\n').length;
  const column = span.start - (before.lastIndexOf('\n') + 1) + 1;
  return { statement, span, line, column, message };
}

class SqlSyntaxError extends Error {
  constructor(message: string, readonly span: Span) {
    super(message);
  }
}

/** Words that end an expression or a clause, so they can never be a bare alias or column name. */
const RESERVED = new Set([
  'ALL', 'AND', 'AS', 'BETWEEN', 'BY', 'CASE', 'CREATE', 'CROSS', 'DISTINCT', 'ELSE', 'END', 'ESCAPE', 'EXCEPT',
  'EXISTS', 'FALSE', 'FETCH', 'FOR', 'FROM', 'FULL', 'GROUP', 'HAVING', 'IN', 'INNER', 'INSERT', 'INTERSECT',
  'INTERVAL', 'INTO', 'IS', 'JOIN', 'LATERAL', 'LEFT', 'LIKE', 'LIMIT', 'MATCH_RECOGNIZE', 'MINUS', 'NATURAL', 'NOT',
  'NULL', 'OFFSET', 'ON', 'OR', 'ORDER', 'OUTER', 'OVER', 'PARTITION', 'QUALIFY', 'RIGHT', 'SELECT', 'SIMILAR',
  'TABLE', 'THEN', 'TRUE', 'UNION', 'UNNEST', 'USING', 'VALUES', 'WHEN', 'WHERE', 'WINDOW', 'WITH',
]);

/** Functions Flink calls without parentheses. */
const NILADIC = new Set(['CURRENT_TIMESTAMP', 'CURRENT_DATE', 'CURRENT_TIME', 'LOCALTIMESTAMP', 'LOCALTIME']);

const INTERVAL_UNITS: Record<string, { unit: IntervalLiteral['unit']; ms: number }> = {
  MILLISECOND: { unit: 'MILLISECOND', ms: 1 },
  SECOND: { unit: 'SECOND', ms: 1000 },
  MINUTE: { unit: 'MINUTE', ms: 60_000 },
  HOUR: { unit: 'HOUR', ms: 3_600_000 },
  DAY: { unit: 'DAY', ms: 86_400_000 },
};

/** Nesting limit for expressions and subqueries (each level is a few stack frames). */
const MAX_DEPTH = 200;

const SUPPORTED_STATEMENTS = 'supported: INSERT INTO <table> SELECT ..., SELECT ..., CREATE TABLE ...';
const SUPPORTED_WINDOWS = 'supported: TUMBLE, HOP, CUMULATE';
const TOP_N = 'ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) for Top-N';

/** Constructs we recognise but do not run: the word that starts them and what to say. */
const UNSUPPORTED_AFTER_QUERY: Record<string, string> = {
  UNION: 'UNION is not supported; supported: one SELECT per statement (write one INSERT per source)',
  INTERSECT: 'INTERSECT is not supported; supported: one SELECT per statement',
  EXCEPT: 'EXCEPT is not supported; supported: one SELECT per statement',
  MINUS: 'MINUS is not supported; supported: one SELECT per statement',
  ORDER: `ORDER BY is not supported on a query (a stream has no end to sort); supported: ${TOP_N}, filtered by WHERE row_num <= N`,
  LIMIT: `LIMIT is not supported; supported: ${TOP_N}, filtered by WHERE row_num <= N`,
  FETCH: `FETCH is not supported; supported: ${TOP_N}, filtered by WHERE row_num <= N`,
  OFFSET: 'OFFSET is not supported',
  WINDOW: 'named WINDOW clauses are not supported; supported: OVER (PARTITION BY ... ORDER BY ...) written inline',
  QUALIFY: 'QUALIFY is not supported; supported: filter the row number in an outer query (WHERE row_num <= N)',
};

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  private depth = 0;

  constructor(text: string) {
    this.tokens = tokenize(text);
  }

  // ---------------------------------------------------------------------------------------------- token helpers

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind === 'error') throw new SqlSyntaxError(t.value, span(t));
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  /** End offset of the last consumed token. */
  private get lastEnd(): number {
    return this.pos === 0 ? 0 : this.tokens[this.pos - 1].end;
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'word' && t.value === word;
  }

  private isOp(op: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'op' && t.text === op;
  }

  private acceptWord(word: string): Token | undefined {
    return this.isWord(word) ? this.next() : undefined;
  }

  private acceptOp(op: string): Token | undefined {
    return this.isOp(op) ? this.next() : undefined;
  }

  private expectWord(word: string, what = word): Token {
    if (!this.isWord(word)) this.fail(`expected ${what}`);
    return this.next();
  }

  private expectOp(op: string, what = `'${op}'`): Token {
    if (!this.isOp(op)) this.fail(`expected ${what}`);
    return this.next();
  }

  /** Throws "expected X, found Y" at the current token (or the lexer's own message for unreadable text). */
  private fail(expected: string): never {
    const t = this.peek();
    if (t.kind === 'error') throw new SqlSyntaxError(t.value, span(t));
    throw new SqlSyntaxError(`${expected}, found ${describe(t)}`, span(t));
  }

  private unsupported(message: string, at: Token | Span = this.peek()): never {
    throw new SqlSyntaxError(message, 'kind' in at ? span(at) : at);
  }

  private spanFrom(start: number): Span {
    return { start, end: Math.max(start, this.lastEnd) };
  }

  // ---------------------------------------------------------------------------------------------- statements

  statement(): Statement {
    const first = this.peek();
    let statement: Statement;
    if (first.kind === 'eof') throw new SqlSyntaxError('empty statement; ' + SUPPORTED_STATEMENTS, span(first));
    if (this.isWord('INSERT')) statement = this.insert();
    else if (this.isWord('SELECT')) {
      const query = this.query();
      statement = { kind: 'query', query, span: query.span };
    } else if (this.isWord('CREATE')) statement = this.createTable();
    else if (this.isWord('WITH')) {
      this.unsupported('WITH (common table expressions) is not supported; supported: a subquery in FROM');
    } else if (first.kind === 'word') {
      this.unsupported(`${first.value} statements are not supported; ${SUPPORTED_STATEMENTS}`);
    } else this.fail(`expected a statement (${SUPPORTED_STATEMENTS.slice('supported: '.length)})`);
    this.acceptOp(';');
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      if (rest.kind === 'word' && UNSUPPORTED_AFTER_QUERY[rest.value] && statement.kind !== 'createTable') {
        this.unsupported(UNSUPPORTED_AFTER_QUERY[rest.value]);
      }
      if (this.tokens[this.pos - 1]?.text === ';') {
        this.unsupported('one statement per entry: put each statement in its own inlineQuery item', rest);
      }
      this.fail('expected the end of the statement');
    }
    return statement;
  }

  private insert(): InsertStatement {
    const start = this.next().start;
    if (this.isWord('OVERWRITE')) this.unsupported('INSERT OVERWRITE is not supported; supported: INSERT INTO');
    this.expectWord('INTO');
    const target = this.tableName();
    let columns: Identifier[] | undefined;
    if (this.acceptOp('(')) {
      columns = [this.identifier('a column name')];
      while (this.acceptOp(',')) columns.push(this.identifier('a column name'));
      this.expectOp(')', "',' or ')'");
    }
    if (this.isWord('VALUES')) this.unsupported('INSERT ... VALUES is not supported; supported: INSERT INTO <table> SELECT ...');
    if (!this.isWord('SELECT')) this.fail('expected SELECT');
    const query = this.query();
    return { kind: 'insert', target, ...(columns ? { columns } : {}), query, span: this.spanFrom(start) };
  }

  // ---------------------------------------------------------------------------------------------- CREATE TABLE

  private createTable(): CreateTableStatement {
    const start = this.next().start;
    this.acceptWord('TEMPORARY');
    if (!this.isWord('TABLE')) {
      const t = this.peek();
      if (t.kind === 'word') this.unsupported(`CREATE ${t.value} is not supported; supported: CREATE TABLE`);
      this.fail('expected TABLE');
    }
    this.next();
    if (this.acceptWord('IF')) {
      this.expectWord('NOT', 'NOT EXISTS');
      this.expectWord('EXISTS');
    }
    const name = this.identifier('a table name');
    if (this.isOp('.')) this.unsupported('qualified table names (catalog.database.table) are not supported; name the table alone');
    this.expectOp('(');
    const columns: ColumnDefinition[] = [];
    let watermark: CreateTableStatement['watermark'];
    let primaryKey: Identifier[] | undefined;
    const setPrimaryKey = (keys: Identifier[], at: Span): void => {
      if (primaryKey) this.unsupported('a table has one PRIMARY KEY', at);
      primaryKey = keys;
    };
    do {
      const elementStart = this.peek().start;
      if (this.isWord('WATERMARK')) {
        this.next();
        if (watermark) this.unsupported('a table has one WATERMARK', this.spanFrom(elementStart));
        this.expectWord('FOR');
        const column = this.identifier('the rowtime column');
        this.expectWord('AS');
        const expression = this.expr();
        watermark = { column, expression, span: this.spanFrom(elementStart) };
      } else if (this.isWord('PRIMARY') || this.isWord('CONSTRAINT')) {
        if (this.acceptWord('CONSTRAINT')) this.identifier('a constraint name');
        this.expectWord('PRIMARY');
        this.expectWord('KEY');
        this.expectOp('(');
        const keys = [this.identifier('a column name')];
        while (this.acceptOp(',')) keys.push(this.identifier('a column name'));
        this.expectOp(')', "',' or ')'");
        this.notEnforced();
        setPrimaryKey(keys, this.spanFrom(elementStart));
      } else if (this.isWord('LIKE') || this.isWord('PERIOD')) {
        this.unsupported(`${this.peek().value} in CREATE TABLE is not supported; supported: columns, WATERMARK FOR, PRIMARY KEY`);
      } else {
        const column = this.columnDefinition();
        columns.push(column.definition);
        if (column.primaryKey) setPrimaryKey([column.definition.name], column.definition.span);
      }
    } while (this.acceptOp(','));
    this.expectOp(')', "',' or ')'");
    if (this.acceptWord('COMMENT')) this.string('a comment');
    if (this.isWord('PARTITIONED') || this.isWord('DISTRIBUTED') || this.isWord('LIKE')) {
      this.unsupported(`${this.peek().value} is not supported in CREATE TABLE; supported: WITH ('key' = 'value', ...)`);
    }
    const options: Record<string, string> = {};
    if (this.acceptWord('WITH')) {
      this.expectOp('(');
      if (!this.isOp(')')) {
        do {
          const key = this.string("an option key ('key' = 'value')");
          this.expectOp('=');
          options[key] = this.string('an option value (a quoted string)');
        } while (this.acceptOp(','));
      }
      this.expectOp(')', "',' or ')'");
    }
    return {
      kind: 'createTable', name, columns, ...(watermark ? { watermark } : {}), ...(primaryKey ? { primaryKey } : {}),
      options, span: this.spanFrom(start),
    };
  }

  private notEnforced(): void {
    if (!this.isWord('NOT')) {
      this.fail('expected NOT ENFORCED (Flink does not check primary keys: write PRIMARY KEY (...) NOT ENFORCED)');
    }
    this.next();
    this.expectWord('ENFORCED');
  }

  private columnDefinition(): { definition: ColumnDefinition; primaryKey: boolean } {
    const start = this.peek().start;
    const name = this.identifier('a column definition');
    let primaryKey = false;
    if (this.acceptWord('AS')) {
      const computed = this.expr();
      this.columnComment();
      return { definition: { name, computed, span: this.spanFrom(start) }, primaryKey };
    }
    const type = this.type();
    let metadata: ColumnDefinition['metadata'];
    for (;;) {
      if (this.isWord('METADATA') && !metadata) {
        this.next();
        const from = this.acceptWord('FROM') ? this.string("the metadata key, e.g. 'timestamp'") : name.value;
        const virtual = !!this.acceptWord('VIRTUAL');
        metadata = { from, virtual };
      } else if (this.isWord('PRIMARY')) {
        this.next();
        this.expectWord('KEY');
        this.notEnforced();
        primaryKey = true;
      } else if (this.isWord('NOT') && this.isWord('NULL', 1)) {
        this.next();
        this.next();
        type.nullable = false;
      } else if (this.isWord('NULL')) {
        this.next();
        type.nullable = true;
      } else break;
    }
    this.columnComment();
    return {
      definition: { name, type, ...(metadata ? { metadata } : {}), span: this.spanFrom(start) },
      primaryKey,
    };
  }

  private columnComment(): void {
    if (this.acceptWord('COMMENT')) this.string('a comment');
  }

  // ---------------------------------------------------------------------------------------------- types

  private type(): SqlType {
    const t = this.peek();
    if (t.kind !== 'word') this.fail('expected a type (STRING, INT, BIGINT, TIMESTAMP(3), ...)');
    this.next();
    const params = (): number[] | undefined => {
      if (!this.acceptOp('(')) return undefined;
      const out = [this.integer('a type parameter')];
      while (this.acceptOp(',')) out.push(this.integer('a type parameter'));
      this.expectOp(')', "',' or ')'");
      return out;
    };
    const make = (name: SqlTypeName, p?: number[]): SqlType => ({ name, ...(p ? { params: p } : {}), nullable: true });
    switch (t.value) {
      case 'STRING': return make('STRING');
      case 'VARCHAR': case 'CHAR': return make('STRING', params());
      case 'CHARACTER':
        this.acceptWord('VARYING');
        return make('STRING', params());
      case 'BOOLEAN': case 'BOOL': return make('BOOLEAN');
      case 'TINYINT': return make('TINYINT');
      case 'SMALLINT': return make('SMALLINT');
      case 'INT': case 'INTEGER': return make('INT');
      case 'BIGINT': return make('BIGINT');
      case 'FLOAT': case 'REAL': return make('FLOAT');
      case 'DOUBLE':
        this.acceptWord('PRECISION');
        return make('DOUBLE');
      case 'DECIMAL': case 'DEC': case 'NUMERIC': return make('DECIMAL', params());
      case 'DATE': return make('DATE');
      case 'TIME': {
        const p = params();
        if (this.acceptWord('WITHOUT')) this.timeZone();
        return make('TIME', p);
      }
      case 'TIMESTAMP': {
        const p = params();
        if (this.acceptWord('WITHOUT')) {
          this.timeZone();
          return make('TIMESTAMP', p);
        }
        if (this.isWord('WITH')) {
          const withAt = this.next();
          if (!this.acceptWord('LOCAL')) {
            this.unsupported('TIMESTAMP WITH TIME ZONE is not supported; supported: TIMESTAMP(p) WITH LOCAL TIME ZONE (= TIMESTAMP_LTZ(p))', withAt);
          }
          this.timeZone();
          return make('TIMESTAMP_LTZ', p);
        }
        return make('TIMESTAMP', p);
      }
      case 'TIMESTAMP_LTZ': return make('TIMESTAMP_LTZ', params());
      case 'BYTES': return make('BYTES');
      case 'BINARY': case 'VARBINARY': return make('BYTES', params());
      default: {
        const complex = ['ARRAY', 'MAP', 'MULTISET', 'ROW', 'RAW', 'STRUCTURED'].includes(t.value);
        throw new SqlSyntaxError(
          `${complex ? `type ${t.value} is not supported` : `unknown type '${t.text}'`}; supported: STRING, VARCHAR(n), CHAR(n), ` +
          'BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL(p, s), DATE, TIME(p), TIMESTAMP(p), ' +
          'TIMESTAMP_LTZ(p), BYTES', span(t));
      }
    }
  }

  private timeZone(): void {
    this.expectWord('TIME', 'TIME ZONE');
    this.expectWord('ZONE');
  }

  // ---------------------------------------------------------------------------------------------- queries

  private query(): Query {
    return this.nest(() => this.select());
  }

  private select(): Select {
    const start = this.expectWord('SELECT').start;
    const distinct = !!this.acceptWord('DISTINCT');
    if (!distinct) this.acceptWord('ALL');
    const items = [this.selectItem()];
    while (this.acceptOp(',')) items.push(this.selectItem());
    if (!this.isWord('FROM')) {
      if (this.peek().kind === 'eof' || this.isOp(')') || this.isOp(';')) {
        this.unsupported('SELECT without FROM is not supported; supported: SELECT ... FROM <table>');
      }
      this.fail("expected ',' or FROM");
    }
    this.next();
    const from = this.fromClause();
    const select: Select = { kind: 'select', distinct, items, from, span: { start, end: start } };
    if (this.acceptWord('WHERE')) select.where = this.expr();
    if (this.isWord('GROUP')) {
      this.next();
      this.expectWord('BY');
      const groupBy = [this.groupingElement()];
      while (this.acceptOp(',')) groupBy.push(this.groupingElement());
      select.groupBy = groupBy;
    }
    if (this.acceptWord('HAVING')) select.having = this.expr();
    const t = this.peek();
    if (t.kind === 'word' && UNSUPPORTED_AFTER_QUERY[t.value]) this.unsupported(UNSUPPORTED_AFTER_QUERY[t.value]);
    select.span = this.spanFrom(start);
    return select;
  }

  private groupingElement(): Expr {
    const t = this.peek();
    if (t.kind === 'word' && ['GROUPING', 'ROLLUP', 'CUBE'].includes(t.value) && this.isOp('(', t.value === 'GROUPING' ? 2 : 1)) {
      this.unsupported(`${t.value === 'GROUPING' ? 'GROUPING SETS' : t.value} is not supported; supported: GROUP BY <expressions>`);
    }
    if (this.isOp('(') && this.isOp(')', 1)) this.unsupported('empty grouping sets () are not supported; supported: GROUP BY <expressions>');
    return this.expr();
  }

  private selectItem(): SelectItem {
    const start = this.peek().start;
    if (this.acceptOp('*')) return { kind: 'star', span: this.spanFrom(start) };
    if (this.isIdentifierStart() && this.isOp('.', 1) && this.isOp('*', 2)) {
      const qualifier = this.identifier('a table name');
      this.next();
      this.next();
      return { kind: 'star', qualifier, span: this.spanFrom(start) };
    }
    const expr = this.expr();
    const alias = this.alias();
    return { kind: 'expr', expr, ...(alias ? { alias } : {}), span: this.spanFrom(start) };
  }

  /** `[AS] alias`; a bare alias must not be a reserved word. */
  private alias(): Identifier | undefined {
    if (this.acceptWord('AS')) {
      const alias = this.identifier('an alias');
      if (this.isOp('(')) this.unsupported('column aliases after a table alias (AS t(a, b)) are not supported; alias the columns in the SELECT list');
      return alias;
    }
    if (this.isIdentifierStart()) return this.identifier('an alias');
    return undefined;
  }

  private fromClause(): FromItem {
    const start = this.peek().start;
    let left: FromItem = this.fromPrimary();
    for (;;) {
      if (this.isOp(',')) {
        this.unsupported('comma joins are not supported; supported: [INNER | LEFT | RIGHT | FULL] JOIN ... ON ...');
      }
      if (this.isWord('CROSS') || this.isWord('NATURAL')) {
        this.unsupported(`${this.peek().value} JOIN is not supported; supported: [INNER | LEFT | RIGHT | FULL] JOIN ... ON ...`);
      }
      let joinType: Join['joinType'];
      if (this.isWord('JOIN')) joinType = 'INNER';
      else if (this.acceptWord('INNER')) joinType = 'INNER';
      else if (this.isWord('LEFT') || this.isWord('RIGHT') || this.isWord('FULL')) {
        joinType = this.next().value as Join['joinType'];
        this.acceptWord('OUTER');
      } else break;
      this.expectWord('JOIN');
      if (this.isWord('LATERAL')) this.unsupported('LATERAL joins are not supported; supported: [INNER | LEFT | RIGHT | FULL] JOIN <table> ON ...');
      const right = this.fromPrimary();
      if (this.isWord('USING')) this.unsupported('JOIN ... USING is not supported; supported: JOIN ... ON <condition>');
      this.expectWord('ON', 'ON <join condition>');
      const on = this.expr();
      left = { kind: 'join', joinType, left, right, on, span: this.spanFrom(start) };
    }
    return left;
  }

  private fromPrimary(): TableRef | SubqueryRef | WindowTableFunction {
    const start = this.peek().start;
    const t = this.peek();
    if (t.kind === 'word' && (t.value === 'LATERAL' || t.value === 'UNNEST')) {
      this.unsupported(`${t.value} is not supported; supported in FROM: a table, a subquery, TABLE(TUMBLE | HOP | CUMULATE(...))`);
    }
    let item: TableRef | SubqueryRef | WindowTableFunction;
    if (this.isOp('(')) {
      this.next();
      if (!this.isWord('SELECT')) {
        if (this.isWord('VALUES')) this.unsupported('VALUES is not supported; supported in FROM: a table, a subquery, a window TVF');
        this.fail('expected SELECT (a subquery)');
      }
      const query = this.query();
      this.expectOp(')');
      const alias = this.alias();
      item = { kind: 'subquery', query, ...(alias ? { alias } : {}), span: this.spanFrom(start) };
    } else if (this.isWord('TABLE') && this.isOp('(', 1)) {
      item = this.windowFunction();
    } else {
      const table = this.tableName();
      if (this.isWord('FOR')) {
        this.unsupported('FOR SYSTEM_TIME AS OF (temporal joins) is not supported; supported: regular joins (JOIN ... ON)');
      }
      const alias = this.alias();
      item = { kind: 'table', table, ...(alias ? { alias } : {}), span: this.spanFrom(start) };
    }
    if (this.isWord('MATCH_RECOGNIZE')) this.unsupported('MATCH_RECOGNIZE is not supported');
    return item;
  }

  private tableName(): TableName {
    const t = this.peek();
    if (t.kind === 'placeholder') {
      this.next();
      return { kind: 'stream', stream: t.value, span: span(t) };
    }
    if (!this.isIdentifierStart()) this.fail('expected a table name or [[STREAM:<name>]]');
    const parts = [this.identifier('a table name')];
    while (this.isOp('.') && !this.isOp('*', 1)) {
      this.next();
      parts.push(this.identifier('a table name'));
    }
    return { kind: 'named', name: parts.map((p) => p.value).join('.'), span: this.spanFrom(t.start) };
  }

  /** `TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), INTERVAL ...))` and HOP / CUMULATE, positional or named arguments. */
  private windowFunction(): WindowTableFunction {
    const start = this.next().start;
    this.expectOp('(');
    const fnToken = this.peek();
    if (fnToken.kind !== 'word' || !this.isOp('(', 1)) this.fail('expected a window function (TUMBLE, HOP, CUMULATE)');
    if (!['TUMBLE', 'HOP', 'CUMULATE'].includes(fnToken.value)) {
      this.unsupported(`${['SESSION'].includes(fnToken.value) ? 'window' : 'table'} function ${fnToken.value} is not supported; ${SUPPORTED_WINDOWS}`);
    }
    const fn = fnToken.value as WindowTableFunction['function'];
    this.next();
    this.expectOp('(');
    // Flink's parameter names, in positional order; CUMULATE's maximum is named SIZE.
    const names = fn === 'TUMBLE' ? ['DATA', 'TIMECOL', 'SIZE', 'OFFSET']
      : fn === 'HOP' ? ['DATA', 'TIMECOL', 'SLIDE', 'SIZE', 'OFFSET'] : ['DATA', 'TIMECOL', 'STEP', 'SIZE', 'OFFSET'];
    const args = new Map<string, { value: TableRef | SubqueryRef | Identifier | IntervalLiteral; at: Span }>();
    let index = 0;
    let named: boolean | undefined;
    do {
      const argStart = this.peek().start;
      let name = names[index];
      const isNamed = this.peek().kind === 'word' && this.isOp('=>', 1);
      if (named !== undefined && named !== isNamed) {
        this.unsupported('mix of named and positional arguments; use one form', this.peek());
      }
      named = isNamed;
      if (isNamed) {
        const nameToken = this.next();
        this.next();
        if (!names.includes(nameToken.value)) {
          this.unsupported(`${fn} has no parameter ${nameToken.text}; its parameters: ${names.join(', ')}`, nameToken);
        }
        if (args.has(nameToken.value)) this.unsupported(`parameter ${nameToken.value} given twice`, nameToken);
        name = nameToken.value;
      } else if (name === undefined) {
        this.unsupported(`too many arguments for ${fn}: ${fn}(${names.join(', ')})`, this.peek());
      }
      index++;
      let value: TableRef | SubqueryRef | Identifier | IntervalLiteral;
      if (name === 'DATA') value = this.windowSource();
      else if (name === 'TIMECOL') {
        this.expectWord('DESCRIPTOR', 'DESCRIPTOR(<time column>)');
        this.expectOp('(');
        value = this.identifier('the time column');
        if (this.isOp(',')) this.unsupported('DESCRIPTOR takes one time column');
        this.expectOp(')');
      } else {
        if (!this.isWord('INTERVAL')) this.fail(`expected an interval for ${name} (e.g. INTERVAL '1' MINUTE)`);
        value = this.interval();
      }
      args.set(name, { value, at: this.spanFrom(argStart) });
    } while (this.acceptOp(','));
    this.expectOp(')', "',' or ')'");
    const end = this.expectOp(')', "')' closing TABLE(").end;
    const required = names.filter((n) => n !== 'OFFSET');
    const missing = required.filter((n) => !args.has(n));
    if (missing.length > 0) {
      this.unsupported(`${fn} needs ${required.join(', ')}: missing ${missing.join(', ')} (${fn}(TABLE t, DESCRIPTOR(c), ` +
        `${fn === 'TUMBLE' ? 'size' : fn === 'HOP' ? 'slide, size' : 'step, max size'} [, offset]))`, { start, end });
    }
    const source = args.get('DATA')!.value as TableRef | SubqueryRef;
    const timeColumn = args.get('TIMECOL')!.value as Identifier;
    const intervals = names.filter((n) => n !== 'DATA' && n !== 'TIMECOL' && args.has(n))
      .map((n) => args.get(n)!.value as IntervalLiteral);
    const alias = this.alias();
    return { kind: 'window', function: fn, source, timeColumn, intervals, ...(alias ? { alias } : {}), span: this.spanFrom(start) };
  }

  /** The DATA argument of a window TVF: `TABLE t`, or a parenthesised subquery (optionally after TABLE). */
  private windowSource(): TableRef | SubqueryRef {
    const start = this.peek().start;
    const hasTable = !!this.acceptWord('TABLE');
    if (this.isOp('(')) {
      this.next();
      if (!this.isWord('SELECT')) this.fail('expected SELECT (a subquery)');
      const query = this.query();
      this.expectOp(')');
      return { kind: 'subquery', query, span: this.spanFrom(start) };
    }
    if (!hasTable) this.fail('expected TABLE <table> or a subquery');
    const table = this.tableName();
    return { kind: 'table', table, span: this.spanFrom(start) };
  }

  // ---------------------------------------------------------------------------------------------- expressions

  expr(): Expr {
    return this.nest(() => this.or());
  }

  /** Deeply nested text would otherwise overflow the stack: an exception, not a diagnostic. */
  private nest<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.unsupported(`nested more than ${MAX_DEPTH} levels deep`);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    const start = this.peek().start;
    let left = this.and();
    while (this.acceptWord('OR')) left = { kind: 'binary', op: 'OR', left, right: this.and(), span: this.spanFrom(start) };
    return left;
  }

  private and(): Expr {
    const start = this.peek().start;
    let left = this.not();
    while (this.acceptWord('AND')) left = { kind: 'binary', op: 'AND', left, right: this.not(), span: this.spanFrom(start) };
    return left;
  }

  private not(): Expr {
    const start = this.peek().start;
    if (this.acceptWord('NOT')) {
      if (this.isWord('EXISTS')) this.unsupported('EXISTS (subquery) is not supported; supported: JOIN ... ON');
      return { kind: 'unary', op: 'NOT', operand: this.nest(() => this.not()), span: this.spanFrom(start) };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const start = this.peek().start;
    let left = this.additive();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && ['=', '<>', '!=', '<', '<=', '>', '>='].includes(t.text)) {
        this.next();
        const op = (t.text === '!=' ? '<>' : t.text) as BinaryOperator;
        if (this.isWord('ALL') || this.isWord('ANY') || this.isWord('SOME')) {
          this.unsupported(`${this.peek().value} (subquery) comparisons are not supported`);
        }
        left = { kind: 'binary', op, left, right: this.additive(), span: this.spanFrom(start) };
        continue;
      }
      if (this.isWord('IS')) {
        this.next();
        const negated = !!this.acceptWord('NOT');
        if (!this.isWord('NULL')) {
          const what = this.peek();
          if (what.kind === 'word' && ['TRUE', 'FALSE', 'UNKNOWN', 'DISTINCT'].includes(what.value)) {
            this.unsupported(`IS ${negated ? 'NOT ' : ''}${what.value} is not supported; supported: IS [NOT] NULL, = and <>`);
          }
          this.fail('expected NULL');
        }
        this.next();
        left = { kind: 'isNull', operand: left, negated, span: this.spanFrom(start) };
        continue;
      }
      const negated = this.isWord('NOT') && (this.isWord('BETWEEN', 1) || this.isWord('IN', 1) || this.isWord('LIKE', 1) || this.isWord('SIMILAR', 1));
      if (negated) this.next();
      if (this.acceptWord('BETWEEN')) {
        if (this.acceptWord('SYMMETRIC')) this.unsupported('BETWEEN SYMMETRIC is not supported; supported: BETWEEN low AND high', this.tokens[this.pos - 1]);
        this.acceptWord('ASYMMETRIC');
        const low = this.additive();
        this.expectWord('AND', 'AND (BETWEEN low AND high)');
        const high = this.additive();
        left = { kind: 'between', operand: left, low, high, negated, span: this.spanFrom(start) };
        continue;
      }
      if (this.acceptWord('IN')) {
        this.expectOp('(');
        if (this.isWord('SELECT')) this.unsupported('IN (subquery) is not supported; supported: IN (value, ...) or a JOIN');
        const list = [this.expr()];
        while (this.acceptOp(',')) list.push(this.expr());
        this.expectOp(')', "',' or ')'");
        left = { kind: 'in', operand: left, list, negated, span: this.spanFrom(start) };
        continue;
      }
      if (this.acceptWord('LIKE')) {
        const pattern = this.additive();
        if (this.isWord('ESCAPE')) this.unsupported("LIKE ... ESCAPE is not supported; supported: LIKE with % and _ (escape with '\\')");
        left = { kind: 'like', operand: left, pattern, negated, span: this.spanFrom(start) };
        continue;
      }
      if (this.isWord('SIMILAR')) this.unsupported('SIMILAR TO is not supported; supported: LIKE, REGEXP(s, pattern)');
      return left;
    }
  }

  private additive(): Expr {
    const start = this.peek().start;
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-') || this.isOp('||')) {
      const op = this.next().text as BinaryOperator;
      left = { kind: 'binary', op, left, right: this.multiplicative(), span: this.spanFrom(start) };
    }
    return left;
  }

  private multiplicative(): Expr {
    const start = this.peek().start;
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next().text as BinaryOperator;
      left = { kind: 'binary', op, left, right: this.unary(), span: this.spanFrom(start) };
    }
    return left;
  }

  private unary(): Expr {
    const start = this.peek().start;
    if (this.isOp('-') || this.isOp('+')) {
      const op = this.next().text as '-' | '+';
      return { kind: 'unary', op, operand: this.nest(() => this.unary()), span: this.spanFrom(start) };
    }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.peek();
    const start = t.start;
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'literal', type: 'string', value: t.value, span: span(t) };
      case 'number': {
        this.next();
        const integer = /^\d+$/.test(t.text);
        return { kind: 'literal', type: integer ? 'integer' : 'decimal', value: Number(t.text), span: span(t) };
      }
      case 'op':
        if (t.text === '(') {
          this.next();
          if (this.isWord('SELECT')) this.unsupported('scalar subqueries are not supported; supported: subqueries in FROM and JOIN');
          const inner = this.expr();
          if (this.isOp(',')) this.unsupported('row constructors (a, b) are not supported');
          this.expectOp(')');
          return inner;
        }
        break;
      case 'placeholder':
        this.unsupported('a [[STREAM:...]] placeholder names a table: use it in FROM, JOIN or INSERT INTO (qualify columns with the table\'s record name or an alias)');
        break;
      case 'quoted':
        return this.columnOrCall();
      case 'word':
        switch (t.value) {
          case 'TRUE': case 'FALSE':
            this.next();
            return { kind: 'literal', type: 'boolean', value: t.value === 'TRUE', span: span(t) };
          case 'NULL':
            this.next();
            return { kind: 'literal', type: 'null', value: null, span: span(t) };
          case 'INTERVAL':
            return this.interval();
          case 'CASE':
            return this.caseExpr();
          case 'CAST': case 'TRY_CAST':
            if (this.isOp('(', 1)) return this.cast();
            break;
          case 'TIMESTAMP': case 'DATE': case 'TIME':
            if (this.peek(1).kind === 'string') {
              this.next();
              const s = this.next();
              return { kind: 'literal', type: 'string', value: s.value, typed: t.value as SqlTypeName, span: this.spanFrom(start) };
            }
            break;
          case 'EXISTS':
            this.unsupported('EXISTS (subquery) is not supported; supported: JOIN ... ON');
            break;
          case 'ARRAY': case 'MAP': case 'ROW':
            if (this.isOp('[', 1) || this.isOp('(', 1)) this.unsupported(`${t.value} constructors are not supported`);
            break;
        }
        if (NILADIC.has(t.value) && !this.isOp('(', 1) && !this.isOp('.', 1)) {
          this.next();
          return { kind: 'call', name: t.value, args: [], star: false, distinct: false, span: span(t) };
        }
        if (RESERVED.has(t.value)) this.fail('expected an expression');
        return this.columnOrCall();
    }
    this.fail('expected an expression');
  }

  private columnOrCall(): Expr {
    const start = this.peek().start;
    const first = this.identifier('an expression');
    if (this.isOp('(') && !first.quoted) return this.call(first);
    if (this.acceptOp('.')) {
      const name = this.identifier('a column name');
      if (this.isOp('.')) this.unsupported('nested field access (a.b.c) is not supported; supported: column or table.column');
      if (this.isOp('(')) this.unsupported('qualified function names are not supported');
      return { kind: 'column', qualifier: first, name, span: this.spanFrom(start) };
    }
    if (this.isOp('[')) this.unsupported('array and map access is not supported');
    return { kind: 'column', name: first, span: this.spanFrom(start) };
  }

  private call(nameId: Identifier): Expr {
    const start = nameId.span.start;
    const name = nameId.value.toUpperCase();
    this.expectOp('(');
    let star = false;
    let distinct = false;
    const args: Expr[] = [];
    if (this.isOp('*')) {
      this.next();
      star = true;
    } else if (!this.isOp(')')) {
      if (this.acceptWord('DISTINCT')) distinct = true;
      else this.acceptWord('ALL');
      args.push(this.expr());
      while (this.acceptOp(',')) args.push(this.expr());
    }
    const keywordSyntax = ['EXTRACT', 'SUBSTRING', 'TRIM', 'OVERLAY', 'POSITION'].includes(name);
    if (keywordSyntax && (this.isWord('FROM') || this.isWord('FOR') || this.isWord('IN') || this.isWord('PLACING'))) {
      this.unsupported(`${name}(... ${this.peek().value} ...) syntax is not supported; supported: functions with comma-separated arguments`);
    }
    if (this.isWord('ORDER') || this.isWord('SEPARATOR')) this.unsupported(`${this.peek().value} inside ${name}(...) is not supported`);
    this.expectOp(')', "',' or ')'");
    const fcall: FunctionCall = { kind: 'call', name, args, star, distinct, span: this.spanFrom(start) };
    if (this.isWord('FILTER') && this.isOp('(', 1)) this.unsupported('aggregate FILTER (WHERE ...) is not supported; supported: CASE WHEN inside the aggregate');
    if (this.isWord('WITHIN')) this.unsupported('WITHIN GROUP is not supported');
    if (!this.isWord('OVER')) return fcall;
    const overToken = this.next();
    if (name !== 'ROW_NUMBER') {
      const ranking = ['RANK', 'DENSE_RANK', 'PERCENT_RANK', 'CUME_DIST', 'NTILE', 'LAG', 'LEAD', 'FIRST_VALUE', 'LAST_VALUE'];
      this.unsupported(ranking.includes(name)
        ? `window function ${name} is not supported; supported: ${TOP_N}`
        : `OVER aggregates (${name}(...) OVER ...) are not supported; supported: ${TOP_N}, and GROUP BY aggregates`,
      { start, end: overToken.end });
    }
    if (args.length > 0 || star || distinct) this.unsupported('ROW_NUMBER takes no arguments: ROW_NUMBER() OVER (...)', fcall.span);
    if (!this.isOp('(')) this.fail(`expected '(' after OVER (named windows are not supported; ${TOP_N})`);
    this.next();
    const partitionBy: Expr[] = [];
    if (this.acceptWord('PARTITION')) {
      this.expectWord('BY');
      partitionBy.push(this.expr());
      while (this.acceptOp(',')) partitionBy.push(this.expr());
    }
    const orderBy: { expr: Expr; descending: boolean }[] = [];
    if (!this.isWord('ORDER')) this.fail(`expected ORDER BY (${TOP_N} needs an order)`);
    this.next();
    this.expectWord('BY');
    do {
      const expr = this.expr();
      let descending = false;
      if (this.acceptWord('DESC')) descending = true;
      else this.acceptWord('ASC');
      if (this.isWord('NULLS')) this.unsupported('NULLS FIRST | LAST is not supported; supported: ASC | DESC');
      orderBy.push({ expr, descending });
    } while (this.acceptOp(','));
    if (this.isWord('ROWS') || this.isWord('RANGE')) {
      this.unsupported(`window frames (${this.peek().value} ...) are not supported; supported: ${TOP_N}`);
    }
    this.expectOp(')', "',' or ')'");
    return { kind: 'over', call: fcall, partitionBy, orderBy, span: this.spanFrom(start) };
  }

  private caseExpr(): CaseExpr {
    const start = this.next().start;
    const operand = this.isWord('WHEN') ? undefined : this.expr();
    const whens: CaseExpr['whens'] = [];
    while (this.acceptWord('WHEN')) {
      const when = this.expr();
      this.expectWord('THEN');
      whens.push({ when, then: this.expr() });
    }
    if (whens.length === 0) this.fail('expected WHEN');
    const elseExpr = this.acceptWord('ELSE') ? this.expr() : undefined;
    this.expectWord('END', 'WHEN, ELSE or END');
    return { kind: 'case', ...(operand ? { operand } : {}), whens, ...(elseExpr ? { else: elseExpr } : {}), span: this.spanFrom(start) };
  }

  private cast(): Expr {
    const t = this.next();
    this.expectOp('(');
    const operand = this.expr();
    this.expectWord('AS', 'AS <type>');
    const type = this.type();
    if (this.isWord('NOT') && this.isWord('NULL', 1)) {
      this.next();
      this.next();
      type.nullable = false;
    }
    this.expectOp(')');
    return { kind: 'cast', operand, type, try: t.value === 'TRY_CAST', span: this.spanFrom(t.start) };
  }

  private interval(): IntervalLiteral {
    const start = this.expectWord('INTERVAL').start;
    const sign = this.isOp('-') ? this.next() : undefined;
    const value = this.peek();
    if (value.kind !== 'string') {
      this.fail(value.kind === 'number' ? "expected a quoted amount: INTERVAL '5' SECOND" : "expected a quoted amount (INTERVAL '5' SECOND)");
    }
    this.next();
    const unitToken = this.peek();
    if (unitToken.kind !== 'word') this.fail('expected a unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)');
    const unitWord = unitToken.value.endsWith('S') ? unitToken.value.slice(0, -1) : unitToken.value;
    const unit = INTERVAL_UNITS[unitWord];
    if (!unit) {
      const months = ['YEAR', 'MONTH', 'WEEK', 'QUARTER'].includes(unitWord);
      this.unsupported(`${months ? `INTERVAL ... ${unitToken.value} is not supported (not a fixed length)` : `unknown interval unit '${unitToken.text}'`}; ` +
        'supported: MILLISECOND, SECOND, MINUTE, HOUR, DAY (singular or plural)', unitToken);
    }
    this.next();
    if (this.isOp('(')) this.unsupported('interval precision (SECOND(3)) is not supported; supported: INTERVAL \'n\' UNIT');
    if (this.isWord('TO')) this.unsupported(`INTERVAL '...' ${unitToken.value} TO ... is not supported; supported: a single unit, e.g. INTERVAL '90' SECOND`);
    const amount = value.value.trim();
    const m = /^([+-]?)(\d+(?:\.\d+)?)$/.exec(amount);
    if (!m) this.unsupported(`invalid interval amount '${value.value}': expected a number, e.g. INTERVAL '5' ${unit.unit}`, value);
    const negative = (m[1] === '-') !== !!sign;
    const millis = Math.round(Number(m[2]) * unit.ms) * (negative ? -1 : 1);
    return { kind: 'interval', text: value.value, unit: unit.unit, millis, span: this.spanFrom(start) };
  }

  // ---------------------------------------------------------------------------------------------- names, literals

  private isIdentifierStart(offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'quoted' || (t.kind === 'word' && !RESERVED.has(t.value));
  }

  private identifier(what: string): Identifier {
    const t = this.peek();
    if (t.kind === 'quoted') {
      this.next();
      return { value: t.value, quoted: true, span: span(t) };
    }
    if (t.kind === 'word' && !RESERVED.has(t.value)) {
      this.next();
      return { value: t.text, quoted: false, span: span(t) };
    }
    if (t.kind === 'word') this.fail(`expected ${what} (${t.value} is a reserved word: back-quote it as \`${t.text}\`)`);
    this.fail(`expected ${what}`);
  }

  private string(what: string): string {
    const t = this.peek();
    if (t.kind !== 'string') this.fail(`expected ${what}`);
    this.next();
    return t.value;
  }

  private integer(what: string): number {
    const t = this.peek();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) this.fail(`expected ${what} (an integer)`);
    this.next();
    return Number(t.text);
  }
}

function span(t: Token): Span {
  return { start: t.start, end: t.end };
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'the end of the statement';
  if (t.kind === 'placeholder') return `'${t.text}'`;
  return `'${t.text.length > 40 ? t.text.slice(0, 40) + '...' : t.text}'`;
}
