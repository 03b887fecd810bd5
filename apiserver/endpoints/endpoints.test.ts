import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../selectors';
import { compileJsonPath, evaluateJsonPath } from './jsonpath';
import { humanDuration } from './table';
import { negotiate, assertDepth, findDuplicateFields } from './codec';
import { ApiError } from '../errors';

test('label selectors: the full grammar', () => {
  const labels = { app: 'web', tier: 'front', n: '5' };
  const cases: [string, boolean][] = [
    ['', true], ['app=web', true], ['app==web', true], ['app!=web', false], ['app in (web,api)', true], ['app notin (web)', false],
    ['app', true], ['!app', false], ['missing', false], ['!missing', true], ['n>3', true], ['n<3', false], ['app=web,tier=back', false],
    ['app in (web), tier notin (back)', true], ['missing!=x', true],
  ];
  for (const [selector, expected] of cases) assert.equal(matchesLabels(parseLabelSelector(selector), labels), expected, selector);
  for (const bad of ['a in (b', '=x', 'a=b=c', 'a in b', 'Bad Key=x', 'n>x']) assert.throws(() => parseLabelSelector(bad), ApiError, bad);
});

test('field selectors: metadata.name and metadata.namespace only', () => {
  const req = parseFieldSelector('metadata.name=x,metadata.namespace!=kube-system');
  assert.equal(matchesFields(req, { name: 'x', namespace: 'default' }), true);
  assert.equal(matchesFields(req, { name: 'x', namespace: 'kube-system' }), false);
  assert.throws(() => parseFieldSelector('spec.type=SRP'), /field label not supported: spec.type/);
});

test('printer-column JSONPath with filters', () => {
  const obj = { status: { conditions: [{ type: 'Other', status: 'False' }, { type: 'Ready', status: 'True', reason: 'Running' }] }, spec: { inputs: [{ name: 'a' }, { name: 'b' }] }, metadata: { annotations: { 'x.io/y': 'z' } } };
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.status.conditions[?(@.type=="Ready")].status'), obj), ['True']);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.spec.inputs[*].name'), obj), ['a', 'b']);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.spec.inputs[1].name'), obj), ['b']);
  assert.deepEqual(evaluateJsonPath(compileJsonPath(".metadata.annotations['x.io/y']"), obj), ['z']);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.status.missing'), obj), []);
});

test('ages like kubectl', () => {
  assert.equal(humanDuration(5_000), '5s');
  assert.equal(humanDuration(150_000), '2m30s');
  assert.equal(humanDuration(3 * 3600_000 + 5 * 60_000), '3h5m');
  assert.equal(humanDuration(3 * 24 * 3600_000), '3d');
});

test('content negotiation and body depth', () => {
  assert.deepEqual(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'), { format: 'json', shape: 'Table' });
  assert.deepEqual(negotiate('application/vnd.kubernetes.protobuf,application/json'), { format: 'json', shape: 'Object' });
  assert.deepEqual(negotiate(undefined), { format: 'json', shape: 'Object' });
  assert.throws(() => negotiate('application/vnd.kubernetes.protobuf'), (e: unknown) => e instanceof ApiError && e.code === 406);
  let deep: unknown = 1;
  for (let i = 0; i < 200; i++) deep = [deep];
  assert.throws(() => assertDepth(deep), (e: unknown) => e instanceof ApiError && e.code === 400);
});

test('duplicate JSON fields are found with their paths', () => {
  assert.deepEqual(findDuplicateFields('{"a":1,"b":{"c":"x\\"y","c":2},"l":[{"n":1},{"n":1,"n":2}],"a":3}'), ['b.c', 'l[1].n', 'a']);
  assert.deepEqual(findDuplicateFields('{"a":[1,2,{"a":1}],"b":"a,b"}'), []);
  // With the parsed value, texts without duplicates are answered by counting keys; the answers do not change.
  const texts = [
    '{"a":1,"b":{"c":"x\\"y","c":2},"l":[{"n":1},{"n":1,"n":2}],"a":3}',
    '{"a":[1,2,{"a":1}],"b":"a,b"}',
    '{ "k\\\\" : "v\\\\", "s": "\\":\\"", "e": {}, "z" :\n [ "x", {"y": null} ] }',
    '{"p":{"q":1},"p":{"q":1}}',
    '[{"a":1},{"a":2,"a":3}]',
    '"just a string"',
  ];
  for (const text of texts) assert.deepEqual(findDuplicateFields(text, JSON.parse(text)), findDuplicateFields(text), text);
  assert.deepEqual(findDuplicateFields(texts[2], JSON.parse(texts[2])), []);
  assert.deepEqual(findDuplicateFields(texts[3], JSON.parse(texts[3])), ['p']);
});
