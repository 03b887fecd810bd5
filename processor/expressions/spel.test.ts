import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSpel, SpelCompileError, SpelEvaluationError, type SpelContext } from './spel';
import { encodeResult, payloadView, EmptyResultError } from './payload';

const user = { id: 'u1', fullName: 'Ada Lovelace', email: 'ada@example.com', team: 'red', score: 55, tags: ['a', 'b'], nested: { x: { y: 7 } } };
const context: SpelContext = { payload: user, headers: { contentType: 'application/json', eventtime: '1000', team: 'blue' } };

function run(expression: string, ctx: SpelContext = context): unknown {
  return compileSpel(expression).evaluate(ctx);
}

test('the samples evaluate as in the original', () => {
  assert.equal(
    run(`'{"' + #jsonPath(payload, '$.fullName') + '":"' + #jsonPath(payload, '$.email') + '"}'`),
    '{"Ada Lovelace":"ada@example.com"}',
  );
  assert.equal(run(`'Team:' + #jsonPath(payload, '$.team') + ', Score:' + #jsonPath(payload, '$.score')`), 'Team:red, Score:55');
  assert.deepEqual(run(`{#jsonPath(payload,'$.fullName'): #jsonPath(payload,'$.email')}`), { 'Ada Lovelace': 'ada@example.com' });
  assert.equal(run('payload.team'), 'red');
  assert.equal(run("headers['team']"), 'blue');
  assert.equal(run('headers.team'), 'blue');
});

