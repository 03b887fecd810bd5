import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWatermarkExpression } from './watermark';

test('every watermark expression of the samples parses', () => {
  const cases: Array<[string, string, number]> = [
    ["`score_time` - INTERVAL '2' SECOND", 'score_time', 2000],
    ["`event_time` - INTERVAL '30' SECONDS", 'event_time', 30_000],
    ["`header.timestamp` - INTERVAL '3' SECOND", 'header.timestamp', 3000],
    ["`ts` - INTERVAL '1' MINUTE", 'ts', 60_000],
    ["ts - interval '0.5' second", 'ts', 500],
    ["`ts` - INTERVAL '10' MILLISECONDS", 'ts', 10],
    ['`ts`', 'ts', 0],
  ];
  for (const [text, field, delayMs] of cases) {
    assert.deepEqual(parseWatermarkExpression(text), { ok: true, value: { field, delayMs } }, text);
  }
});

test('errors point at the offending part', () => {
  assert.deepEqual(parseWatermarkExpression("`ts` - INTERVAL '2' WEEK"), {
    ok: false,
    error: "unknown interval unit 'WEEK': use MILLISECOND, SECOND, MINUTE, HOUR or DAY",
    offset: 20,
  });
  const missingQuote = parseWatermarkExpression('`ts - INTERVAL');
  assert.equal(!missingQuote.ok && missingQuote.offset, 0);
  const badAmount = parseWatermarkExpression("`ts` - INTERVAL 'two' SECOND");
  assert.equal(!badAmount.ok && badAmount.offset, 17);
  const plus = parseWatermarkExpression("`ts` + INTERVAL '2' SECOND");
  assert.equal(!plus.ok && plus.offset, 5);
  const trailing = parseWatermarkExpression("`ts` - INTERVAL '2' SECOND extra");
  assert.equal(!trailing.ok && trailing.offset, 27);
});
