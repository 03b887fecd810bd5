import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCredentialsFromEnv, credentialEnvNames, parseProcessorConfig } from './config';

const valid = {
  name: 'p', group: 'p', instanceIndex: 0, instanceCount: 1,
  inputs: [{ stream: 'in', protocol: 'kafka', destination: 'data-in', server: { url: 'localhost:9092' } }],
  outputs: [{ stream: 'out', protocol: 'rabbitmq', destination: 'data-out', server: { url: 'amqp://localhost' } }],
};

test('a minimal configuration gets its defaults', () => {
  const config = parseProcessorConfig(JSON.stringify(valid));
  assert.equal(config.namespace, 'default');
  assert.deepEqual(config.attributes, {});
  assert.deepEqual(config.http, { port: 0 });
});

test('bad configurations are rejected naming the field', () => {
  assert.throws(() => parseProcessorConfig('{'), /not valid JSON/);
  assert.throws(() => parseProcessorConfig(JSON.stringify({ ...valid, inputs: [] })), /inputs must be a non-empty array/);
  assert.throws(() => parseProcessorConfig(JSON.stringify({ ...valid, instanceIndex: 1 })), /instanceIndex must be less than instanceCount/);
  assert.throws(
    () => parseProcessorConfig(JSON.stringify({ ...valid, outputs: [{ ...valid.outputs[0], protocol: 'mqtt' }] })),
    /outputs\[0\]\.protocol must be "kafka" or "rabbitmq"/,
  );
  assert.throws(() => parseProcessorConfig(JSON.stringify({ ...valid, attributes: { 'srp.window': 5 } })), /attributes must be an object of strings/);
});

test('binding credentials come from SR_BINDING_<STREAM>_* variables, never overriding the configuration', () => {
  const config = parseProcessorConfig(JSON.stringify(valid));
  config.outputs[0].server.credentials = { username: 'kept', password: 'kept' };
  const names = credentialEnvNames('in');
  assert.deepEqual(names, { username: 'SR_BINDING_IN_USERNAME', password: 'SR_BINDING_IN_PASSWORD' });
  applyCredentialsFromEnv(config, { [names.username]: 'alice', [names.password]: 's3cret', SR_BINDING_OUT_USERNAME: 'x', SR_BINDING_OUT_PASSWORD: 'y' });
  assert.deepEqual(config.inputs[0].server.credentials, { username: 'alice', password: 's3cret' });
  assert.deepEqual(config.outputs[0].server.credentials, { username: 'kept', password: 'kept' });
  assert.equal(credentialEnvNames('data-in-stream').username, 'SR_BINDING_DATA_IN_STREAM_USERNAME');
});
