import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  BinaryExpr, ColumnRef, CreateTableStatement, Expr, FunctionCall, InsertStatement, Join, Literal, OverExpr, Select,
  Span, Statement, SubqueryRef, TableRef, WindowTableFunction,
} from './ast';
import { parseStatement, parseStatements } from './parser';
import { EXTRA_STATEMENTS, loadFsqlSamples, sampleSqlSchemas, UNSUPPORTED_FLINK } from './corpus.fixture';

const samples = loadFsqlSamples();

function parseOk(text: string): Statement {
  const r = parseStatement(text);
  assert.deepEqual(r.diagnostics, [], `unexpected diagnostics for: ${text}`);
  assert.ok(r.statement);
  return r.statement;
}

function insertOf(text: string): InsertStatement {
  const s = parseOk(text);
  assert.equal(s.kind, 'insert');
  return s as InsertStatement;
}

function selectOf(text: string): Select {
  const s = parseOk(text);
  assert.equal(s.kind, 'query');
  return (s as { query: Select }).query;
}

function whereOf(text: string): Expr {
  const w = selectOf(text).where;
  assert.ok(w);
  return w;
}

const slice = (text: string, s: Span): string => text.slice(s.start, s.end);

/** `a.b` or `b` for a column reference. */
function col(e: Expr | undefined): string {
  assert.ok(e && e.kind === 'column', `expected a column, got ${e?.kind}`);
  const c = e as ColumnRef;
  return c.qualifier ? `${c.qualifier.value}.${c.name.value}` : c.name.value;
}

/** A compact rendering of an expression, enough to check structure and precedence. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'literal': return e.type === 'string' ? `'${String(e.value)}'` : String(e.value);
    case 'interval': return `INTERVAL(${e.millis})`;
    case 'column': return col(e);
    case 'binary': return `(${show(e.left)} ${e.op} ${show(e.right)})`;
    case 'unary': return `(${e.op} ${show(e.operand)})`;
    case 'isNull': return `(${show(e.operand)} IS ${e.negated ? 'NOT ' : ''}NULL)`;
    case 'between': return `(${show(e.operand)} ${e.negated ? 'NOT ' : ''}BETWEEN ${show(e.low)} AND ${show(e.high)})`;
    case 'in': return `(${show(e.operand)} ${e.negated ? 'NOT ' : ''}IN ${e.list.map(show).join(',')})`;
    case 'like': return `(${show(e.operand)} ${e.negated ? 'NOT ' : ''}LIKE ${show(e.pattern)})`;
    case 'case': return `CASE(${e.operand ? show(e.operand) + ';' : ''}${e.whens.map((w) => `${show(w.when)}->${show(w.then)}`).join(';')}${e.else ? `;else ${show(e.else)}` : ''})`;
    case 'cast': return `${e.try ? 'TRY_' : ''}CAST(${show(e.operand)} AS ${e.type.name}${e.type.params ? `(${e.type.params.join(',')})` : ''})`;
    case 'call': return `${e.name}(${e.distinct ? 'DISTINCT ' : ''}${e.star ? '*' : e.args.map(show).join(',')})`;
    case 'over': return `${show(e.call)} OVER(${e.partitionBy.map(show).join(',')} | ${e.orderBy.map((o) => show(o.expr) + (o.descending ? ' DESC' : '')).join(',')})`;
  }
}

/** Every node with a span: its span lies inside the text and inside its parent's span. */
function checkSpans(node: unknown, text: string, parent: Span, path = '$'): number {
  if (Array.isArray(node)) return node.reduce((n: number, x, i) => n + checkSpans(x, text, parent, `${path}[${i}]`), 0);
  if (typeof node !== 'object' || node === null) return 0;
  const obj = node as Record<string, unknown>;
  let count = 0;
  let here = parent;
  if (obj.span && typeof obj.span === 'object') {
    const s = obj.span as Span;
    assert.ok(s.start >= parent.start && s.end <= parent.end && s.start <= s.end,
      `${path}: span ${s.start}-${s.end} outside parent ${parent.start}-${parent.end} in: ${text}`);
    here = s;
    count++;
  }
  for (const [k, v] of Object.entries(obj)) if (k !== 'span') count += checkSpans(v, text, here, `${path}.${k}`);
  return count;
}

