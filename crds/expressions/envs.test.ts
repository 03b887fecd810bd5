import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEnvs } from './envs';

test('K=V pairs separated by semicolons; values may contain =', () => {
  assert.deepEqual(parseEnvs('STATE_TYPE=ROCKSDB; JAVA_OPTS=-Da=b ;'), {
    ok: true,
    value: { STATE_TYPE: 'ROCKSDB', JAVA_OPTS: '-Da=b' },
  });
  assert.deepEqual(parseEnvs(''), { ok: true, value: {} });
});

test('bad names and duplicates are refused with offsets', () => {
  assert.deepEqual(parseEnvs('A=1;9B=2'), {
    ok: false,
    error: "invalid environment variable name '9B': use letters, digits and _ (not starting with a digit)",
    offset: 4,
  });
  assert.deepEqual(parseEnvs('A=1; A=2'), { ok: false, error: "environment variable 'A' is set twice", offset: 5 });
  assert.deepEqual(parseEnvs('A=1;novalue'), { ok: false, error: "expected NAME=VALUE in 'novalue'", offset: 4 });
});
