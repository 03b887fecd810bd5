// Scalar expressions: functions, casts and time handling that SQLite cannot be the oracle for (Flink-specific
// behaviour), checked against hand-computed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatement } from '../../crds/sql/parser';
import { planStatement } from '../../crds/sql/plan';
import { compileExpr } from './expressions';
import { formatWith, parseWith } from './functions';
import { table } from './test-support';
import { coercerFor, CoercionError, formatTimestamp, parseTimestamp } from './values';

const T = table('T', ['s STRING?', 'n BIGINT?', 'd DOUBLE?', 'ts TIMESTAMP?']);
const OUT = table('O', ['x STRING?']);

/** Evaluates `expr` (a SELECT item over T) on one row. */
function evaluate(expr: string, row: unknown[] = ['Hello World', 7, 2.5, Date.UTC(2024, 1, 29, 13, 5, 9, 42)], now = 0): unknown {
  const text = `SELECT ${expr} AS x FROM T`;
  const parsed = parseStatement(text);
  assert.deepEqual(parsed.diagnostics, [], text);
  const planned = planStatement(parsed.statement!, [T, OUT], 0, text);
  assert.deepEqual(planned.diagnostics, [], text);
  const root = planned.plan!.root;
  assert.equal(root.kind, 'calc');
  if (root.kind !== 'calc') return undefined;
  return compileExpr(root.projections![0], { now: () => now })(row);
}

test('string functions', () => {
  assert.equal(evaluate('UPPER(s)'), 'HELLO WORLD');
  assert.equal(evaluate('LOWER(s)'), 'hello world');
  assert.equal(evaluate("INITCAP('hello wORLD-foo')"), 'Hello World-Foo');
  assert.equal(evaluate("TRIM('  a  ')"), 'a');
  assert.equal(evaluate("LTRIM('  a  ')"), 'a  ');
  assert.equal(evaluate("RTRIM('  a  ')"), '  a');
  assert.equal(evaluate('CHAR_LENGTH(s)'), 11);
  assert.equal(evaluate('SUBSTRING(s, 7)'), 'World');
  assert.equal(evaluate('SUBSTR(s, 1, 5)'), 'Hello');
  assert.equal(evaluate("CONCAT(s, '!', n)"), 'Hello World!7');
  assert.equal(evaluate("CONCAT_WS('-', 'a', CAST(NULL AS STRING), 'b')"), 'a-b');
  assert.equal(evaluate("REPLACE(s, 'o', '0')"), 'Hell0 W0rld');
  assert.equal(evaluate("POSITION('World', s)"), 7);
  assert.equal(evaluate("LPAD('7', 3, '0')"), '007');
  assert.equal(evaluate("RPAD('ab', 5, 'xy')"), 'abxyx');
  assert.equal(evaluate("LPAD('abcdef', 3, '0')"), 'abc');
  assert.equal(evaluate("s LIKE 'Hello%'"), true);
  assert.equal(evaluate("s LIKE 'hello%'"), false, 'LIKE is case-sensitive (Flink), unlike SQLite');
  assert.equal(evaluate("s LIKE '_ello W_rld'"), true);
  assert.equal(evaluate("s NOT LIKE '%x%'"), true);
  assert.equal(evaluate("UPPER(s)", [null, 1, 1, 1]), null);
});

test('arithmetic: integer division, MOD, math functions, NULL propagation', () => {
  assert.equal(evaluate('n / 2'), 3, 'BIGINT / INT is an integer division');
  assert.equal(evaluate('-n / 2'), -3, 'truncated toward zero');
  assert.equal(evaluate('n / 2.0'), 3.5);
  assert.equal(evaluate('d / 2'), 1.25);
  assert.equal(evaluate('n / 0'), null);
  assert.equal(evaluate('MOD(n, 3)'), 1);
  assert.equal(evaluate('MOD(-n, 3)'), -1);
  assert.equal(evaluate('ABS(-n)'), 7);
  assert.equal(evaluate('CEIL(d)'), 3);
  assert.equal(evaluate('FLOOR(d)'), 2);
  assert.equal(evaluate('ROUND(d)'), 3, 'half away from zero');
  assert.equal(evaluate('ROUND(-d)'), -3);
  assert.equal(evaluate('ROUND(1.2345, 2)'), 1.23);
  assert.equal(evaluate('POWER(n, 2)'), 49);
  assert.equal(evaluate('SQRT(16)'), 4);
  assert.equal(evaluate('n + 1', ['a', null, 1, 1]), null);
  assert.equal(evaluate('n * d'), 17.5);
});

test('three-valued logic, CASE, COALESCE, NULLIF, IF, IN, BETWEEN', () => {
  const nulls = [null, null, null, null];
  assert.equal(evaluate('n > 1 AND d > 100'), false);
  assert.equal(evaluate('n > 1 AND d > 100', nulls), null);
  assert.equal(evaluate('n > 1 OR TRUE', nulls), true);
  assert.equal(evaluate('n > 1 AND FALSE', nulls), false);
  assert.equal(evaluate('NOT (n > 1)', nulls), null);
  assert.equal(evaluate('n IS NULL', nulls), true);
  assert.equal(evaluate("CASE WHEN n > 5 THEN 'big' ELSE 'small' END"), 'big');
  assert.equal(evaluate("CASE n WHEN 7 THEN 'seven' END"), 'seven');
  assert.equal(evaluate("CASE n WHEN 8 THEN 'eight' END"), null);
  assert.equal(evaluate("COALESCE(s, 'none')", nulls), 'none');
  assert.equal(evaluate('NULLIF(n, 7)'), null);
  assert.equal(evaluate('NULLIF(n, 8)'), 7);
  assert.equal(evaluate("IF(n > 5, 'y', 'n')"), 'y');
  assert.equal(evaluate("IF(n > 5, 'y', 'n')", nulls), 'n');
  assert.equal(evaluate('n IN (1, 7)'), true);
  assert.equal(evaluate('n IN (1, 2)'), false);
  assert.equal(evaluate('n IN (1, 2)', nulls), null);
  assert.equal(evaluate('n NOT IN (1, 2)'), true);
  assert.equal(evaluate('n BETWEEN 7 AND 8'), true);
  assert.equal(evaluate('n NOT BETWEEN 7 AND 8'), false);
});