describe('parseStatement: the original samples', () => {
  it('every FSQL sample statement and debugQuery parses without diagnostics', () => {
    assert.ok(samples.statements.length >= 20, `found only ${samples.statements.length} sample statements`);
    for (const s of samples.statements) {
      const r = parseStatement(s.text);
      assert.deepEqual(r.diagnostics, [], `${s.file} ${s.processor} ${s.where}`);
      assert.equal(r.statement?.kind, s.where === 'attributes.debugQuery' ? 'query' : 'insert');
    }
  });

  it('anomaly detection: INSERT of a 5-second TUMBLE count with HAVING', () => {
    const sample = samples.statements.find((s) => s.processor === 'possible-fraud-detection' && s.where === 'inlineQuery[0]');
    assert.ok(sample);
    const text = sample.text;
    const ins = insertOf(text);
    assert.deepEqual(ins.target, { kind: 'stream', stream: 'possible-fraud-stream', span: ins.target.span });
    assert.equal(slice(text, ins.target.span), '[[STREAM:possible-fraud-stream]]');
    const q = ins.query;
    assert.deepEqual(q.items.map((i) => (i.kind === 'expr' ? `${show(i.expr)}${i.alias ? ' AS ' + i.alias.value : ''}` : '*')),
      ['window_start', 'window_end', 'card_number', 'COUNT(*) AS authorization_attempts']);
    const w = q.from as WindowTableFunction;
    assert.equal(w.kind, 'window');
    assert.equal(w.function, 'TUMBLE');
    assert.equal((w.source as TableRef).table.kind, 'stream');
    assert.equal(((w.source as TableRef).table as { stream: string }).stream, 'card-authorizations-stream');
    assert.equal(w.timeColumn.value, 'event_time');
    assert.deepEqual(w.intervals.map((i) => [i.text, i.unit, i.millis]), [['5', 'SECOND', 5000]]);
    assert.equal(slice(text, w.intervals[0].span), "INTERVAL '5' SECONDS");
    assert.ok(slice(text, w.span).startsWith('TABLE(TUMBLE(TABLE [[STREAM:card-authorizations-stream]]'));
    assert.ok(slice(text, w.span).endsWith("SECONDS))"));
    assert.deepEqual(q.groupBy?.map(show), ['window_start', 'window_end', 'card_number']);
    assert.ok(q.having);
    assert.equal(show(q.having), '(COUNT(*) > 5)');
    assert.equal(slice(text, q.having.span), 'COUNT(*) > 5');
    assert.equal(q.where, undefined);
    assert.equal(ins.span.start, 0);
    assert.equal(slice(text, ins.span), text.trim());
  });

  it('iot monitoring: WHERE before a 1-minute TUMBLE', () => {
    const sample = samples.statements.find((s) => s.processor === 'iot-monitoring-sql-aggregation' && s.where === 'inlineQuery[0]');
    assert.ok(sample);
    const ins = insertOf(sample.text);
    assert.equal((ins.target as { stream: string }).stream, 'error-count-stream');
    const w = ins.query.from as WindowTableFunction;
    assert.equal(w.timeColumn.value, 'ts');
    assert.deepEqual(w.intervals.map((i) => [i.unit, i.millis]), [['MINUTE', 60_000]]);
    assert.ok(ins.query.where);
    assert.equal(show(ins.query.where), "(type = 'ERROR')");
    assert.equal(slice(sample.text, ins.query.where.span), "type='ERROR'");
    assert.deepEqual(ins.query.groupBy?.map(show), ['window_start', 'window_end', 'error_code']);
  });

  it('clickstream: INNER JOIN of two placeholders qualified by record names', () => {
    const sample = samples.statements.find((s) => s.processor === 'vip-join-and-filter' && s.where === 'inlineQuery[0]');
    assert.ok(sample);
    const ins = insertOf(sample.text);
    assert.deepEqual(ins.query.items.map((i) => (i.kind === 'expr' ? show(i.expr) : '*')),
      ['Users.user_id', 'Users.name', 'Clicks.page', 'Clicks.action', 'Clicks.event_time']);
    const j = ins.query.from as Join;
    assert.equal(j.kind, 'join');
    assert.equal(j.joinType, 'INNER');
    assert.deepEqual([(j.left as TableRef).table, (j.right as TableRef).table].map((t) => (t.kind === 'stream' ? t.stream : t.name)),
      ['click-stream', 'user-stream']);
    assert.equal((j.left as TableRef).alias, undefined);
    assert.equal(show(j.on), '(Clicks.user_id = Users.user_id)');
    assert.ok(ins.query.where);
    assert.equal(show(ins.query.where), "(Users.level = 'PLATINUM')");
  });

  it('top-k join: aliased subquery INNER JOIN aliased placeholder (lower-case "as")', () => {
    const sample = samples.statements.find((s) => s.file === 'top-k-songs__streaming-pipeline.yaml' && s.processor === 'topk-songs-join' && s.where === 'inlineQuery[0]');
    assert.ok(sample);
    const ins = insertOf(sample.text);
    assert.equal((ins.target as { stream: string }).stream, 'songplays-stream');
    const j = ins.query.from as Join;
    const left = j.left as SubqueryRef;
    assert.equal(left.kind, 'subquery');
    assert.equal(left.alias?.value, 'Plays');
    assert.equal(left.query.items[0].kind, 'star');
    assert.equal(((left.query.from as TableRef).table as { stream: string }).stream, 'playevents-stream');
    assert.ok(left.query.where);
    assert.equal(show(left.query.where), '(duration >= 30000)');
    assert.ok(slice(sample.text, left.span).startsWith('(SELECT * FROM [[STREAM:playevents-stream]]'));
    assert.ok(slice(sample.text, left.span).endsWith('AS Plays'));
    const right = j.right as TableRef;
    assert.equal(right.alias?.value, 'Songs');
    assert.equal(show(j.on), '(Plays.song_id = Songs.song_id)');
    assert.equal(ins.query.items.length, 7);
  });

  it('top-k aggregate: ROW_NUMBER Top-N over a TUMBLE count, unaliased subqueries', () => {
    const sample = samples.statements.find((s) => s.file === 'top-k-songs__streaming-pipeline.yaml' && s.processor === 'topk-songs-aggregate' && s.where === 'inlineQuery[0]');
    assert.ok(sample);
    const ins = insertOf(sample.text);
    assert.equal((ins.target as { stream: string }).stream, 'topk-songs-per-genre-stream');
    assert.ok(ins.query.where);
    assert.equal(show(ins.query.where), '(row_num <= 3)');
    const rank = ins.query.from as SubqueryRef;
    assert.equal(rank.kind, 'subquery');
    assert.equal(rank.alias, undefined);
    assert.equal(rank.query.items[0].kind, 'star');
    const item = rank.query.items[1];
    assert.ok(item.kind === 'expr');
    assert.equal(item.alias?.value, 'row_num');
    const over = item.expr as OverExpr;
    assert.equal(over.kind, 'over');
    assert.equal(over.call.name, 'ROW_NUMBER');
    assert.deepEqual(over.partitionBy.map(show), ['window_start', 'window_end', 'genre']);
    assert.deepEqual(over.orderBy.map((o) => [show(o.expr), o.descending]), [['play_count', true]]);
    assert.equal(slice(sample.text, over.span), 'ROW_NUMBER() OVER (PARTITION BY window_start, window_end, genre ORDER BY play_count DESC)');
    const agg = rank.query.from as SubqueryRef;
    assert.equal(agg.kind, 'subquery');
    assert.equal(agg.alias, undefined);
    const w = agg.query.from as WindowTableFunction;
    assert.equal(w.kind, 'window');
    assert.deepEqual(w.intervals.map((i) => [i.text, i.unit, i.millis]), [['60', 'SECOND', 60_000]]);
    assert.deepEqual(agg.query.groupBy?.map(show), ['window_start', 'window_end', 'song_id', 'name', 'genre']);
    const count = agg.query.items[5];
    assert.ok(count.kind === 'expr');
    assert.equal(show(count.expr), 'COUNT(*)');
    assert.equal(count.alias?.value, 'play_count');
  });

  it('debugQuery: SELECT * FROM a record name', () => {
    const q = selectOf('SELECT * FROM PossibleFraud');
    assert.equal(q.items[0].kind, 'star');
    assert.deepEqual((q.from as TableRef).table, { kind: 'named', name: 'PossibleFraud', span: { start: 14, end: 27 } });
  });

  it('inline sql schemas of the samples parse as CREATE TABLE', () => {
    const schemas = sampleSqlSchemas(samples);
    assert.equal(schemas.length, 4);
    for (const s of schemas) {
      const st = parseOk(s.text) as CreateTableStatement;
      assert.equal(st.kind, 'createTable');
      assert.ok(['Songs', 'PlayEvents', 'SongPlays', 'TopKSongsPerGenre'].includes(st.name.value), st.name.value);
    }
    const songPlays = schemas.find((s) => s.text.includes('SongPlays'));
    assert.ok(songPlays);
    const st = parseOk(songPlays.text) as CreateTableStatement;
    assert.deepEqual(st.columns.map((c) => `${c.name.value}:${c.type?.name}${c.type?.params ? `(${c.type.params})` : ''}${c.type?.nullable ? '' : '!'}`),
      ['song_id:BIGINT!', 'album:STRING', 'artist:STRING', 'name:STRING', 'genre:STRING!', 'duration:BIGINT', 'event_time:TIMESTAMP(3)!']);
    assert.ok(st.columns.every((c) => c.name.quoted));
    assert.equal(slice(songPlays.text, st.columns[0].span), '`song_id` BIGINT NOT NULL');
  });

  it('every node span lies inside the text and inside its parent', () => {
    for (const text of [...samples.statements.map((s) => s.text), ...EXTRA_STATEMENTS]) {
      const s = parseOk(text);
      const n = checkSpans(s, text, { start: 0, end: text.length });
      assert.ok(n > 3);
    }
  });

  it('identifier spans cover the name as written', () => {
    const text = 'SELECT `User Id`, Clicks.page FROM [[STREAM: click-stream ]] AS c';
    const q = selectOf(text);
    const [a, b] = q.items;
    assert.ok(a.kind === 'expr' && b.kind === 'expr');
    const ac = a.expr as ColumnRef;
    assert.deepEqual([ac.name.value, ac.name.quoted, slice(text, ac.name.span)], ['User Id', true, '`User Id`']);
    const bc = b.expr as ColumnRef;
    assert.equal(slice(text, bc.qualifier!.span), 'Clicks');
    assert.equal(slice(text, bc.span), 'Clicks.page');
    const t = q.from as TableRef;
    assert.deepEqual(t.table.kind === 'stream' && t.table.stream, 'click-stream');
    assert.equal(slice(text, t.table.span), '[[STREAM: click-stream ]]');
    assert.equal(slice(text, t.span), '[[STREAM: click-stream ]] AS c');
  });
});

