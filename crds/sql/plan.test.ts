import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStatement } from './parser';
import { explainPlan, planStatement, type PlanResult } from './plan';
import type { SqlTable } from './table';

function t(name: string, stream: string, columns: [string, string][], extra: Partial<SqlTable> = {}): SqlTable {
  return {
    name,
    stream,
    columns: columns.map(([n, type]) => ({ name: n, type: { name: type as never, nullable: true }, source: 'payload' as const })),
    valueFormat: 'json',
    upsert: false,
    startupMode: 'earliest-offset',
    options: {},
    ...extra,
  };
}

const clicks = t('Clicks', 'click-stream', [['user_id', 'STRING'], ['page', 'INT'], ['event_time', 'TIMESTAMP']], { watermark: { column: 'event_time', delayMs: 30_000, text: '' } });
const users = t('Users', 'user-stream', [['user_id', 'STRING'], ['name', 'STRING'], ['level', 'STRING']]);
const vip = t('VipActions', 'vip-action-stream', [['user_id', 'STRING'], ['name', 'STRING'], ['page', 'INT'], ['event_time', 'TIMESTAMP']]);
const counts = t('Counts', 'counts', [['user_id', 'STRING'], ['c', 'BIGINT']]);
const upsertCounts = t('UpsertCounts', 'upsert-counts', [['user_id', 'STRING'], ['c', 'BIGINT']], { upsert: true, primaryKey: ['user_id'] });
const windowed = t('Windowed', 'windowed', [['ws', 'TIMESTAMP'], ['we', 'TIMESTAMP'], ['user_id', 'STRING'], ['c', 'BIGINT']]);
const TABLES = [clicks, users, vip, counts, upsertCounts, windowed];

function plan(text: string, tables = TABLES): PlanResult & { text: string } {
  const parsed = parseStatement(text, 3);
  assert.deepEqual(parsed.diagnostics, [], 'parses');
  return { ...planStatement(parsed.statement!, tables, 3, text), text };
}

function diagnostic(text: string): { message: string; at: string; line: number; column: number; statement: number } {
  const result = plan(text);
  assert.equal(result.plan, undefined);
  assert.equal(result.diagnostics.length, 1);
  const d = result.diagnostics[0];
  return { message: d.message, at: text.slice(d.span.start, d.span.end), line: d.line, column: d.column, statement: d.statement };
}

test('the clickstream sample: record-name qualifiers with no alias, an insert-only plan', () => {
  const result = plan(`INSERT INTO [[STREAM:vip-action-stream]] SELECT Users.user_id, Users.name, Clicks.page, Clicks.event_time
    FROM [[STREAM:click-stream]] INNER JOIN [[STREAM:user-stream]] ON Clicks.user_id = Users.user_id WHERE Users.level = 'PLATINUM'`);
  assert.deepEqual(result.diagnostics, []);
  assert.equal(result.plan!.root.changelog, 'insert-only');
  assert.deepEqual(result.plan!.sink!.columnMap, [0, 1, 2, 3]);
  const explained = explainPlan(result.plan!);
  assert.match(explained, /^Sink VipActions \(stream vip-action-stream, insert-only\)/);
  assert.match(explained, /Join INNER on clicks.user_id = users.user_id/);
  assert.match(explained, /Scan Clicks \(stream click-stream, watermark event_time - 30000 ms\)/);
  // The join output carries no time attribute (Flink 1.14): no field is a rowtime any more.
  assert.equal(result.plan!.root.fields.some((f) => f.time === 'rowtime'), false);
});

test('an unknown column: diagnostic at the name, with line and column, listing the available columns', () => {
  const d = diagnostic('INSERT INTO Counts\nSELECT user_id, COUNT(*) AS c\nFROM Clicks WHERE pag = 3 GROUP BY user_id');
  assert.equal(d.at, 'pag');
  assert.equal(d.line, 3);
  assert.equal(d.column, 19);
  assert.equal(d.statement, 3);
  assert.match(d.message, /unknown column 'pag'; available columns: clicks\.user_id, clicks\.page, clicks\.event_time/);
});