test('CAST and TRY_CAST (an unparsable value is NULL, as Flink 1.14 did)', () => {
  assert.equal(evaluate("CAST('42' AS INT)"), 42);
  assert.equal(evaluate("CAST('4x' AS INT)"), null);
  assert.equal(evaluate("TRY_CAST('4x' AS INT)"), null);
  assert.equal(evaluate('CAST(d AS BIGINT)'), 2);
  assert.equal(evaluate('CAST(n AS STRING)'), '7');
  assert.equal(evaluate('CAST(n AS DOUBLE)'), 7);
  assert.equal(evaluate('CAST(ts AS STRING)'), '2024-02-29 13:05:09.042');
  assert.equal(evaluate("CAST('2024-02-29 13:05:09' AS TIMESTAMP(3))"), Date.UTC(2024, 1, 29, 13, 5, 9));
  assert.equal(evaluate("CAST('true' AS BOOLEAN)"), true);
  assert.equal(evaluate('CAST(ts AS DATE)'), Math.floor(Date.UTC(2024, 1, 29) / 86_400_000));
});

test('time: literals, intervals, TO_TIMESTAMP, FROM_UNIXTIME, UNIX_TIMESTAMP, DATE_FORMAT, CURRENT_TIMESTAMP (UTC)', () => {
  const ts = Date.UTC(2024, 1, 29, 13, 5, 9, 42);
  assert.equal(evaluate("ts > TIMESTAMP '2024-01-01 00:00:00'"), true);
  assert.equal(evaluate("ts > '2024-03-01 00:00:00'"), false, 'a string literal compared with a timestamp is one');
  assert.equal(evaluate("ts - INTERVAL '1' HOUR"), ts - 3_600_000);
  assert.equal(evaluate("ts + INTERVAL '90' SECOND"), ts + 90_000);
  assert.equal(evaluate("TO_TIMESTAMP('2024-02-29 13:05:09')"), Date.UTC(2024, 1, 29, 13, 5, 9));
  assert.equal(evaluate("TO_TIMESTAMP('29/02/2024 13:05', 'dd/MM/yyyy HH:mm')"), Date.UTC(2024, 1, 29, 13, 5));
  assert.equal(evaluate('FROM_UNIXTIME(0)'), '1970-01-01 00:00:00');
  assert.equal(evaluate("FROM_UNIXTIME(86400, 'yyyy/MM/dd')"), '1970/01/02');
  assert.equal(evaluate("UNIX_TIMESTAMP('1970-01-01 00:01:00')"), 60);
  assert.equal(evaluate('UNIX_TIMESTAMP()', undefined, 5_500), 5);
  assert.equal(evaluate("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS')"), '2024-02-29 13:05:09.042');
  assert.equal(evaluate("DATE_FORMAT(ts, 'HH''h''mm')"), '13h05', "quoted text in the pattern");
  assert.equal(evaluate('CURRENT_TIMESTAMP', undefined, 1234), 1234);
  assert.equal(formatWith(ts, "yyyy-MM-dd'T'HH:mm"), '2024-02-29T13:05');
  assert.equal(parseWith('2024-02-29T13:05', "yyyy-MM-dd'T'HH:mm"), Date.UTC(2024, 1, 29, 13, 5));
  assert.equal(parseWith('2024-02-29', 'yyyy-MM-dd HH'), undefined);
});

test('input coercion: numbers, strings, timestamps in three forms, and refusals', () => {
  assert.equal(coercerFor('BIGINT')('12'), 12);
  assert.throws(() => coercerFor('BIGINT')('1.5'), CoercionError);
  assert.throws(() => coercerFor('INT')({}), CoercionError);
  assert.equal(coercerFor('DOUBLE')('1.5'), 1.5);
  assert.equal(coercerFor('STRING')(12), '12');
  assert.equal(coercerFor('STRING')(undefined), null);
  assert.equal(coercerFor('BOOLEAN')('true'), true);
  assert.equal(coercerFor('TIMESTAMP')(1_700_000_000_123), 1_700_000_000_123);
  assert.equal(coercerFor('TIMESTAMP')('1700000000123'), 1_700_000_000_123);
  assert.equal(coercerFor('TIMESTAMP')('2023-11-14 22:13:20.123'), 1_700_000_000_123);
  assert.equal(coercerFor('TIMESTAMP')('2023-11-14T23:13:20.123+01:00'), 1_700_000_000_123);
  assert.throws(() => coercerFor('TIMESTAMP')('yesterday'), CoercionError);
  assert.equal(coercerFor('DATE')('1970-01-03'), 2);
  assert.equal(parseTimestamp('2023-11-14 22:13'), Date.UTC(2023, 10, 14, 22, 13));
  assert.equal(formatTimestamp(1_700_000_000_123), '2023-11-14 22:13:20.123');
});