describe('parseStatement: constructs', () => {
  it('every corpus statement parses', () => {
    for (const text of EXTRA_STATEMENTS) parseOk(text);
  });

  it('operator precedence: OR < AND < NOT < comparison < || + - < * / % < unary', () => {
    assert.equal(show(whereOf('SELECT a FROM T WHERE a OR b AND NOT c = d')), '(a OR (b AND (NOT (c = d))))');
    assert.equal(show(whereOf('SELECT a FROM T WHERE a + b * c > -d % 2')), '((a + (b * c)) > ((- d) % 2))');
    assert.equal(show(whereOf("SELECT a FROM T WHERE a || b + c = 'x'")), "(((a || b) + c) = 'x')");
    assert.equal(show(whereOf('SELECT a FROM T WHERE (a OR b) AND c')), '((a OR b) AND c)');
    assert.equal(show(whereOf('SELECT a FROM T WHERE a - b - c = 0')), '(((a - b) - c) = 0)');
    assert.equal(show(whereOf('SELECT a FROM T WHERE x BETWEEN 1 + 1 AND 5 AND y')), '((x BETWEEN (1 + 1) AND 5) AND y)');
    assert.equal(show(whereOf("SELECT a FROM T WHERE NOT a LIKE 'x%' OR b NOT IN (1, 2) AND c IS NOT NULL")),
      "((NOT (a LIKE 'x%')) OR ((b NOT IN 1,2) AND (c IS NOT NULL)))");
    assert.equal(show(whereOf('SELECT a FROM T WHERE a NOT BETWEEN 1 AND 2')), '(a NOT BETWEEN 1 AND 2)');
    assert.equal(show(whereOf('SELECT a FROM T WHERE a != 1')), '(a <> 1)');
  });

  it('a parenthesised expression gives the enclosing node a span with the parentheses', () => {
    const text = 'SELECT a FROM T WHERE (a + 1) * 2 > 3';
    const w = whereOf(text) as BinaryExpr;
    assert.equal(slice(text, w.span), '(a + 1) * 2 > 3');
    assert.equal(slice(text, (w.left as BinaryExpr).span), '(a + 1) * 2');
    assert.equal(slice(text, ((w.left as BinaryExpr).left as BinaryExpr).span), 'a + 1');
  });

  it('literals: strings with escapes, integers, decimals, booleans, NULL, typed literals', () => {
    const q = selectOf("SELECT 'it''s', 42, 4.2, 1e3, TRUE, false, NULL, TIMESTAMP '2020-01-01 00:00:00', DATE '2020-01-01' FROM T");
    const lits = q.items.map((i) => (i.kind === 'expr' ? i.expr : undefined)) as Literal[];
    assert.deepEqual(lits.map((l) => [l.type, l.value, l.typed]), [
      ['string', "it's", undefined], ['integer', 42, undefined], ['decimal', 4.2, undefined], ['decimal', 1000, undefined],
      ['boolean', true, undefined], ['boolean', false, undefined], ['null', null, undefined],
      ['string', '2020-01-01 00:00:00', 'TIMESTAMP'], ['string', '2020-01-01', 'DATE'],
    ]);
  });

  it('intervals: singular and plural units in milliseconds', () => {
    const units: [string, string, number][] = [
      ["'5' SECOND", 'SECOND', 5000], ["'60' SECONDS", 'SECOND', 60_000], ["'1' MINUTE", 'MINUTE', 60_000],
      ["'2' MINUTES", 'MINUTE', 120_000], ["'1' HOUR", 'HOUR', 3_600_000], ["'3' hours", 'HOUR', 10_800_000],
      ["'1' DAY", 'DAY', 86_400_000], ["'2' DAYS", 'DAY', 172_800_000], ["'250' MILLISECOND", 'MILLISECOND', 250],
      ["'10' MILLISECONDS", 'MILLISECOND', 10], ["'1.5' SECOND", 'SECOND', 1500],
    ];
    for (const [written, unit, millis] of units) {
      const e = whereOf(`SELECT a FROM T WHERE ts > ts - INTERVAL ${written}`) as BinaryExpr;
      const iv = (e.right as BinaryExpr).right;
      assert.ok(iv.kind === 'interval');
      assert.deepEqual([iv.unit, iv.millis], [unit, millis], written);
    }
  });

  it('window TVFs: TUMBLE, HOP (slide, size), CUMULATE (step, max), offset, named arguments in any order', () => {
    const win = (text: string): WindowTableFunction => selectOf(text).from as WindowTableFunction;
    const ms = (w: WindowTableFunction): number[] => w.intervals.map((i) => i.millis);
    const hop = win("SELECT * FROM TABLE(HOP(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES, INTERVAL '10' MINUTES))");
    assert.deepEqual([hop.function, ms(hop)], ['HOP', [300_000, 600_000]]);
    const cum = win("SELECT * FROM TABLE(CUMULATE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '2' MINUTES, INTERVAL '10' MINUTES))");
    assert.deepEqual([cum.function, ms(cum)], ['CUMULATE', [120_000, 600_000]]);
    const off = win("SELECT * FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES, INTERVAL '1' MINUTES))");
    assert.deepEqual(ms(off), [600_000, 60_000]);
    const named = win("SELECT * FROM TABLE(HOP(SIZE => INTERVAL '10' MINUTES, DATA => TABLE [[STREAM:bids]], SLIDE => INTERVAL '5' MINUTES, TIMECOL => DESCRIPTOR(`bid time`)))");
    assert.deepEqual(ms(named), [300_000, 600_000]);
    assert.deepEqual(named.timeColumn.value, 'bid time');
    assert.equal(((named.source as TableRef).table as { stream: string }).stream, 'bids');
    const namedCum = win("select * from table(cumulate(data => table Bid, timecol => descriptor(ts), size => interval '10' minutes, step => interval '2' minutes, offset => interval '1' minute))");
    assert.deepEqual([namedCum.function, ms(namedCum)], ['CUMULATE', [120_000, 600_000, 60_000]]);
    const aliased = win("SELECT * FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '1' HOUR)) AS w");
    assert.equal(aliased.alias?.value, 'w');
    const sub = win("SELECT * FROM TABLE(TUMBLE(TABLE (SELECT * FROM T WHERE a > 1), DESCRIPTOR(ts), INTERVAL '1' HOUR))");
    assert.equal(sub.source.kind, 'subquery');
  });

  it('joins: every type, left-associative, with ON', () => {
    const j = selectOf('SELECT a FROM T LEFT OUTER JOIN U ON T.k = U.k RIGHT JOIN V ON V.k = U.k FULL JOIN W w ON w.k = T.k').from as Join;
    assert.equal(j.joinType, 'FULL');
    assert.equal((j.right as TableRef).alias?.value, 'w');
    const inner = j.left as Join;
    assert.equal(inner.joinType, 'RIGHT');
    assert.equal((inner.left as Join).joinType, 'LEFT');
    assert.equal(((inner.left as Join).left as TableRef).table.kind, 'named');
    assert.equal((selectOf('SELECT a FROM T JOIN U ON TRUE').from as Join).joinType, 'INNER');
  });

  it('select items: DISTINCT, *, t.*, aliases with and without AS, back-quoted reserved words', () => {
    const q = selectOf('SELECT DISTINCT c.*, *, page p, `select` AS `from` FROM Clicks c');
    assert.equal(q.distinct, true);
    assert.deepEqual(q.items.map((i) => (i.kind === 'star' ? `${i.qualifier?.value ?? ''}*` : `${show(i.expr)}>${i.alias?.value}`)),
      ['c*', '*', 'page>p', 'select>from']);
    assert.equal(selectOf('SELECT a FROM T').distinct, false);
  });

  it('functions: COUNT(*), COUNT(DISTINCT x), upper-cased names, niladic CURRENT_TIMESTAMP', () => {
    const q = selectOf('SELECT count(*), Count(DISTINCT page), coalesce(a, 1), CURRENT_TIMESTAMP FROM T GROUP BY a');
    const calls = q.items.map((i) => (i.kind === 'expr' ? i.expr : undefined)) as FunctionCall[];
    assert.deepEqual(calls.map((c) => [c.name, c.star, c.distinct, c.args.length]),
      [['COUNT', true, false, 0], ['COUNT', false, true, 1], ['COALESCE', false, false, 2], ['CURRENT_TIMESTAMP', false, false, 0]]);
  });

  it('CASE (both forms), CAST and TRY_CAST', () => {
    const q = selectOf("SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END, CASE b WHEN 1 THEN 2 END, CAST(a AS DECIMAL(10, 2)), TRY_CAST(b AS INT), CAST(c AS TIMESTAMP(3) WITH LOCAL TIME ZONE) FROM T");
    assert.deepEqual(q.items.map((i) => (i.kind === 'expr' ? show(i.expr) : '*')), [
      "CASE((a > 1)->'x';else 'y')", 'CASE(b;1->2)', 'CAST(a AS DECIMAL(10,2))', 'TRY_CAST(b AS INT)', 'CAST(c AS TIMESTAMP_LTZ(3))',
    ]);
  });

  it('keywords are case-insensitive; identifiers keep their case', () => {
    const ins = insertOf('insert into [[STREAM:Out]] select UserId, COUNT(*) from Clicks Where Page > 1 group BY UserId Having count(*) > 2;');
    assert.equal((ins.target as { stream: string }).stream, 'Out');
    assert.equal(show((ins.query.items[0] as { expr: Expr }).expr), 'UserId');
    assert.equal(((ins.query.from as TableRef).table as { name: string }).name, 'Clicks');
  });

  it('INSERT INTO with a column list and back-quoted names', () => {
    const ins = insertOf('INSERT INTO `my-sink` (a, `b c`) SELECT x, y FROM T');
    assert.deepEqual(ins.target.kind === 'named' && ins.target.name, 'my-sink');
    assert.deepEqual(ins.columns?.map((c) => c.value), ['a', 'b c']);
  });

  it('comments and a trailing semicolon', () => {
    const text = '-- header\n/* block\n */ SELECT a -- the column\nFROM T /* the table */;  ';
    const s = parseOk(text);
    assert.equal(slice(text, s.span), 'SELECT a -- the column\nFROM T');
  });

  it('CREATE TABLE: types, NOT NULL, METADATA, computed columns, WATERMARK, PRIMARY KEY, WITH, IF NOT EXISTS', () => {
    const text = 'CREATE TABLE IF NOT EXISTS Events (\n' +
      '  id BIGINT NOT NULL,\n  name VARCHAR(20),\n  code CHAR(3),\n  amount DECIMAL(10, 2),\n  flag BOOLEAN,\n  t TINYINT, s SMALLINT, i INTEGER, f FLOAT, d DOUBLE,\n' +
      '  day DATE, tod TIME(3), raw BYTES, ltz TIMESTAMP_LTZ(3), ltz2 TIMESTAMP(6) WITH LOCAL TIME ZONE,\n' +
      "  ts TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL,\n  `partition` INT METADATA VIRTUAL,\n  hdr STRING METADATA FROM 'headers',\n" +
      '  pt AS PROCTIME(),\n' +
      "  WATERMARK FOR ts AS ts - INTERVAL '5' SECONDS,\n  PRIMARY KEY (id, name) NOT ENFORCED\n" +
      ") WITH ('connector' = 'upsert-kafka', 'value.format' = 'json', 'x' = 'it''s')";
    const st = parseOk(text) as CreateTableStatement;
    assert.equal(st.kind, 'createTable');
    assert.equal(st.name.value, 'Events');
    const types = Object.fromEntries(st.columns.map((c) => [c.name.value, c.type ? `${c.type.name}${c.type.params ? `(${c.type.params})` : ''}${c.type.nullable ? '' : '!'}` : 'computed']));
    assert.deepEqual(types, {
      id: 'BIGINT!', name: 'STRING(20)', code: 'STRING(3)', amount: 'DECIMAL(10,2)', flag: 'BOOLEAN', t: 'TINYINT', s: 'SMALLINT',
      i: 'INT', f: 'FLOAT', d: 'DOUBLE', day: 'DATE', tod: 'TIME(3)', raw: 'BYTES', ltz: 'TIMESTAMP_LTZ(3)', ltz2: 'TIMESTAMP_LTZ(6)',
      ts: 'TIMESTAMP(3)', partition: 'INT', hdr: 'STRING', pt: 'computed',
    });
    const md = Object.fromEntries(st.columns.filter((c) => c.metadata).map((c) => [c.name.value, c.metadata]));
    assert.deepEqual(md, { ts: { from: 'timestamp', virtual: true }, partition: { from: 'partition', virtual: true }, hdr: { from: 'headers', virtual: false } });
    const pt = st.columns.find((c) => c.name.value === 'pt');
    assert.equal(pt?.computed && show(pt.computed), 'PROCTIME()');
    assert.equal(st.watermark?.column.value, 'ts');
    assert.equal(st.watermark && show(st.watermark.expression), '(ts - INTERVAL(5000))');
    assert.equal(st.watermark && slice(text, st.watermark.span), "WATERMARK FOR ts AS ts - INTERVAL '5' SECONDS");
    assert.deepEqual(st.primaryKey?.map((k) => k.value), ['id', 'name']);
    assert.deepEqual(st.options, { connector: 'upsert-kafka', 'value.format': 'json', x: "it's" });
    assert.equal(slice(text, st.span), text);
    const colPk = parseOk("CREATE TABLE T (a STRING PRIMARY KEY NOT ENFORCED, b INT) WITH ('connector' = 'kafka')") as CreateTableStatement;
    assert.deepEqual(colPk.primaryKey?.map((k) => k.value), ['a']);
    assert.deepEqual((parseOk('CREATE TABLE T (a INT)') as CreateTableStatement).options, {});
  });
});