test('#jsonPath reads from a JSON string too, and paths with brackets and wildcards', () => {
  const textual: SpelContext = { payload: JSON.stringify(user), headers: {} };
  assert.equal(run("#jsonPath(payload, '$.nested.x.y')", textual), 7);
  assert.equal(run("#jsonPath(payload, \"$['tags'][1]\")"), 'b');
  assert.deepEqual(run("#jsonPath(payload, '$.tags[*]')"), ['a', 'b']);
  assert.deepEqual(run("#jsonPath(payload, '$')"), user);
  assert.throws(() => run("#jsonPath(payload, '$.missing')"), /#jsonPath: no value at '\$.missing'/);
  assert.throws(() => run("#jsonPath(payload, '$.x')", { payload: 'not json', headers: {} }), /not JSON/);
});

test('arithmetic follows Java: integer division truncates, % keeps sign, + concatenates with strings', () => {
  assert.equal(run('7 / 2'), 3);
  assert.equal(run('-7 / 2'), -3);
  assert.equal(run('7.0 / 2'), 3.5);
  assert.equal(run('-7 % 3'), -1);
  assert.equal(run('2 ^ 10'), 1024);
  assert.equal(run('1 + 2 * 3 - 4'), 3);
  assert.equal(run("'n=' + 1 + 2"), 'n=12');
  assert.equal(run("1 + 2 + '=n'"), '3=n');
  assert.equal(run("'v:' + null"), 'v:null');
  assert.equal(run('payload.score div 10 mod 3'), 2);
  assert.throws(() => run('1 / 0'), SpelEvaluationError);
  assert.throws(() => run("payload.score - 'a'"), /needs a number/);
});

test('comparisons, logic, ternary, elvis, safe navigation', () => {
  assert.equal(run('payload.score > 50 and payload.team == "red"'), true);
  assert.equal(run('payload.score gt 60 || !(payload.team ne "red")'), true);
  assert.equal(run("'abc' < 'abd'"), true);
  assert.equal(run('null < 1'), true);
  assert.equal(run("payload.score >= 55 ? 'high' : 'low'"), 'high');
  assert.equal(run("headers['missing'] ?: 'default'"), 'default');
  assert.equal(run("'' ?: 'empty'"), 'empty');
  assert.equal(run("headers['missing']?.length()"), null);
  assert.equal(run("headers['missing']?.x"), null);
  assert.equal(run("payload.fullName matches '[A-Z][a-z]+ [A-Z].*'"), true);
  assert.equal(run('{1, 2} == {1, 2}'), true);
  assert.throws(() => run('payload.score and true'), /'and' needs a boolean, got a number \(55\)/);
  assert.throws(() => run("payload.missing"), /property 'missing' not found/);
  assert.throws(() => run("headers['missing'].length()"), /called on null/);
  assert.throws(() => run('payload.team.x'), /cannot read property 'x' of a string/);
});

test('string methods behave like java.lang.String', () => {
  assert.equal(run('payload.fullName.toUpperCase()'), 'ADA LOVELACE');
  assert.equal(run('payload.fullName.toLowerCase()'), 'ada lovelace');
  assert.equal(run('payload.fullName.substring(4)'), 'Lovelace');
  assert.equal(run('payload.fullName.substring(0, 3)'), 'Ada');
  assert.equal(run('payload.fullName.length()'), 12);
  assert.equal(run("'  x '.trim()"), 'x');
  assert.equal(run("payload.email.contains('@')"), true);
  assert.equal(run("payload.email.startsWith('ada')"), true);
  assert.equal(run("payload.email.endsWith('.org')"), false);
  assert.equal(run("'a.b.a'.replace('a', 'z')"), 'z.b.z');
  assert.deepEqual(run("'a,b,,c,,'.split(',')"), ['a', 'b', '', 'c']);
  assert.equal(run("'ab'.concat('cd')"), 'abcd');
  assert.equal(run("payload.email.indexOf('@')"), 3);
  assert.equal(run("payload.team.equals('red')"), true);
  assert.equal(run("'RED'.equalsIgnoreCase(payload.team)"), true);
  assert.equal(run("'abc'.charAt(1)"), 'b');
  assert.throws(() => run("'abc'.substring(2, 9)"), /out of range/);
  assert.equal(run('payload.tags.size()'), 2);
  assert.equal(run("payload.tags.contains('b')"), true);
  assert.equal(run("payload.containsKey('team')"), true);
  assert.equal(run('payload.tags[0]'), 'a');
  assert.throws(() => run('payload.tags[5]'), /out of bounds/);
});

test('inline maps and lists become JSON payloads; strings stay verbatim', () => {
  const result = run("{team: payload.team, score: payload.score * 2, tags: {payload.id, 'x'}}");
  assert.deepEqual(encodeResult(result), {
    payload: Buffer.from('{"team":"red","score":110,"tags":["u1","x"]}'),
    structured: true,
  });
  assert.deepEqual(encodeResult('Team:red'), { payload: Buffer.from('Team:red'), structured: false });
  assert.deepEqual(encodeResult(42), { payload: Buffer.from('42'), structured: true });
  assert.throws(() => encodeResult(run('null')), EmptyResultError);
});

test('#root / #this are the message; invalid text fails to compile with its offset', () => {
  assert.equal(run('#root.payload.team'), 'red');
  assert.equal(run("#this['headers']['team']"), 'blue');
  assert.throws(
    () => compileSpel("'x' + T(java.lang.Runtime)"),
    (error: unknown) => error instanceof SpelCompileError && error.offset === 6 && /type references/.test(error.message),
  );
});

test('payloadView: JSON parsed when JSON, text otherwise', () => {
  assert.deepEqual(payloadView(Buffer.from('{"a":1}'), 'application/json'), { a: 1 });
  assert.deepEqual(payloadView(Buffer.from('{"a":1}'), undefined), { a: 1 });
  assert.equal(payloadView(Buffer.from('{"a":1}'), 'text/plain'), '{"a":1}');
  assert.equal(payloadView(Buffer.from('hello'), undefined), 'hello');
  assert.equal(payloadView(Buffer.from('{broken'), 'application/json'), '{broken');
  assert.equal(payloadView(Buffer.from('42'), 'application/json'), 42);
});