test('unknown tables, streams and qualifiers are named with what exists', () => {
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, page FROM Klicks').message, /unknown table 'Klicks'; known tables: Clicks, Users/);
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, page FROM [[STREAM:nope]]').message, /unknown stream 'nope'; known streams: click-stream/);
  const d = diagnostic('INSERT INTO Counts SELECT x.user_id, page FROM Clicks c');
  assert.equal(d.at, 'x');
  assert.match(d.message, /unknown table or alias 'x'; known here: c/);
});

test('names match case-insensitively when unambiguous; an ambiguous column must be qualified', () => {
  assert.deepEqual(plan('INSERT INTO Counts SELECT USER_ID, Page FROM clicks').diagnostics, []);
  const d = diagnostic('INSERT INTO Counts SELECT user_id, page FROM Clicks JOIN Users ON Clicks.user_id = Users.user_id');
  assert.equal(d.at, 'user_id');
  assert.match(d.message, /ambiguous \(clicks, users\); qualify it/);
});

test('INSERT INTO maps by position and checks the arity and the types', () => {
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id FROM Clicks').message, /produces 1 column\(s\) \(user_id\) but the target takes 2 \(user_id, c\)/);
  assert.match(diagnostic('INSERT INTO Counts SELECT page, user_id FROM Clicks').message, /column 2 'user_id' is STRING, the target column 'c' is BIGINT/);
});

test('cheap type checks', () => {
  const d = diagnostic("INSERT INTO Counts SELECT user_id, page FROM Clicks WHERE user_id > 5");
  assert.match(d.message, /cannot compare STRING with INT/);
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, SUM(user_id) FROM Clicks GROUP BY user_id').message, /SUM needs a numeric column, got STRING/);
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, page FROM Clicks WHERE page').message, /WHERE must be BOOLEAN, got INT/);
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, FOO(page) FROM Clicks').message, /unknown function FOO; supported: COUNT, SUM/);
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, page FROM Clicks GROUP BY user_id').message, /column 'page' must appear in GROUP BY or inside an aggregate/);
});

test('unsupported constructs say what is supported', () => {
  assert.match(diagnostic('INSERT INTO Counts SELECT c.user_id, c.page FROM Clicks c FULL JOIN Users u ON c.user_id = u.user_id').message,
    /FULL JOIN is not supported; supported joins: INNER JOIN, LEFT JOIN and RIGHT JOIN/);
  assert.match(diagnostic('INSERT INTO Counts SELECT user_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY page) FROM Clicks').message,
    /supported only as window Top-N/);
  assert.match(diagnostic(`INSERT INTO Windowed SELECT window_start, window_end, user_id, COUNT(*) FROM TABLE(TUMBLE(TABLE Users, DESCRIPTOR(name), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, user_id`).message,
    /DESCRIPTOR\(name\) must be a time attribute/);
  const overJoin = diagnostic(`INSERT INTO Windowed SELECT window_start, window_end, user_id, COUNT(*) FROM TABLE(TUMBLE(TABLE (SELECT c.user_id, c.event_time FROM Clicks c JOIN Users u ON c.user_id = u.user_id), DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, user_id`);
  assert.match(overJoin.message, /regular join carries no time attribute/);
  assert.match(diagnostic(`INSERT INTO Windowed SELECT window_start, window_end, user_id, c FROM (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY c DESC) AS rn FROM (
        SELECT window_start, window_end, user_id, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE Clicks, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
        GROUP BY window_start, window_end, user_id))`).message, /needs an outer WHERE rn <= N/);
});