interface Expected {
  text: string;
  /** The text the diagnostic's span starts with. */
  at: string;
  message: string;
}

function expectDiagnostic({ text, at, message }: Expected, index = 0): void {
  const r = parseStatement(text, index);
  assert.equal(r.statement, undefined, `expected a diagnostic for: ${text}`);
  assert.equal(r.diagnostics.length, 1);
  const d = r.diagnostics[0];
  assert.ok(d.message.includes(message), `message "${d.message}" lacks "${message}" (${text})`);
  if (at === '') assert.equal(d.span.start, text.length, `diagnostic at ${d.span.start}, expected the end (${text})`);
  else assert.ok(text.slice(d.span.start).startsWith(at), `diagnostic at "${text.slice(d.span.start, d.span.start + 20)}", expected "${at}" (${text})`);
  assert.equal(d.statement, index);
  const before = text.slice(0, d.span.start);
  assert.equal(d.line, before.split('\n').length);
  assert.equal(d.column, d.span.start - before.lastIndexOf('\n'));
}

describe('parseStatement: diagnostics', () => {
  it('malformed SQL: position and what was expected', () => {
    const cases: Expected[] = [
      { text: 'SELECT a FROM', at: '', message: 'expected a table name or [[STREAM:<name>]], found the end of the statement' },
      { text: 'SELECT a, FROM T', at: 'FROM', message: 'expected an expression' },
      { text: 'SELECT a FROM T WHERE', at: '', message: 'expected an expression' },
      { text: 'SELECT a FROM T WHERE a = ', at: '', message: 'expected an expression' },
      { text: "SELECT 'abc FROM T", at: "'abc", message: 'unterminated string literal' },
      { text: 'SELECT a /* open FROM T', at: '/*', message: 'unterminated /* comment */' },
      { text: 'SELECT a FROM [[STREAM:x', at: '[[STREAM:x', message: 'malformed placeholder' },
      { text: 'SELECT a FROM [[STREAM:]]', at: '[[STREAM:]]', message: 'placeholder names no stream' },
      { text: 'SELECT "a" FROM T', at: '"a"', message: 'double quotes are not supported' },
      { text: 'SELECT a FROM T WHERE a = 1 b', at: 'b', message: 'expected the end of the statement' },
      { text: 'SELECT COUNT(* FROM T', at: 'FROM', message: "expected ',' or ')'" },
      { text: 'SELECT CASE WHEN a THEN b FROM T', at: 'FROM', message: 'expected WHEN, ELSE or END' },
      { text: 'SELECT CAST(a AS WIBBLE) FROM T', at: 'WIBBLE', message: "unknown type 'WIBBLE'; supported: STRING" },
      { text: "SELECT a FROM T WHERE ts > INTERVAL 5 SECOND", at: '5', message: "expected a quoted amount: INTERVAL '5' SECOND" },
      { text: "SELECT a FROM T WHERE ts > INTERVAL 'x' SECOND", at: "'x'", message: "invalid interval amount 'x'" },
      { text: "SELECT a FROM T WHERE ts > INTERVAL '1' FORTNIGHT", at: 'FORTNIGHT', message: "unknown interval unit 'FORTNIGHT'" },
      { text: 'SELECT a FROM T JOIN U', at: '', message: 'expected ON <join condition>' },
      { text: 'SELECT select FROM T', at: 'select FROM', message: 'expected an expression' },
      { text: 'SELECT a AS from FROM T', at: 'from', message: 'FROM is a reserved word: back-quote it as `from`' },
      { text: 'INSERT INTO T', at: '', message: 'expected SELECT' },
      { text: 'SELECT a FROM T; SELECT b FROM U', at: 'SELECT b', message: 'one statement per entry' },
      { text: '', at: '', message: 'empty statement' },
      { text: '   -- only a comment', at: '', message: 'empty statement' },
      { text: "SELECT * FROM TABLE(TUMBLE(TABLE T, DESCRIPTOR(ts)))", at: 'TABLE(TUMBLE', message: 'TUMBLE needs DATA, TIMECOL, SIZE: missing SIZE' },
      { text: "SELECT * FROM TABLE(HOP(TABLE T, DESCRIPTOR(ts), INTERVAL '1' MINUTE))", at: 'TABLE(HOP', message: 'missing SIZE' },
      { text: "SELECT * FROM TABLE(TUMBLE(TABLE T, DESCRIPTOR(ts), 5))", at: '5', message: 'expected an interval for SIZE' },
      { text: "SELECT * FROM TABLE(TUMBLE(TABLE T, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' MINUTE, INTERVAL '1' MINUTE))", at: "INTERVAL '1' MINUTE))", message: 'too many arguments for TUMBLE' },
      { text: "SELECT * FROM TABLE(TUMBLE(DATA => TABLE T, TIMECOL => DESCRIPTOR(ts), WIDTH => INTERVAL '1' MINUTE))", at: 'WIDTH', message: 'TUMBLE has no parameter WIDTH; its parameters: DATA, TIMECOL, SIZE, OFFSET' },
      { text: "SELECT * FROM TABLE(TUMBLE(DATA => TABLE T, DESCRIPTOR(ts), INTERVAL '1' MINUTE))", at: 'DESCRIPTOR', message: 'mix of named and positional arguments' },
      { text: "CREATE TABLE T (a INT, PRIMARY KEY (a))", at: ')', message: 'expected NOT ENFORCED' },
      { text: "CREATE TABLE T (a INT) WITH ('k' = v)", at: 'v', message: 'expected an option value (a quoted string)' },
      { text: 'SELECT ROW_NUMBER() OVER (PARTITION BY a) FROM T', at: ')', message: 'expected ORDER BY' },
      { text: 'SELECT ROW_NUMBER(a) OVER (ORDER BY a) FROM T', at: 'ROW_NUMBER(a)', message: 'ROW_NUMBER takes no arguments' },
      { text: 'SELECT a FROM T WHERE a IS b', at: 'b', message: 'expected NULL' },
      { text: 'SELECT a FROM T WHERE a = 1 1', at: '1', message: 'expected the end of the statement' },
      { text: 'SELECT 1abc FROM T', at: '1abc', message: "invalid number '1abc'" },
      { text: 'SELECT a # b FROM T', at: '#', message: "unexpected character '#'" },
    ];
    for (const c of cases) expectDiagnostic(c);
  });

  it('unsupported constructs: "not supported" at their position, with what is supported', () => {
    const cases: Expected[] = [
      ...UNSUPPORTED_FLINK,
      { text: 'SELECT RANK() OVER (PARTITION BY a ORDER BY b) FROM T', at: 'RANK() OVER', message: 'window function RANK is not supported; supported: ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) for Top-N' },
      { text: 'SELECT DENSE_RANK() OVER (ORDER BY b) FROM T', at: 'DENSE_RANK', message: 'window function DENSE_RANK is not supported' },
      { text: 'SELECT SUM(b) OVER (PARTITION BY a ORDER BY ts) FROM T', at: 'SUM(b) OVER', message: 'OVER aggregates (SUM(...) OVER ...) are not supported; supported: ROW_NUMBER()' },
      { text: "SELECT * FROM TABLE(SESSION(TABLE T, DESCRIPTOR(ts), INTERVAL '5' MINUTES))", at: 'SESSION', message: 'window function SESSION is not supported; supported: TUMBLE, HOP, CUMULATE' },
      { text: 'SELECT a FROM T MATCH_RECOGNIZE (PARTITION BY a)', at: 'MATCH_RECOGNIZE', message: 'MATCH_RECOGNIZE is not supported' },
      { text: 'SELECT a FROM T, LATERAL TABLE(f(a))', at: ',', message: 'comma joins are not supported' },
      { text: 'SELECT a FROM UNNEST(x)', at: 'UNNEST', message: 'UNNEST is not supported' },
      { text: 'SELECT a FROM T NATURAL JOIN U', at: 'NATURAL', message: 'NATURAL JOIN is not supported' },
      { text: 'SELECT a FROM T JOIN U USING (k)', at: 'USING', message: 'JOIN ... USING is not supported' },
      { text: 'SELECT a, COUNT(*) FROM T GROUP BY CUBE (a)', at: 'CUBE', message: 'CUBE is not supported' },
      { text: 'SELECT ROW_NUMBER() OVER (ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM T', at: 'ROWS', message: 'window frames (ROWS ...) are not supported' },
      { text: 'SELECT ROW_NUMBER() OVER w FROM T', at: 'w', message: 'named windows are not supported' },
      { text: "SELECT a FROM T WHERE ts > ts - INTERVAL '1:30' MINUTE TO SECOND", at: 'TO', message: "INTERVAL '...' MINUTE TO ... is not supported" },
      { text: "SELECT a FROM T WHERE ts > ts - INTERVAL '1' MONTH", at: 'MONTH', message: 'INTERVAL ... MONTH is not supported (not a fixed length)' },
      { text: 'SELECT a FROM T WHERE a IS TRUE', at: 'TRUE', message: 'IS TRUE is not supported; supported: IS [NOT] NULL' },
      { text: 'SELECT (SELECT 1 FROM U) FROM T', at: 'SELECT 1', message: 'scalar subqueries are not supported' },
      { text: 'SELECT a FROM T HAVING a > 1 QUALIFY x', at: 'QUALIFY', message: 'QUALIFY is not supported' },
      { text: 'SELECT a FROM (SELECT a FROM T ORDER BY a)', at: 'ORDER', message: 'ORDER BY is not supported' },
      { text: 'SELECT 1', at: '', message: 'SELECT without FROM is not supported' },
      { text: 'EXPLAIN SELECT a FROM T', at: 'EXPLAIN', message: 'EXPLAIN statements are not supported; supported: INSERT INTO <table> SELECT ..., SELECT ..., CREATE TABLE ...' },
      { text: 'SET x = 1', at: 'SET', message: 'SET statements are not supported' },
      { text: "SELECT a FROM T /*+ OPTIONS('scan.startup.mode'='latest-offset') */", at: '/*+', message: 'SQL hints (/*+ ... */) are not supported' },
      { text: 'INSERT OVERWRITE T SELECT a FROM U', at: 'OVERWRITE', message: 'INSERT OVERWRITE is not supported' },
      { text: 'SELECT EXTRACT(HOUR FROM ts) FROM T', at: 'FROM ts', message: 'EXTRACT(... FROM ...) syntax is not supported' },
      { text: 'SELECT a FROM T WHERE a SIMILAR TO b', at: 'SIMILAR', message: 'SIMILAR TO is not supported' },
      { text: "SELECT a FROM T WHERE a LIKE 'x' ESCAPE '!'", at: 'ESCAPE', message: 'LIKE ... ESCAPE is not supported' },
      { text: 'SELECT a FROM [[STREAM:x]] WHERE [[STREAM:x]].a = 1', at: '[[STREAM:x]].a', message: 'placeholder names a table' },
      { text: 'SELECT a.b.c FROM T', at: '.c', message: 'nested field access (a.b.c) is not supported' },
      { text: 'CREATE TABLE T (a ARRAY<INT>)', at: 'ARRAY', message: 'type ARRAY is not supported' },
      { text: "CREATE TABLE T (a INT) PARTITIONED BY (a) WITH ('connector' = 'kafka')", at: 'PARTITIONED', message: 'PARTITIONED is not supported in CREATE TABLE' },
      { text: 'CREATE TABLE c.d.T (a INT)', at: '.', message: 'qualified table names (catalog.database.table) are not supported' },
      { text: 'CREATE TABLE T (a TIMESTAMP(3) WITH TIME ZONE)', at: 'WITH TIME', message: 'TIMESTAMP WITH TIME ZONE is not supported' },
    ];
    for (const c of cases) expectDiagnostic(c);
  });

  it('line and column are 1-based inside a multi-line statement; the statement index is carried', () => {
    const text = 'INSERT INTO [[STREAM:out]]\n  SELECT a\n  FROM T\n  LIMIT 5';
    const r = parseStatement(text, 3);
    assert.equal(r.diagnostics.length, 1);
    assert.deepEqual([r.diagnostics[0].statement, r.diagnostics[0].line, r.diagnostics[0].column], [3, 4, 3]);
    assert.equal(text.slice(r.diagnostics[0].span.start, r.diagnostics[0].span.end), 'LIMIT');
  });

  it('parseStatements: one result per text, diagnostics indexed by statement', () => {
    const r = parseStatements(['SELECT a FROM T', 'SELECT FROM', "CREATE TABLE T (a INT) WITH ('connector' = 'kafka')"]);
    assert.deepEqual(r.statements.map((s) => s?.kind), ['query', undefined, 'createTable']);
    assert.deepEqual(r.diagnostics.map((d) => d.statement), [1]);
  });
});

