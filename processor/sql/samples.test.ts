// The original's four FSQL samples, run on generated input and compared with SQLite (sql.js) computing the same
// query independently over the same rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqlEngine } from './engine';
import { canonical, oracle } from './oracle';
import { Acks, loadSample, random, Recorder, settle } from './test-support';

const T0 = 1_700_000_040_000; // a minute boundary

function create(file: string, processor = 0, recorder = new Recorder()): { engine: SqlEngine; recorder: Recorder } {
  const sample = loadSample(file);
  const { engine, diagnostics } = SqlEngine.create({ statements: sample.processors[processor].statements, tables: sample.tables, emit: recorder.emit });
  assert.deepEqual(diagnostics, []);
  return { engine: engine!, recorder };
}

test('iot-monitoring: filter + 1-minute tumbling count per error code equals SQLite', async () => {
  const { engine, recorder } = create('iot-monitoring__streaming-pipeline.yaml');
  const rnd = random(1);
  const rows: unknown[][] = [];
  const acks = new Acks();
  for (let i = 0; i < 4000; i++) {
    // 100 ms apart with up to 2.5 s of disorder: inside the 3 s watermark delay, so nothing is late.
    const ts = T0 + i * 100 - Math.floor(rnd() * 2500);
    const type = ['ERROR', 'INFO', 'WARN'][Math.floor(rnd() * 3)];
    const code = `E${Math.floor(rnd() * 5)}`;
    rows.push([code, type, ts]);
    engine.push('iot-monitoring-stream', 0, { values: { error_code: code, type, application: 'app', version: '1', description: 'd', ts }, timestamp: 0 }, acks.next());
  }
  // A row far ahead (filtered out by the WHERE) moves the watermark past every window.
  engine.push('iot-monitoring-stream', 0, { values: { error_code: 'X', type: 'INFO', application: 'a', version: '1', description: 'd', ts: T0 + 3_600_000 }, timestamp: 0 }, acks.next());
  await settle();
  const expected = await oracle([{ name: 't', columns: ['error_code', 'type', 'ts'], rows }],
    `SELECT ts - ts % 60000 AS window_start, ts - ts % 60000 + 60000 AS window_end, error_code, COUNT(*) AS error_count
       FROM t WHERE type = 'ERROR' GROUP BY 1, 2, 3`);
  assert.ok(expected.length > 20);
  assert.deepEqual(canonical(recorder.values('error-count-stream')), canonical(expected));
  assert.equal(recorder.rows.every((r) => r.row.kind === 'insert' && r.row.key?.error_code === r.row.values.error_code), true);
  assert.equal(acks.acked, acks.issued);
  assert.equal(engine.pending(), 0);
});

test('anomaly detection: 5 s tumble with HAVING COUNT(*) > 5 (exactly at the threshold) equals SQLite', async () => {
  const { engine, recorder } = create('anomaly-detection__streaming-pipeline.yaml');
  const rnd = random(2);
  const rows: { card: string; ts: number; arrival: number }[] = [];
  for (let w = 0; w < 40; w++) {
    for (let c = 0; c < 6; c++) {
      const count = 3 + ((w + c) % 5); // 3..7 attempts: 5 (not flagged) and 6 (flagged) both occur
      for (let k = 0; k < count; k++) {
        const ts = T0 + w * 5000 + Math.floor(rnd() * 5000);
        rows.push({ card: `card-${c}`, ts, arrival: ts + rnd() * 2500 });
      }
    }
  }
  rows.sort((a, b) => a.arrival - b.arrival);
  const acks = new Acks();
  for (const r of rows) {
    engine.push('card-authorizations-stream', 0, { values: { card_number: r.card, card_type: 'visa', card_expiry: '12/30', name: 'n' }, timestamp: r.ts }, acks.next());
  }
  engine.push('card-authorizations-stream', 0, { values: { card_number: 'flush', card_type: 'visa', card_expiry: '12/30', name: 'n' }, timestamp: T0 + 3_600_000 }, acks.next());
  await settle();
  const table = { name: 'a', columns: ['card_number', 'event_time'], rows: rows.map((r) => [r.card, r.ts]) };
  const expected = await oracle([table],
    `SELECT event_time - event_time % 5000 AS window_start, event_time - event_time % 5000 + 5000 AS window_end, card_number,
            COUNT(*) AS authorization_attempts FROM a GROUP BY 1, 2, 3 HAVING COUNT(*) > 5`);
  const atThreshold = await oracle([table], 'SELECT card_number FROM a GROUP BY event_time - event_time % 5000, card_number HAVING COUNT(*) = 5');
  assert.ok(atThreshold.length > 10, 'the data has groups of exactly 5');
  assert.ok(expected.some((r) => r.authorization_attempts === 6), 'and groups of exactly 6');
  assert.deepEqual(canonical(recorder.values('possible-fraud-stream')), canonical(expected));
  assert.equal(acks.acked, acks.issued - 1, 'all but the flush row (its window is still open)');
});

