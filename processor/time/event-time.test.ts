import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../message';
import { EventTimeError, EventTimeExtractor, parseTimestampSource, parseTimestampValue, resolveEventTime } from './event-time';

function message(payload: unknown, headers: Record<string, string> = {}): Message {
  return { payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), headers };
}

const clock = (): number => 999;

test('timestamp sources parse', () => {
  assert.deepEqual(parseTimestampSource('proc'), { kind: 'processing' });
  assert.deepEqual(parseTimestampSource('header.eventtime'), { kind: 'header', name: 'eventtime' });
  assert.deepEqual(parseTimestampSource('payload.a.b'), { kind: 'payload', path: ['a', 'b'] });
  assert.deepEqual(parseTimestampSource('score_time'), { kind: 'payload', path: ['score_time'] });
  assert.deepEqual(parseTimestampSource('$.x'), { kind: 'payload', path: ['x'] });
  assert.deepEqual(parseTimestampSource(''), { kind: 'default' });
  assert.throws(() => parseTimestampSource('payload..x'), /invalid timestamp expression/);
});

test('resolution: attribute > time attribute watermark > default; maxOutOfOrderness override', () => {
  assert.deepEqual(resolveEventTime({}), { source: { kind: 'default' }, maxOutOfOrdernessMs: 0, origin: 'default' });
  assert.deepEqual(resolveEventTime({}, { field: 'score_time', watermark: "`score_time` - INTERVAL '2' SECOND" }), {
    source: { kind: 'payload', path: ['score_time'] },
    maxOutOfOrdernessMs: 2000,
    origin: 'timeAttribute',
  });
  assert.deepEqual(resolveEventTime({}, { field: 'header.timestamp', watermark: "`header.timestamp` - INTERVAL '3' SECOND" }), {
    source: { kind: 'header', name: 'timestamp' },
    maxOutOfOrdernessMs: 3000,
    origin: 'timeAttribute',
  });
  assert.deepEqual(resolveEventTime({}, { field: 'ts' }), { source: { kind: 'payload', path: ['ts'] }, maxOutOfOrdernessMs: 0, origin: 'timeAttribute' });
  assert.deepEqual(
    resolveEventTime({ 'srp.input.timestampExpression': 'header.eventtime', 'srp.maxOutOfOrderness': '500ms' }, { field: 'ts', watermark: "`ts` - INTERVAL '2' SECOND" }),
    { source: { kind: 'header', name: 'eventtime' }, maxOutOfOrdernessMs: 500, origin: 'srp.input.timestampExpression' },
  );
  assert.throws(() => resolveEventTime({ 'srp.maxOutOfOrderness': '5 parsecs' }), /srp.maxOutOfOrderness/);
  assert.throws(() => resolveEventTime({}, { field: 'ts', watermark: 'ts + 1' }), /invalid watermark expression/);
});

test('timestamp values: epoch ms numbers/strings, ISO-8601, SQL timestamps as UTC', () => {
  assert.equal(parseTimestampValue(1_650_000_000_123), 1_650_000_000_123);
  assert.equal(parseTimestampValue('1650000000123'), 1_650_000_000_123);
  assert.equal(parseTimestampValue('2022-08-01T10:00:00Z'), Date.UTC(2022, 7, 1, 10));
  assert.equal(parseTimestampValue('2022-08-01T10:00:00.250+02:00'), Date.UTC(2022, 7, 1, 8, 0, 0, 250));
  assert.equal(parseTimestampValue('2022-08-01 10:00:00.123456'), Date.UTC(2022, 7, 1, 10, 0, 0, 123));
  assert.equal(parseTimestampValue('2022-08-01T10:00:00'), Date.UTC(2022, 7, 1, 10));
  for (const bad of ['yesterday', '', '12:00', true, null, {}, Number.NaN, '2022-13-45T99:00:00Z']) {
    assert.equal(parseTimestampValue(bad), undefined, JSON.stringify(bad));
  }
});

test('extraction from payload, header, default and processing time; errors are EventTimeErrors', () => {
  const fromPayload = new EventTimeExtractor(resolveEventTime({}, { field: 'score_time' }), clock);
  assert.equal(fromPayload.extract(message({ score_time: 1234 })), 1234);
  assert.equal(fromPayload.extract(message('ignored'), { score_time: '2022-08-01T00:00:00Z' }), Date.UTC(2022, 7, 1));
  assert.throws(() => fromPayload.extract(message({ other: 1 })), (e: unknown) => e instanceof EventTimeError && /no field 'score_time'/.test(e.message));
  assert.throws(() => fromPayload.extract(message('plain text')), /the payload is not a JSON object/);
  assert.throws(() => fromPayload.extract(message({ score_time: 'soon' })), /is not a timestamp: "soon"/);
  const nested = new EventTimeExtractor(resolveEventTime({ 'srp.input.timestampExpression': 'payload.meta.ts' }), clock);
  assert.equal(nested.extract(message({ meta: { ts: 77 } })), 77);

  const fromHeader = new EventTimeExtractor(resolveEventTime({ 'srp.input.timestampExpression': 'header.ts' }), clock);
  assert.equal(fromHeader.extract(message({}, { ts: '55' })), 55);
  assert.throws(() => fromHeader.extract(message({})), /no header 'ts'/);

  const byDefault = new EventTimeExtractor(resolveEventTime({}), clock);
  assert.equal(byDefault.extract(message({}, { eventtime: '42' })), 42);
  assert.equal(byDefault.extract(message({})), 999);
  assert.throws(() => byDefault.extract(message({}, { eventtime: 'x' })), EventTimeError);

  const processing = new EventTimeExtractor(resolveEventTime({ 'srp.input.timestampExpression': 'proc' }), clock);
  assert.equal(processing.extract(message({}, { eventtime: '42' })), 999);
});
