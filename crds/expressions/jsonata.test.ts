import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJsonata } from './jsonata';

test('valid JSONata passes', () => {
  assert.deepEqual(checkJsonata('{"name": fullName, "loud": $uppercase(team)}'), { ok: true, value: true });
  assert.deepEqual(checkJsonata('score > 50'), { ok: true, value: true });
});

test('syntax errors point at the offending token', () => {
  const unknownOperator = checkJsonata('a ~ b');
  assert.equal(unknownOperator.ok, false);
  assert.equal(!unknownOperator.ok && unknownOperator.offset, 2);
  assert.match(!unknownOperator.ok ? unknownOperator.error : '', /Unknown operator.*S0204/);
  const unterminated = checkJsonata('a.b +');
  assert.equal(!unterminated.ok && unterminated.offset, 5);
  assert.equal(checkJsonata('  ').ok, false);
});
