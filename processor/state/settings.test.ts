import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseProcessorConfig } from '../config';
import { resolveStateType, stateDirectory } from './settings';

test('the state type: default MEMORY; the explicit attribute; the original\'s srp.envs name and the short one', () => {
  assert.deepEqual(resolveStateType({}), { type: 'MEMORY', source: 'default' });
  assert.deepEqual(resolveStateType({ 'srp.window.state': ' rocksdb ' }), { type: 'ROCKSDB', source: 'srp.window.state' });
  assert.deepEqual(resolveStateType({ 'srp.envs': 'JAVA_OPTS=-Xmx1g;SRP_PROCESSOR_STATETYPE=ROCKSDB' }), { type: 'ROCKSDB', source: 'srp.envs SRP_PROCESSOR_STATETYPE' });
  assert.deepEqual(resolveStateType({ 'srp.envs': 'STATE_TYPE=MEMORY' }), { type: 'MEMORY', source: 'srp.envs STATE_TYPE' });
  assert.deepEqual(resolveStateType({ 'srp.envs': 'OTHER=1' }), { type: 'MEMORY', source: 'default' });
  // Agreeing choices are fine; the first named wins the report.
  assert.equal(resolveStateType({ 'srp.window.state': 'ROCKSDB', 'srp.envs': 'STATE_TYPE=rocksdb' }).source, 'srp.window.state');
});

test('the state type: contradictions and bad values are errors that name where they come from', () => {
  assert.throws(() => resolveStateType({ 'srp.window.state': 'MEMORY', 'srp.envs': 'SRP_PROCESSOR_STATETYPE=ROCKSDB' }),
    /srp.window.state=MEMORY contradicts srp.envs SRP_PROCESSOR_STATETYPE=ROCKSDB/);
  assert.throws(() => resolveStateType({ 'srp.window.state': 'DISK' }), /srp.window.state: 'DISK' is not MEMORY or ROCKSDB/);
  assert.throws(() => resolveStateType({ 'srp.envs': 'STATE_TYPE=REDIS' }), /srp.envs STATE_TYPE: 'REDIS' is not MEMORY or ROCKSDB/);
  assert.throws(() => resolveStateType({ 'srp.envs': 'NOT AN ASSIGNMENT' }), /srp.envs: expected NAME=VALUE/);
});

test('the state directory: the configured one, else one per replica under the working directory', () => {
  const identity = { namespace: 'ns', name: 'scores', instanceIndex: 2 };
  assert.equal(stateDirectory(identity, '/work'), join('/work', '.sr-state', 'ns.scores-2'));
  assert.equal(stateDirectory({ ...identity, stateDir: '/var/lib/sr/state' }, '/work'), '/var/lib/sr/state');
  const base = { name: 'p', group: 'p', instanceIndex: 0, instanceCount: 1, inputs: [{ stream: 'i', protocol: 'kafka', destination: 'i', server: { url: 'k:9092' } }], outputs: [{ stream: 'o', protocol: 'kafka', destination: 'o', server: { url: 'k:9092' } }] };
  assert.equal(parseProcessorConfig(JSON.stringify({ ...base, stateDir: '/data' })).stateDir, '/data');
  assert.throws(() => parseProcessorConfig(JSON.stringify({ ...base, stateDir: 7 })), /stateDir must be a non-empty string/);
});
