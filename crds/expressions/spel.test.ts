import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonPath, parseSpel, type SpelNode } from './spel';

function parsed(text: string): SpelNode {
  const result = parseSpel(text);
  if (!result.ok) assert.fail(`'${text}' did not parse: ${result.error} at ${result.offset}`);
  return result.value;
}

function failure(text: string): { error: string; offset: number } {
  const result = parseSpel(text);
  if (result.ok) assert.fail(`'${text}' parsed but should not`);
  return { error: result.error, offset: result.offset };
}

test('every SpEL expression of the samples parses', () => {
  const samples = [
    `'{"' + #jsonPath(payload, '$.fullName') + '":"' + #jsonPath(payload, '$.email') + '"}'`,
    `'Team:' + #jsonPath(payload, '$.team') + ', Score:' + #jsonPath(payload, '$.score')`,
    `{#jsonPath(payload,'$.fullName'): #jsonPath(payload,'$.email')}`,
    'payload.team',
    'payload',
    "headers['team']",
  ];
  for (const sample of samples) parsed(sample);
});

test('AST shape with offsets', () => {
  assert.deepEqual(parsed("payload?.a.b ?: 'x'"), {
    kind: 'elvis',
    start: 0,
    end: 19,
    value: {
      kind: 'member',
      name: 'b',
      safe: false,
      start: 0,
      end: 12,
      object: {
        kind: 'member',
        name: 'a',
        safe: true,
        start: 0,
        end: 10,
        object: { kind: 'root', name: 'payload', start: 0, end: 7 },
      },
    },
    fallback: { kind: 'literal', value: 'x', start: 16, end: 19 },
  });
});

test('precedence: * over +, relational over and, and over or, ternary lowest', () => {
  const node = parsed('1 + 2 * 3 > 6 and true or false ? "y" : "n"');
  assert.equal(node.kind, 'ternary');
  if (node.kind !== 'ternary') return;
  const or = node.test;
  assert.equal(or.kind === 'binary' && or.op, 'or');
  if (or.kind !== 'binary') return;
  const and = or.left;
  assert.equal(and.kind === 'binary' && and.op, 'and');
  if (and.kind !== 'binary') return;
  const gt = and.left;
  assert.equal(gt.kind === 'binary' && gt.op, '>');
  if (gt.kind !== 'binary') return;
  const plus = gt.left;
  assert.equal(plus.kind === 'binary' && plus.op, '+');
  if (plus.kind !== 'binary') return;
  assert.equal(plus.right.kind === 'binary' && plus.right.op, '*');
});

test('literals: escapes, numbers, booleans, null, word operators', () => {
  assert.deepEqual(parsed("'it''s'"), { kind: 'literal', value: "it's", start: 0, end: 7 });
  assert.deepEqual(parsed('"say ""hi"""'), { kind: 'literal', value: 'say "hi"', start: 0, end: 12 });
  assert.equal((parsed('0x1F') as { value: number }).value, 31);
  assert.equal((parsed('42L') as { value: number }).value, 42);
  assert.equal((parsed('1.5e2') as { value: number }).value, 150);
  assert.equal((parsed('TRUE') as { value: boolean }).value, true);
  assert.equal((parsed('null') as { value: null }).value, null);
  const word = parsed('payload.a eq 1 and not payload.b');
  assert.equal(word.kind === 'binary' && word.op, 'and');
});

test('inline lists and maps; bare identifier keys are literal names', () => {
  const list = parsed('{1, payload.a}');
  assert.equal(list.kind, 'list');
  assert.equal(list.kind === 'list' && list.items.length, 2);
  const map = parsed("{team: payload.team, 'n': 1}");
  assert.equal(map.kind, 'map');
  if (map.kind !== 'map') return;
  assert.deepEqual(map.entries[0].key, { kind: 'literal', value: 'team', start: 1, end: 5 });
  assert.deepEqual(parsed('{}'), { kind: 'list', items: [], start: 0, end: 2 });
  assert.deepEqual(parsed('{:}'), { kind: 'map', entries: [], start: 0, end: 3 });
});

test('method calls and indexing', () => {
  const call = parsed("payload.name.substring(0, 3).toUpperCase()");
  assert.equal(call.kind === 'method' && call.name, 'toUpperCase');
  const index = parsed("headers['x'][0]");
  assert.equal(index.kind, 'index');
});

test('outside the subset: rejected with a clear message at the right offset', () => {
  assert.deepEqual(failure("T(java.lang.Math).random()"), {
    error: 'type references T(...) are not allowed: the SpEL subset cannot reach Java types',
    offset: 0,
  });
  assert.equal(failure("'a' + T(System).exit(0)").offset, 6);
  assert.match(failure('new java.util.Date()').error, /constructors/);
  assert.match(failure('@myBean.foo').error, /bean references/);
  assert.deepEqual(failure('payload.x = 3'), { error: "assignment '=' is not supported (did you mean '=='?)", offset: 10 });
  assert.match(failure('payload.items.?[x > 1]').error, /expected a property or method name/);
  assert.deepEqual(failure('payload.items?[x > 1]').offset, 13);
  assert.deepEqual(failure('payload.name.frobnicate()').offset, 13);
  assert.match(failure('payload.name.frobnicate()').error, /method 'frobnicate' is not in the supported SpEL subset/);
  assert.match(failure('payload.name.substring()').error, /takes 1 or 2 argument/);
  assert.deepEqual(failure("#foo(payload)"), {
    error: "unknown function '#foo': the SpEL subset supports #jsonPath(payload, '$.path')",
    offset: 0,
  });
  assert.deepEqual(failure('paylod.team'), {
    error: "unknown property 'paylod': the message has only 'payload' and 'headers' (e.g. payload.paylod)",
    offset: 0,
  });
  assert.deepEqual(failure("'abc"), { error: 'unterminated string literal', offset: 0 });
  assert.deepEqual(failure('1 +'), { error: 'unexpected end of expression', offset: 3 });
  assert.deepEqual(failure('(1 + 2'), { error: "expected ')' to close the parenthesis, found the end of the expression", offset: 6 });
  assert.deepEqual(failure('1 2'), { error: "unexpected '2' after the end of the expression", offset: 2 });
  assert.deepEqual(failure(''), { error: 'expression is empty', offset: 0 });
  assert.equal(failure("#jsonPath(payload, '$..x')").offset, 21);
  assert.equal(failure("#jsonPath(payload)").offset, 0);
  assert.match(failure('payload.a instanceof T(String)').error, /instanceof/);
  assert.match(failure('x++').error, /unknown property/);
});

test('JSON path subset', () => {
  assert.deepEqual(parseJsonPath("$.a['b c'][2].*"), {
    ok: true,
    value: [
      { kind: 'field', name: 'a' },
      { kind: 'field', name: 'b c' },
      { kind: 'index', index: 2 },
      { kind: 'wildcard' },
    ],
  });
  assert.deepEqual(parseJsonPath('$'), { ok: true, value: [] });
  assert.equal(parseJsonPath('a.b').ok, false);
  const filter = parseJsonPath('$.a[?(@.x)]');
  assert.equal(!filter.ok && filter.offset, 3);
});
