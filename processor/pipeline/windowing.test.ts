import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BindingConfig } from '../config';
import { resolveWindowSettings, type WindowSettings } from '../window';
import { windowedInput } from './windowing';

function settings(attributes: Record<string, string>): WindowSettings {
  const resolved = resolveWindowSettings({ 'srp.window': '5s', ...attributes });
  if (!resolved) throw new Error('no window');
  return resolved;
}

const kafka: BindingConfig = { stream: 'in', protocol: 'kafka', destination: 'in', server: { url: 'k:9092' } };
const rabbit: BindingConfig = { stream: 'in', protocol: 'rabbitmq', destination: 'in', server: { url: 'amqp://r' } };

test('windowed inputs may hold srp.window.maxState + 1 unacknowledged messages, so the state limit applies', () => {
  assert.equal(windowedInput(kafka, settings({})).prefetch, 100_001, 'default maxState 100000');
  assert.equal(windowedInput(kafka, settings({ 'srp.window.maxState': '5000000' })).prefetch, 5_000_001);
  assert.equal(windowedInput(rabbit, settings({})).prefetch, 65_535, 'AMQP prefetch-count is 16-bit');
  assert.equal(windowedInput(rabbit, settings({ 'srp.window.maxState': '10' })).prefetch, 500, 'never below the default');
  assert.equal(windowedInput({ ...kafka, prefetch: 50 }, settings({})).prefetch, 50, 'an explicit prefetch is kept');
  assert.equal(kafka.prefetch, undefined, 'the configuration is not modified');
});
