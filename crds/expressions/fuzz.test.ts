// Bad input never crashes a parser: random and mutated texts always give a ParseResult with an in-range offset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJsonata, parseDuration, parseEnvs, parseOutputHeaders, parseSpel, parseWatermarkExpression, type ParseResult } from './index';

const SEEDS = [
  `'{"' + #jsonPath(payload, '$.fullName') + '":"' + #jsonPath(payload, '$.email') + '"}'`,
  `{#jsonPath(payload,'$.fullName'): #jsonPath(payload,'$.email')} ?: headers['x']?.trim()`,
  "payload.a > 1 and not (payload.b?.c == 'x') ? {1, 2} : {k: 1}",
  "`score_time` - INTERVAL '2' SECOND",
  'user=payload.fullName;wm=header.watermark',
  'A=1;B=2',
  '5s',
  '{"a": $uppercase(b)}',
];
const ALPHABET = `abcT#$.'"{}[]()?:!<>=+-*/%^,;\` 0123456789eEx@&|`;

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

function checkResult(text: string, result: ParseResult<unknown>): void {
  if (!result.ok) {
    assert.equal(typeof result.error, 'string');
    assert.ok(result.offset >= 0 && result.offset <= text.length, `offset ${result.offset} outside '${text}'`);
  }
}

test('parsers never throw on random or mutated input', () => {
  const next = random(7);
  const parsers: Array<(text: string) => ParseResult<unknown>> = [parseSpel, parseDuration, parseWatermarkExpression, parseOutputHeaders, parseEnvs, checkJsonata];
  for (let i = 0; i < 3000; i++) {
    const seed = SEEDS[Math.floor(next() * SEEDS.length)];
    let text = seed;
    const edits = 1 + Math.floor(next() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * (text.length + 1));
      const choice = next();
      const ch = ALPHABET[Math.floor(next() * ALPHABET.length)];
      if (choice < 0.4) text = text.slice(0, at) + ch + text.slice(at);
      else if (choice < 0.8) text = text.slice(0, at) + text.slice(at + 1);
      else text = text.slice(0, at);
    }
    for (const parse of parsers) {
      let result: ParseResult<unknown> | undefined;
      assert.doesNotThrow(() => {
        result = parse(text);
      }, `${parse.name} threw on ${JSON.stringify(text)}`);
      if (result) checkResult(text, result);
    }
  }
});