test('changelog modes: a GROUP BY without a window is an upsert result, refused by an insert-only sink, accepted by an upsert one', () => {
  const refused = diagnostic('INSERT INTO Counts SELECT user_id, COUNT(*) FROM Clicks GROUP BY user_id');
  assert.match(refused.message, /Counts \(stream counts\) accepts inserts only, but this query produces an updating \(upsert\) result \(a GROUP BY without a window TVF updates its result on every row\)/);
  const accepted = plan('INSERT INTO UpsertCounts SELECT user_id, COUNT(*) FROM Clicks GROUP BY user_id');
  assert.deepEqual(accepted.diagnostics, []);
  assert.equal(accepted.plan!.root.changelog, 'upsert');
  assert.deepEqual(accepted.plan!.root.upsertKey, [0]);
  const windowedPlan = plan(`INSERT INTO Windowed SELECT window_start, window_end, user_id, COUNT(*) FROM TABLE(TUMBLE(TABLE Clicks, DESCRIPTOR(event_time), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, user_id`);
  assert.equal(windowedPlan.plan!.root.changelog, 'insert-only');
  const left = plan('INSERT INTO UpsertCounts SELECT c.user_id, c.page FROM Clicks c LEFT JOIN Users u ON c.user_id = u.user_id');
  assert.equal(left.plan!.root.changelog, 'retract');
});

test('interval joins are recognised from BETWEEN or a pair of bounds, in either orientation', () => {
  const other = t('Views', 'views', [['user_id', 'STRING'], ['vt', 'TIMESTAMP']], { watermark: { column: 'vt', delayMs: 0, text: '' } });
  const out = t('Out', 'out', [['user_id', 'STRING'], ['a', 'TIMESTAMP'], ['b', 'TIMESTAMP']]);
  for (const on of [
    "c.event_time BETWEEN v.vt - INTERVAL '10' SECOND AND v.vt + INTERVAL '5' SECOND",
    "c.event_time >= v.vt - INTERVAL '10' SECOND AND c.event_time <= v.vt + INTERVAL '5' SECOND",
    "v.vt <= c.event_time + INTERVAL '10' SECOND AND v.vt >= c.event_time - INTERVAL '5' SECOND",
  ]) {
    const result = plan(`INSERT INTO Out SELECT c.user_id, c.event_time, v.vt FROM Clicks c JOIN Views v ON c.user_id = v.user_id AND ${on}`, [clicks, other, out]);
    assert.deepEqual(result.diagnostics, [], on);
    const root = result.plan!.root;
    const join = root.kind === 'calc' ? root.input : root;
    assert.equal(join.kind, 'intervalJoin', on);
    if (join.kind === 'intervalJoin') assert.deepEqual([join.lowerMs, join.upperMs], [-10_000, 5_000], on);
  }
});

test('top-k: the window Top-N pattern, and INSERT by position (play_count into song_play_count)', () => {
  const plays = t('SongPlays', 'songplays', [['song_id', 'BIGINT'], ['name', 'STRING'], ['genre', 'STRING'], ['event_time', 'TIMESTAMP']], { watermark: { column: 'event_time', delayMs: 1000, text: '' } });
  const top = t('TopK', 'topk', [['window_start', 'TIMESTAMP'], ['window_end', 'TIMESTAMP'], ['song_id', 'BIGINT'], ['name', 'STRING'], ['genre', 'STRING'], ['song_play_count', 'BIGINT']], { upsert: true, primaryKey: ['window_start', 'window_end', 'song_id', 'genre'] });
  const result = plan(`INSERT INTO [[STREAM:topk]] SELECT window_start, window_end, song_id, name, genre, play_count FROM (
      SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, genre ORDER BY play_count DESC) AS row_num FROM (
        SELECT window_start, window_end, song_id, name, genre, COUNT(*) AS play_count
        FROM TABLE(TUMBLE(TABLE [[STREAM:songplays]], DESCRIPTOR(event_time), INTERVAL '60' SECONDS))
        GROUP BY window_start, window_end, song_id, name, genre)) WHERE row_num <= 3`, [plays, top]);
  assert.deepEqual(result.diagnostics, []);
  const explained = explainPlan(result.plan!);
  assert.match(explained, /WindowTopN partition=\(window_start, window_end, genre\) order=\(play_count DESC\) limit=3/);
  assert.match(explained, /song_play_count <- play_count/);
  assert.equal(result.plan!.root.changelog, 'insert-only');
});
