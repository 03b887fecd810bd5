import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../message';
import { buildTransforms, runTransforms } from './chain';
import { JsonataFilter, JsonataTransform, jsonataTruthy } from './jsonata';
import { OutputHeaders } from './output-headers';
import { SpelTransform } from './spel-transform';
import { TransformError } from './types';

const user = { fullName: 'Ada Lovelace', email: 'ada@example.com', team: 'red', score: 55 };

function message(payload: unknown, headers: Record<string, string> = { contentType: 'application/json' }): Message {
  return { payload: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), headers };
}

function outcomeMessage(outcome: Awaited<ReturnType<typeof runTransforms>>): Message {
  assert.equal(outcome.kind, 'message');
  if (outcome.kind !== 'message') throw new Error('filtered');
  return outcome.message;
}

test('SpEL transform: tutorial 3 inline map becomes JSON, headers kept, key kept', () => {
  const input = { ...message(user, { contentType: 'application/json', eventtime: '5' }), key: Buffer.from('k') };
  const out = outcomeMessage(new SpelTransform(`{#jsonPath(payload,'$.fullName'): #jsonPath(payload,'$.email')}`).apply(input));
  assert.equal(out.payload.toString(), '{"Ada Lovelace":"ada@example.com"}');
  assert.deepEqual(out.headers, { contentType: 'application/json', eventtime: '5' });
  assert.equal(out.key?.toString(), 'k');
});

test('SpEL transform: string result is the payload verbatim; failures are TransformErrors of stage spel', () => {
  const transform = new SpelTransform(`'Team:' + #jsonPath(payload, '$.team') + ', Score:' + #jsonPath(payload, '$.score')`);
  assert.equal(outcomeMessage(transform.apply(message(user))).payload.toString(), 'Team:red, Score:55');
  assert.throws(
    () => transform.apply(message({ other: 1 })),
    (error: unknown) => error instanceof TransformError && error.stage === 'spel' && /no value at '\$.team'/.test(error.message),
  );
  assert.throws(() => new SpelTransform('T(Runtime)'), /type references/);
});

test('JSONata transform and filter, with $headers', async () => {
  const transform = new JsonataTransform('{"name": $uppercase(fullName), "team": $headers.team}');
  const out = outcomeMessage(await transform.apply(message(user, { contentType: 'application/json', team: 'blue' })));
  assert.deepEqual(JSON.parse(out.payload.toString()), { name: 'ADA LOVELACE', team: 'blue' });
  assert.equal(out.headers.contentType, 'application/json');
  assert.equal(outcomeMessage(await new JsonataTransform('$uppercase($)').apply(message('plain', { contentType: 'text/plain' }))).payload.toString(), '"PLAIN"');
  await assert.rejects(
    new JsonataTransform('$number(team)').apply(message(user)),
    (error: unknown) => error instanceof TransformError && error.stage === 'jsonata' && /Unable to cast value to a number: "red" \(D3030 at offset \d+\)/.test(error.message),
  );
  await assert.rejects(new JsonataTransform('missing').apply(message(user)), /produced no value/);

  const filter = new JsonataFilter('score > 50');
  assert.equal((await filter.apply(message(user))).kind, 'message');
  const dropped = await filter.apply(message({ ...user, score: 10 }));
  assert.deepEqual(dropped, { kind: 'filtered', reason: "srp.filter.expression 'score > 50' is false" });
  await assert.rejects(new JsonataFilter('$number("x")').apply(message(user)), /srp.filter.expression failed/);
  assert.throws(() => new JsonataFilter('a ~ b'), /srp.filter.expression is not valid JSONata/);
});

test('JSONata truthiness follows $boolean()', () => {
  for (const falsy of [undefined, null, false, 0, '', [], [0, ''], {}]) assert.equal(jsonataTruthy(falsy), false, JSON.stringify(falsy));
  for (const truthy of [true, 1, 'x', [0, 1], { a: 1 }]) assert.equal(jsonataTruthy(truthy), true, JSON.stringify(truthy));
});

test('chain: filter then SpEL then JSONata; synchronous when only SpEL', async () => {
  const spelOnly = buildTransforms({ 'srp.spel.expression': 'payload.team' });
  const sync = runTransforms(spelOnly, message(user));
  assert.ok(!(sync instanceof Promise));
  assert.equal(outcomeMessage(sync).payload.toString(), 'red');

  const chain = buildTransforms({
    'srp.filter.expression': 'score >= 50',
    'srp.spel.expression': '{team: payload.team, double: payload.score * 2}',
    'srp.jsonata.expression': '{"summary": team & ":" & $string(double)}',
  });
  assert.deepEqual(chain.map((t) => t.stage), ['filter', 'spel', 'jsonata']);
  const out = outcomeMessage(await runTransforms(chain, message(user)));
  assert.equal(out.payload.toString(), '{"summary":"red:110"}');
  const filtered = await runTransforms(chain, message({ ...user, score: 1 }));
  assert.equal(filtered.kind, 'filtered');
  assert.deepEqual(buildTransforms({ 'srp.window': '5s', 'srp.spel.expression': '  ' }), []);
});

test('output headers: header.X copies, payload.X reads the outbound payload, missing sources are skipped', () => {
  const headers = new OutputHeaders('user=payload.fullName;wm=header.watermark;n=payload.nested.n;none=payload.absent;obj=payload.nested');
  const input = message({ fullName: 'Ada', nested: { n: 3 } }, { contentType: 'application/json', watermark: '999' });
  const out = headers.apply(input);
  assert.deepEqual(out.headers, {
    contentType: 'application/json',
    watermark: '999',
    user: 'Ada',
    wm: '999',
    n: '3',
    obj: '{"n":3}',
  });
  assert.deepEqual(input.headers, { contentType: 'application/json', watermark: '999' }, 'input untouched');
  assert.throws(() => new OutputHeaders('a=foo'), /srp.output.headers is invalid/);
  const text = new OutputHeaders('t=payload.x').apply(message('plain text', { contentType: 'text/plain' }));
  assert.equal(text.headers.t, undefined);
});
