import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatWatermark, parseWatermarkHeader, resolveWatermarkIdleTimeout, WatermarkTracker } from './watermark';

test('candidate = ts - maxOutOfOrderness - 1, monotonic per partition', () => {
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: 2000, idleTimeoutMs: 10_000 });
  const p0 = tracker.partition('in', 0);
  assert.equal(tracker.global, Number.NEGATIVE_INFINITY);
  assert.equal(p0.observe(10_000, undefined, 0), 7999);
  assert.equal(p0.observe(9_000, undefined, 1), 7999, 'an older event does not move it back');
  assert.equal(p0.observe(12_000, undefined, 2), 9999);
  assert.equal(p0.watermark, 9999);
  assert.equal(p0.maxEventTime, 12_000);
});

test('inbound watermark header is honoured when it is ahead', () => {
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: 0 });
  assert.equal(tracker.observe('in', 0, 5000, 6000, 0), 6000);
  assert.equal(tracker.observe('in', 0, 7000, 6000, 0), 6999);
  assert.equal(tracker.observe('in', 0, 7000, 1, 0), 6999);
});

test('global = min over partitions and inputs; idle partitions stop holding it back; all idle holds', () => {
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: 1000 });
  tracker.observe('a', 0, 10_001, undefined, 0);
  assert.equal(tracker.global, 10_000);
  tracker.observe('a', 1, 5_001, undefined, 100);
  assert.equal(tracker.global, 10_000, 'monotonic: a new slower partition cannot move it back');
  tracker.observe('a', 0, 20_001, undefined, 200);
  assert.equal(tracker.global, 10_000, 'partition 1 (5000) holds it back');
  tracker.observe('b', 0, 30_001, undefined, 300);
  assert.equal(tracker.current(900), 10_000);
  // partition a/1 last seen at 100: idle from 1100 on; a/0 (20000) is then the minimum.
  assert.equal(tracker.current(1100), 20_000);
  const state = tracker.describe(1100);
  assert.deepEqual(
    state.partitions.map((p) => [p.input, p.partition, p.watermark, p.idle, p.holdingBack]),
    [
      ['a', 0, 20_000, false, true],
      ['a', 1, 5_000, true, false],
      ['b', 0, 30_000, false, false],
    ],
  );
  assert.equal(state.global, 20_000);
  // Everything idle: the global watermark holds (does not jump to the fastest partition).
  assert.equal(tracker.current(5000), 20_000);
  // a/1 comes back with old data: it is active again but cannot pull the global watermark back.
  tracker.observe('a', 1, 6_001, undefined, 5000);
  assert.equal(tracker.global, 20_000);
  assert.equal(tracker.describe(5000).partitions[1].idle, false);
});

test('no watermark yet describes as null; headers parse and format', () => {
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: 0 });
  assert.deepEqual(tracker.describe(0), { global: null, maxOutOfOrdernessMs: 0, idleTimeoutMs: 30_000, partitions: [] });
  assert.equal(parseWatermarkHeader('1234'), 1234);
  assert.equal(parseWatermarkHeader('-5'), -5);
  assert.equal(parseWatermarkHeader('abc'), undefined);
  assert.equal(parseWatermarkHeader(undefined), undefined);
  assert.equal(formatWatermark(Number.NEGATIVE_INFINITY), undefined);
  assert.equal(formatWatermark(77), '77');
  assert.equal(resolveWatermarkIdleTimeout({}), 30_000);
  assert.equal(resolveWatermarkIdleTimeout({ 'srp.watermark.idleTimeout': '5s' }), 5000);
  assert.throws(() => resolveWatermarkIdleTimeout({ 'srp.watermark.idleTimeout': 'x' }), /srp.watermark.idleTimeout/);
});

test('the global watermark follows the slowest active partition as it advances', () => {
  const tracker = new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: 60_000 });
  const fast = tracker.partition('in', 0);
  const slow = tracker.partition('in', 1);
  fast.observe(10_001, undefined, 0);
  slow.observe(1_001, undefined, 0);
  assert.equal(tracker.global, 10_000, 'monotonic: the first watermark stays');
  fast.observe(20_001, undefined, 1);
  assert.equal(tracker.global, 10_000);
  slow.observe(15_001, undefined, 2);
  assert.equal(tracker.global, 15_000);
  slow.observe(30_001, undefined, 3);
  assert.equal(tracker.global, 20_000, 'now the fast partition is the slowest');
  fast.observe(25_001, undefined, 4);
  assert.equal(tracker.global, 25_000);
});
