import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration';

test('Spring-style durations convert to milliseconds', () => {
  const cases: Array<[string, number]> = [
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['250', 250],
    ['0s', 0],
    [' 30S ', 30_000],
    ['+3s', 3000],
    ['PT5S', 5000],
    ['PT1.5S', 1500],
    ['PT2M', 120_000],
    ['P1DT1H', 90_000_000],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
});

test('bad durations give a message and the offset of the problem', () => {
  assert.deepEqual(parseDuration('5x'), { ok: false, error: "unknown duration unit 'x'; use ms, s, m, h or d", offset: 1 });
  assert.deepEqual(parseDuration('  10weeks'), {
    ok: false,
    error: "unknown duration unit 'weeks'; use ms, s, m, h or d",
    offset: 4,
  });
  const negative = parseDuration(' -5s');
  assert.equal(negative.ok, false);
  assert.equal(!negative.ok && negative.offset, 1);
  const fractional = parseDuration('1.5s');
  assert.equal(fractional.ok, false);
  assert.equal(!fractional.ok && fractional.offset, 1);
  assert.equal(parseDuration('').ok, false);
  assert.equal(parseDuration('s').ok, false);
  assert.equal(parseDuration('PT').ok, false);
  assert.equal(parseDuration('P1X').ok, false);
});

test('formatDuration picks the largest exact unit', () => {
  assert.equal(formatDuration(5000), '5s');
  assert.equal(formatDuration(1500), '1500ms');
  assert.equal(formatDuration(120_000), '2m');
  assert.equal(formatDuration(0), '0ms');
});
