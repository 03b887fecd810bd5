// Bad expressions or data never crash the evaluator with anything but its own error types (which dead-letter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSpel, SpelCompileError, SpelEvaluationError, type CompiledSpel } from './spel';

const SEEDS = [
  `'{"' + #jsonPath(payload, '$.fullName') + '":"' + #jsonPath(payload, '$.email') + '"}'`,
  "{#jsonPath(payload,'$.a'): payload.b?.c} ?: headers['x']?.trim()",
  "payload.a > 1 and not (payload.b?.c == 'x') ? {1, 2} : {k: payload.list[1]}",
  "payload.name.substring(1, 3).toUpperCase().split('a').size() + payload.n / 2 % 3",
  "headers.team matches 'r.*' or payload.list.contains(2) || payload.map.containsKey('q')",
];
const ALPHABET = `abnT#$.'"{}[]()?:!<>=+-*/%^,0123456789`;
const PAYLOADS: unknown[] = [
  { a: 2, b: { c: 'x' }, name: 'Ada Lovelace', n: 7, list: [1, 2, 3], map: { q: 1 }, fullName: 'A', email: 'e' },
  'plain text',
  null,
  [1, 'two', { three: 3 }],
  42,
];

test('evaluation errors are SpelEvaluationErrors, compile errors SpelCompileErrors', () => {
  let state = 11;
  const next = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  let evaluated = 0;
  for (let i = 0; i < 2000; i++) {
    let text = SEEDS[Math.floor(next() * SEEDS.length)];
    for (let e = Math.floor(next() * 3); e > 0; e--) {
      const at = Math.floor(next() * (text.length + 1));
      const ch = ALPHABET[Math.floor(next() * ALPHABET.length)];
      text = next() < 0.5 ? text.slice(0, at) + ch + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
    }
    let compiled: CompiledSpel;
    try {
      compiled = compileSpel(text);
    } catch (error: unknown) {
      assert.ok(error instanceof SpelCompileError, `${text}: ${String(error)}`);
      continue;
    }
    for (const payload of PAYLOADS) {
      try {
        compiled.evaluate({ payload, headers: { team: 'red', x: ' y ' } });
        evaluated++;
      } catch (error: unknown) {
        assert.ok(error instanceof SpelEvaluationError || error instanceof SpelCompileError, `${text} on ${JSON.stringify(payload)}: ${String(error)}`);
      }
    }
  }
  assert.ok(evaluated > 100, `only ${evaluated} evaluations succeeded`);
});
