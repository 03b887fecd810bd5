import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAcknowledged, encodeAcknowledged, inRanges, MAX_METADATA_LENGTH, mergeRanges, type OffsetRange } from './acknowledged-offsets';

const count = (ranges: OffsetRange[]): number => ranges.reduce((sum, r) => sum + (r.to - r.from), 0);

test('round trip: what is encoded relative to the committed offset decodes to the same offsets', () => {
  const cases: OffsetRange[][] = [
    [{ from: 1, to: 6 }],
    [{ from: 0, to: 1 }, { from: 3, to: 4 }],
    [{ from: 2, to: 3 }, { from: 5, to: 9 }, { from: 200, to: 100_200 }],
    [{ from: 17, to: 18 }, { from: 19, to: 20 }, { from: 21, to: 22 }],
  ];
  for (const ranges of cases) {
    const metadata = encodeAcknowledged(0, ranges);
    assert.match(metadata, /^sr-acked1:0:[rb]:[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeAcknowledged(0, metadata), ranges);
  }
  const far = [{ from: 9_007_199_254_700_001, to: 9_007_199_254_700_010 }];
  assert.deepEqual(decodeAcknowledged(9_007_199_254_700_000, encodeAcknowledged(9_007_199_254_700_000, far)), far);
});

test('the shorter encoding is chosen: run lengths for long runs, a bitset for alternation', () => {
  const longRun = encodeAcknowledged(1000, [{ from: 1001, to: 1_000_000 }]);
  assert.match(longRun, /^sr-acked1:1000:r:/);
  assert.ok(longRun.length < 30, longRun);
  const alternating: OffsetRange[] = [];
  for (let o = 1; o < 2000; o += 2) alternating.push({ from: o, to: o + 1 });
  const bits = encodeAcknowledged(0, alternating);
  assert.match(bits, /^sr-acked1:0:b:/);
  assert.ok(bits.length < 400, `2000 offsets in ${bits.length} characters`);
  assert.deepEqual(decodeAcknowledged(0, bits), alternating);
});

test('nothing acknowledged, or only below the committed offset, is the empty string', () => {
  assert.equal(encodeAcknowledged(5, []), '');
  assert.equal(encodeAcknowledged(5, [{ from: 1, to: 5 }]), '');
  assert.deepEqual(decodeAcknowledged(3, encodeAcknowledged(3, [{ from: 1, to: 5 }])), [{ from: 3, to: 5 }], 'clipped at the committed offset');
});

test('bounded: beyond 4096 characters only the prefix closest to the committed offset is kept', () => {
  // Every third offset acknowledged over 200,000 offsets: ~67k ranges, far more than fits.
  const scattered: OffsetRange[] = [];
  for (let o = 1; o < 200_000; o += 3) scattered.push({ from: o, to: o + 1 });
  const metadata = encodeAcknowledged(0, scattered);
  assert.ok(metadata.length <= MAX_METADATA_LENGTH, `${metadata.length} characters`);
  const kept = decodeAcknowledged(0, metadata);
  assert.ok(count(kept) > 5_000, `kept ${count(kept)} offsets`);
  assert.deepEqual(kept, scattered.slice(0, kept.length), 'a prefix, nothing invented');
  // A smaller bound works the same way.
  const small = encodeAcknowledged(0, scattered, 64);
  assert.ok(small.length <= 64);
  const smallKept = decodeAcknowledged(0, small);
  assert.ok(smallKept.length > 0);
  assert.deepEqual(smallKept, scattered.slice(0, smallKept.length));
});

test('metadata that is not ours, for another offset, or malformed decodes to nothing', () => {
  const metadata = encodeAcknowledged(10, [{ from: 12, to: 14 }]);
  assert.deepEqual(decodeAcknowledged(11, metadata), [], 'the offset was moved (e.g. reset) since it was written');
  for (const foreign of [null, undefined, '', 'event-id-3', 'sr-acked1:10:x:AAAA', 'sr-acked1:10:r:gA', 'sr-acked1:10:r:AAAA', 'sr-acked1:10:r:!!', 'sr-acked2:10:r:AgI']) {
    assert.deepEqual(decodeAcknowledged(10, foreign), [], String(foreign));
  }
});

test('range helpers', () => {
  const ranges = [{ from: 2, to: 4 }, { from: 10, to: 11 }];
  assert.deepEqual([1, 2, 3, 4, 9, 10, 11].map((o) => inRanges(ranges, o)), [false, true, true, false, false, true, false]);
  assert.deepEqual(mergeRanges(ranges, [{ from: 4, to: 6 }, { from: 0, to: 1 }, { from: 9, to: 12 }]), [{ from: 0, to: 1 }, { from: 2, to: 6 }, { from: 9, to: 12 }]);
});