describe('parseStatement: robustness', () => {
  /** A small deterministic PRNG (mulberry32): failures reproduce. */
  function rng(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function checkResult(text: string): void {
    let r: ReturnType<typeof parseStatement>;
    try {
      r = parseStatement(text, 2);
    } catch (e) {
      assert.fail(`parseStatement threw on ${JSON.stringify(text)}: ${String(e)}`);
    }
    if (r.statement) {
      assert.equal(r.diagnostics.length, 0);
      checkSpans(r.statement, text, { start: 0, end: text.length });
    } else {
      assert.equal(r.diagnostics.length, 1, JSON.stringify(text));
      const d = r.diagnostics[0];
      assert.ok(d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length, JSON.stringify({ text, d }));
      assert.ok(d.line >= 1 && d.column >= 1 && d.message.length > 0 && d.statement === 2);
    }
  }

  const corpus = [...samples.statements.map((s) => s.text), ...EXTRA_STATEMENTS, ...UNSUPPORTED_FLINK.map((u) => u.text)];

  it('every truncation of every corpus statement returns a statement or one diagnostic, never throws', () => {
    let truncatedOk = 0;
    for (const text of corpus) {
      for (let n = 0; n < text.length; n++) checkResult(text.slice(0, n));
      // A truncated SELECT list or join ending in an identifier is still valid SQL; most truncations are not.
      truncatedOk += parseStatement(text.slice(0, Math.floor(text.length / 2))).statement ? 1 : 0;
    }
    assert.ok(truncatedOk < corpus.length / 2);
  });

  it('random edits and garbage never throw', () => {
    const random = rng(20261206);
    const alphabet = "abcXYZ_019 '`\"()[],.;*+-/%|=<>!:\n\t-/*$#@\\{}?";
    const pick = <T>(xs: T[] | string): T | string => xs[Math.floor(random() * xs.length)];
    for (let i = 0; i < 3000; i++) {
      let text = String(pick(corpus));
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (text.length + 1));
        const op = random();
        if (op < 0.33) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 5));
        else if (op < 0.66) text = text.slice(0, at) + String(pick(alphabet)) + text.slice(at);
        else {
          const other = String(pick(corpus));
          const from = Math.floor(random() * other.length);
          text = text.slice(0, at) + other.slice(from, from + 1 + Math.floor(random() * 12)) + text.slice(at);
        }
      }
      checkResult(text);
    }
    for (let i = 0; i < 1000; i++) {
      let text = '';
      const n = Math.floor(random() * 60);
      for (let k = 0; k < n; k++) text += String(pick(alphabet));
      checkResult(text);
    }
    checkResult('('.repeat(2000) + 'a' + ')'.repeat(2000));
    checkResult(`SELECT ${'('.repeat(5000)}a${')'.repeat(5000)} FROM T`);
    checkResult(`SELECT ${'-'.repeat(5000)}a FROM T`);
    checkResult(`SELECT ${'NOT '.repeat(5000)}a FROM T`);
    checkResult(`SELECT a FROM ${'(SELECT a FROM '.repeat(3000)}T${')'.repeat(3000)}`);
  });
});
