import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAcknowledged } from './acknowledged-offsets';
import { OffsetTracker, PartitionProgress } from './offset-tracker';

test('commits only up to the lowest incomplete offset when completion is out of order', () => {
  const p = new PartitionProgress();
  for (const offset of [10, 11, 12, 13]) p.track(offset);
  assert.equal(p.committable()?.offset, 10, 'nothing complete yet: the committed position stays at the first offset');
  assert.equal(p.committable()?.metadata, '', 'nothing acknowledged above it');
  p.complete(12);
  p.complete(11);
  const held = p.committable();
  assert.equal(held?.offset, 10, '10 is still in flight');
  assert.deepEqual(decodeAcknowledged(10, held?.metadata), [{ from: 11, to: 13 }], 'the commit says 11 and 12 are done');
  p.complete(10);
  assert.deepEqual(p.committable(), { offset: 13, metadata: '' });
  p.markCommitted({ offset: 13, metadata: '' });
  assert.equal(p.committable(), undefined, 'nothing new to commit');
  p.complete(13);
  assert.equal(p.committable()?.offset, 14, 'all done: the next offset to read');
  assert.equal(p.pending, 0);
});

test('a completion above the committed offset is committed again, with the same offset and new metadata', () => {
  const p = new PartitionProgress();
  for (const offset of [0, 1, 2, 3]) p.track(offset);
  const first = p.committable();
  assert.ok(first);
  p.markCommitted(first);
  assert.equal(p.committable(), undefined);
  p.complete(2);
  const second = p.committable();
  assert.equal(second?.offset, 0);
  assert.deepEqual(decodeAcknowledged(0, second?.metadata), [{ from: 2, to: 3 }]);
});

test('a new owner skips what the previous owner acknowledged above its commit, and keeps saying so', () => {
  const before = new PartitionProgress();
  for (let offset = 0; offset <= 5; offset++) before.track(offset);
  for (const offset of [3, 1, 5, 2, 4]) before.complete(offset);
  const commit = before.committable();
  assert.equal(commit?.offset, 0);

  const after = new PartitionProgress();
  assert.equal(after.restore(0, commit?.metadata), 5);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].filter((o) => after.wasAcknowledged(o)), [1, 2, 3, 4, 5]);
  // Only 0 fetched so far: a commit now must still carry 1..5, or a second restart would redeliver them.
  after.track(0);
  assert.equal(after.committable(), undefined, 'same offset and metadata as the stored commit: nothing to commit');
  for (let offset = 1; offset <= 5; offset++) { after.track(offset); after.complete(offset); }
  assert.equal(after.committable(), undefined, 'the skipped offsets change nothing the stored commit did not say');
  after.complete(0);
  assert.deepEqual(after.committable(), { offset: 6, metadata: '' });
});

test('restoring foreign or mismatched metadata skips nothing', () => {
  const p = new PartitionProgress();
  assert.equal(p.restore(7, 'some other tool'), 0);
  assert.equal(p.wasAcknowledged(8), false);
  const q = new PartitionProgress();
  assert.equal(q.restore(7, null), 0);
});

test('per-partition progress, reset after a rebalance orphans old acknowledgements', () => {
  const tracker = new OffsetTracker();
  const p0 = tracker.progress(0);
  p0.track(5);
  tracker.progress(1).track(7);
  tracker.progress(1).complete(7);
  assert.deepEqual(tracker.committable(), [{ partition: 0, offset: 5, metadata: '' }, { partition: 1, offset: 8, metadata: '' }]);
  tracker.reset();
  p0.complete(5); // a late acknowledgement of a message handed out before the rebalance
  assert.deepEqual(tracker.committable(), []);
  assert.equal(tracker.pending, 0);
});

test('a long run of completions compacts without losing position', () => {
  const p = new PartitionProgress();
  for (let i = 0; i < 10_000; i++) p.track(i);
  for (let i = 0; i < 9_999; i++) p.complete(i);
  assert.equal(p.committable()?.offset, 9_999);
  p.complete(9_999);
  assert.equal(p.committable()?.offset, 10_000);
});