test('clickstream: INNER JOIN + WHERE on the record-name qualifiers, users arriving after their clicks, equals SQLite', async () => {
  const { engine, recorder } = create('clickstream__streaming-pipeline.yaml');
  const rnd = random(3);
  const users = Array.from({ length: 40 }, (_, i) => [`u${i}`, `name-${i}`, ['PLATINUM', 'GOLD', 'SILVER'][i % 3]]);
  const clicks: unknown[][] = [];
  const acks = new Acks();
  const pushUser = (u: unknown[]): void => engine.push('user-stream', 0, { values: { user_id: u[0], name: u[1], level: u[2] }, timestamp: T0 }, acks.next());
  // Half the users before any click, the other half after all clicks: the late side must still join.
  users.slice(0, 20).forEach(pushUser);
  for (let i = 0; i < 1500; i++) {
    const userId = `u${Math.floor(rnd() * 45)}`; // u40..u44 never exist
    const ts = T0 + i * 37;
    const click = [userId, Math.floor(rnd() * 100), ['view', 'click', 'buy'][i % 3], ts];
    clicks.push(click);
    engine.push('click-stream', Math.floor(rnd() * 3), { values: { user_id: userId, page: click[1], action: click[2], device: 'd', agent: 'a' }, timestamp: ts }, acks.next());
  }
  users.slice(20).forEach(pushUser);
  await settle();
  const expected = await oracle(
    [{ name: 'users', columns: ['user_id', 'name', 'level'], rows: users }, { name: 'clicks', columns: ['user_id', 'page', 'action', 'event_time'], rows: clicks }],
    `SELECT u.user_id, u.name, c.page, c.action, c.event_time FROM clicks c JOIN users u ON c.user_id = u.user_id WHERE u.level = 'PLATINUM'`,
  );
  assert.ok(expected.length > 300);
  assert.deepEqual(canonical(recorder.values('vip-action-stream')), canonical(expected));
  assert.equal(acks.acked, acks.issued);
  assert.equal(engine.pending(), 0);
});

test('top-k songs: the join processor (subquery filter + INNER JOIN) equals SQLite', async () => {
  const { engine, recorder } = create('top-k-songs__streaming-pipeline.yaml', 0);
  const rnd = random(4);
  const songs = Array.from({ length: 25 }, (_, i) => [i + 1, `song-${i + 1}`, i % 5 === 0 ? null : `album-${i % 7}`, `artist-${i % 4}`, ['rock', 'pop', 'jazz'][i % 3]]);
  const acks = new Acks();
  const plays: unknown[][] = [];
  songs.slice(0, 10).forEach((s) => engine.push('songs-stream', 0, { values: { song_id: s[0], name: s[1], album: s[2], artist: s[3], genre: s[4] }, timestamp: T0 }, acks.next()));
  for (let i = 0; i < 1000; i++) {
    const play = [1 + Math.floor(rnd() * 27), rnd() < 0.1 ? null : Math.floor(rnd() * 60_000), T0 + i * 50];
    plays.push(play);
    engine.push('playevents-stream', 0, { values: { song_id: play[0], duration: play[1] }, timestamp: play[2] as number }, acks.next());
  }
  songs.slice(10).forEach((s) => engine.push('songs-stream', 0, { values: { song_id: s[0], name: s[1], album: s[2], artist: s[3], genre: s[4] }, timestamp: T0 }, acks.next()));
  await settle();
  const expected = await oracle(
    [{ name: 'songs', columns: ['song_id', 'name', 'album', 'artist', 'genre'], rows: songs }, { name: 'plays', columns: ['song_id', 'duration', 'event_time'], rows: plays }],
    `SELECT p.song_id, s.album, s.artist, s.name, s.genre, p.duration, p.event_time
       FROM (SELECT * FROM plays WHERE duration >= 30000) p JOIN songs s ON p.song_id = s.song_id`,
  );
  assert.ok(expected.length > 300);
  assert.deepEqual(canonical(recorder.values('songplays-stream')), canonical(expected));
  assert.equal(acks.acked, acks.issued);
});

