import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker, PartitionProgress } from './offset-tracker';

test('commits only up to the lowest incomplete offset when completion is out of order', () => {
  const p = new PartitionProgress();
  for (const offset of [10, 11, 12, 13]) p.track(offset);
  assert.equal(p.committable(), 10, 'nothing complete yet: the committed position stays at the first offset');
  p.complete(12);
  p.complete(11);
  assert.equal(p.committable(), 10, '10 is still in flight');
  p.complete(10);
  assert.equal(p.committable(), 13);
  p.markCommitted(13);
  assert.equal(p.committable(), undefined, 'nothing new to commit');
  p.complete(13);
  assert.equal(p.committable(), 14, 'all done: the next offset to read');
  assert.equal(p.pending, 0);
});

test('per-partition progress, reset after a rebalance orphans old acknowledgements', () => {
  const tracker = new OffsetTracker();
  const p0 = tracker.progress(0);
  p0.track(5);
  tracker.progress(1).track(7);
  tracker.progress(1).complete(7);
  assert.deepEqual(tracker.committable(), [{ partition: 0, offset: 5 }, { partition: 1, offset: 8 }]);
  tracker.reset();
  p0.complete(5); // a late acknowledgement of a message handed out before the rebalance
  assert.deepEqual(tracker.committable(), []);
  assert.equal(tracker.pending, 0);
});

test('a long run of completions compacts without losing position', () => {
  const p = new PartitionProgress();
  for (let i = 0; i < 10_000; i++) p.track(i);
  for (let i = 0; i < 9_999; i++) p.complete(i);
  assert.equal(p.committable(), 9_999);
  p.complete(9_999);
  assert.equal(p.committable(), 10_000);
});
