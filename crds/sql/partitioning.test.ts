// How the four showcase queries split over replicas: the routing columns traced back through each plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatement } from './parser';
import { planStatement, type LogicalPlan } from './plan';
import { sqlPartitioning } from './partitioning';
import type { SqlTable, TableColumn } from './table';

function table(stream: string, name: string, columns: [string, TableColumn['type']['name']][], watermark?: string): SqlTable {
  return {
    name, stream, valueFormat: 'json', upsert: false, startupMode: 'earliest-offset', options: {},
    columns: columns.map(([n, t]) => ({ name: n, type: { name: t, nullable: true }, source: 'payload' })),
    ...(watermark ? { watermark: { column: watermark, delayMs: 1000, text: `${watermark} - 1s` } } : {}),
  };
}

const TABLES: SqlTable[] = [
  table('events', 'Events', [['code', 'STRING'], ['type', 'STRING'], ['ts', 'TIMESTAMP']], 'ts'),
  table('counts', 'Counts', [['window_start', 'TIMESTAMP'], ['window_end', 'TIMESTAMP'], ['code', 'STRING'], ['n', 'BIGINT']]),
  table('plays', 'Plays', [['song_id', 'BIGINT'], ['duration', 'BIGINT'], ['event_time', 'TIMESTAMP']], 'event_time'),
  table('songs', 'Songs', [['song_id', 'BIGINT'], ['name', 'STRING'], ['genre', 'STRING']]),
  table('songplays', 'SongPlays', [['song_id', 'BIGINT'], ['name', 'STRING'], ['genre', 'STRING'], ['event_time', 'TIMESTAMP']], 'event_time'),
  table('top', 'Top', [['window_start', 'TIMESTAMP'], ['window_end', 'TIMESTAMP'], ['song_id', 'BIGINT'], ['name', 'STRING'], ['genre', 'STRING'], ['n', 'BIGINT']]),
  table('passthrough', 'Passthrough', [['code', 'STRING'], ['type', 'STRING'], ['ts', 'TIMESTAMP']]),
];

function plan(sql: string): LogicalPlan {
  const parsed = parseStatement(sql);
  assert.ok(parsed.statement, JSON.stringify(parsed.diagnostics));
  const planned = planStatement(parsed.statement, TABLES, 0, sql);
  assert.ok(planned.plan, JSON.stringify(planned.diagnostics));
  return planned.plan;
}

test('a window aggregation routes by its group key, window bounds aside', () => {
  const routing = sqlPartitioning([plan("INSERT INTO [[STREAM:counts]] SELECT window_start, window_end, code, COUNT(*) FROM TABLE(TUMBLE(TABLE [[STREAM:events]], DESCRIPTOR(ts), INTERVAL '1' MINUTE)) WHERE type = 'ERROR' GROUP BY window_start, window_end, code")]);
  assert.equal(routing.stateless, false);
  assert.deepEqual(routing.tables.get('events'), { kind: 'key', columns: ['code'] });
});

test('a join routes both sides by the equi-join key', () => {
  const routing = sqlPartitioning([plan('INSERT INTO [[STREAM:songplays]] SELECT p.song_id, s.name, s.genre, p.event_time FROM (SELECT * FROM [[STREAM:plays]] WHERE duration >= 30000) AS p JOIN [[STREAM:songs]] AS s ON p.song_id = s.song_id')]);
  assert.deepEqual(routing.tables.get('plays'), { kind: 'key', columns: ['song_id'] });
  assert.deepEqual(routing.tables.get('songs'), { kind: 'key', columns: ['song_id'] });
});

test('window Top-N over a window count: the columns the count and the ranking share (genre)', () => {
  const routing = sqlPartitioning([plan(`INSERT INTO [[STREAM:top]] SELECT window_start, window_end, song_id, name, genre, c FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, genre ORDER BY c DESC) AS rn FROM (
      SELECT window_start, window_end, song_id, name, genre, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE [[STREAM:songplays]], DESCRIPTOR(event_time), INTERVAL '60' SECONDS))
      GROUP BY window_start, window_end, song_id, name, genre)) WHERE rn <= 3`)]);
  assert.deepEqual(routing.tables.get('songplays'), { kind: 'key', columns: ['genre'] });
});

test('a filter and projection need no exchange; a key computed from no column goes to one replica', () => {
  assert.equal(sqlPartitioning([plan("INSERT INTO [[STREAM:passthrough]] SELECT code, type, ts FROM [[STREAM:events]] WHERE type = 'ERROR'")]).stateless, true);
  const computed = sqlPartitioning([plan("INSERT INTO [[STREAM:counts]] SELECT window_start, window_end, k, COUNT(*) FROM TABLE(TUMBLE(TABLE (SELECT UPPER(code) AS k, ts FROM [[STREAM:events]]), DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k")]);
  assert.equal(computed.tables.get('events')?.kind, 'single');
});