test('top-k songs: window Top-N (3 per genre and minute, ties broken by the columns in order) equals SQLite', async () => {
  const { engine, recorder } = create('top-k-songs__streaming-pipeline.yaml', 1);
  const rnd = random(5);
  const plays: unknown[][] = [];
  const acks = new Acks();
  for (let i = 0; i < 3000; i++) {
    const songId = 1 + Math.floor(rnd() * 12);
    const genre = ['rock', 'pop', 'jazz'][songId % 3];
    const ts = T0 + i * 1000 - Math.floor(rnd() * 900); // disorder inside the 1 s watermark delay
    plays.push([songId, `song-${songId}`, genre, ts]);
    engine.push('songplays-stream', 0, { values: { song_id: songId, album: 'a', artist: 'b', name: `song-${songId}`, genre, duration: 40_000, event_time: ts }, timestamp: 0 }, acks.next());
  }
  engine.push('songplays-stream', 0, { values: { song_id: 99, album: 'a', artist: 'b', name: 'flush', genre: 'none', duration: 1, event_time: T0 + 3_600_000 }, timestamp: 0 }, acks.next());
  await settle();
  const agg = `WITH agg AS (SELECT event_time - event_time % 60000 AS window_start, event_time - event_time % 60000 + 60000 AS window_end,
                 song_id, name, genre, COUNT(*) AS play_count FROM plays GROUP BY 1, 2, 3, 4, 5),
               ranked AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, genre
                 ORDER BY play_count DESC, window_start, window_end, song_id, name, genre, play_count) AS rn FROM agg)`;
  const table = { name: 'plays', columns: ['song_id', 'name', 'genre', 'event_time'], rows: plays };
  const expected = await oracle([table], `${agg} SELECT window_start, window_end, song_id, name, genre, play_count AS song_play_count FROM ranked WHERE rn <= 3`);
  const ties = await oracle([table], `${agg} SELECT a.rn FROM ranked a JOIN ranked b ON a.window_start = b.window_start AND a.genre = b.genre AND b.rn = a.rn + 1 AND a.play_count = b.play_count WHERE a.rn = 3`);
  assert.ok(ties.length > 3, 'the data has ties across the top-3 boundary');
  assert.deepEqual(canonical(recorder.values('topk-songs-per-genre-stream')), canonical(expected));
  for (const r of recorder.rows) {
    assert.equal(r.row.kind, 'insert');
    assert.deepEqual(Object.keys(r.row.key!), ['window_start', 'window_end', 'song_id', 'genre']);
  }
  assert.equal(acks.acked, acks.issued - 1);
});

test('top-k songs end to end: the join processor\'s output feeds the Top-N processor; equals SQLite doing both at once', async () => {
  const sample = loadSample('top-k-songs__streaming-pipeline.yaml');
  const top = new Recorder();
  const topN = SqlEngine.create({ statements: sample.processors[1].statements, tables: sample.tables, emit: top.emit });
  assert.deepEqual(topN.diagnostics, []);
  const acks = new Acks();
  // What the join writes to songplays-stream is read back by the Top-N processor (values as JSON would carry them).
  const join = SqlEngine.create({
    statements: sample.processors[0].statements,
    tables: sample.tables,
    emit: async (_sink, rows) => {
      for (const r of rows) topN.engine!.push('songplays-stream', 0, { values: JSON.parse(JSON.stringify(r.values)) as Record<string, unknown>, timestamp: 0 }, acks.next());
    },
  });
  assert.deepEqual(join.diagnostics, []);
  const rnd = random(6);
  const songs = Array.from({ length: 16 }, (_, i) => [i + 1, `song-${i + 1}`, `album-${i % 3}`, `artist-${i % 5}`, ['rock', 'pop', 'jazz', 'folk'][i % 4]]);
  for (const s of songs) join.engine!.push('songs-stream', 0, { values: { song_id: s[0], name: s[1], album: s[2], artist: s[3], genre: s[4] }, timestamp: T0 }, acks.next());
  const plays: unknown[][] = [];
  for (let i = 0; i < 4000; i++) {
    const play = [1 + Math.floor(rnd() * 18), Math.floor(rnd() * 60_000), T0 + i * 700];
    plays.push(play);
    join.engine!.push('playevents-stream', 0, { values: { song_id: play[0], duration: play[1] }, timestamp: play[2] as number }, acks.next());
    if (i % 500 === 0) await settle();
  }
  await settle();
  // Close the Top-N's windows: a play far ahead (the join emits it, its window stays open).
  join.engine!.push('playevents-stream', 0, { values: { song_id: 1, duration: 40_000 }, timestamp: T0 + 36_000_000 }, acks.next());
  await settle();
  await settle();
  const expected = await oracle(
    [{ name: 'songs', columns: ['song_id', 'name', 'album', 'artist', 'genre'], rows: songs }, { name: 'plays', columns: ['song_id', 'duration', 'event_time'], rows: plays }],
    `WITH sp AS (SELECT p.song_id, s.name, s.genre, p.event_time FROM plays p JOIN songs s ON p.song_id = s.song_id WHERE p.duration >= 30000),
          agg AS (SELECT event_time - event_time % 60000 AS window_start, event_time - event_time % 60000 + 60000 AS window_end,
                  song_id, name, genre, COUNT(*) AS play_count FROM sp GROUP BY 1, 2, 3, 4, 5),
          ranked AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, genre
                  ORDER BY play_count DESC, window_start, window_end, song_id, name, genre, play_count) AS rn FROM agg)
     SELECT window_start, window_end, song_id, name, genre, play_count AS song_play_count FROM ranked WHERE rn <= 3`,
  );
  assert.ok(expected.length > 100);
  assert.deepEqual(canonical(top.values()), canonical(expected));
  assert.equal(acks.acked, acks.issued - 1, 'all but the far-ahead play, whose window is still open');
});
