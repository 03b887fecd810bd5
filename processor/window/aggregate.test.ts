import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowOperator, type WindowAggregator, type WindowEvent } from './operator';
import type { WindowSettings } from './settings';

interface Totals {
  count: number;
  sum: number;
}

const totals: WindowAggregator<string, Totals> = {
  create: () => ({ count: 0, sum: 0 }),
  add: (acc, event) => ({ count: acc.count + 1, sum: acc.sum + (event.value as { score: number }).score }),
  merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
};

function settings(overrides: Partial<WindowSettings>): WindowSettings {
  return {
    type: 'TUMBLING', sizeMs: 5000, slideMs: 5000, gapMs: 0, allowedLatenessMs: 0, lateEventMode: 'DROP',
    idleTimeoutMs: undefined, maxState: 1000, ...overrides,
  };
}

function event(timestamp: number, score: number, token: string, key?: string): WindowEvent<string> {
  return { timestamp, key, payload: Buffer.alloc(0), headers: {}, token, value: { score } };
}

test('aggregator mode: accumulators instead of events, tokens still held until release', () => {
  const op = new WindowOperator<string, Totals>(settings({}), { aggregator: totals });
  op.add(event(1000, 10, 'a', 'red'), 0);
  op.add(event(2000, 5, 'b', 'red'), 0);
  op.add(event(3000, 7, 'c', 'blue'), 0);
  assert.equal(op.bufferedEvents, 3);
  const released = op.advance(5000);
  assert.deepEqual(
    released.map((r) => [r.key, r.aggregate, r.count, r.tokens, r.events.length]),
    [
      ['red', { count: 2, sum: 15 }, 2, ['a', 'b'], 0],
      ['blue', { count: 1, sum: 7 }, 1, ['c'], 0],
    ],
  );
  assert.equal(op.bufferedEvents, 0);
});

test('aggregator mode with UPSERT lateness: the re-emission carries the updated accumulator and only new tokens', () => {
  const op = new WindowOperator<string, Totals>(settings({ allowedLatenessMs: 1000, lateEventMode: 'UPSERT' }), { aggregator: totals });
  op.add(event(1000, 1, 'a'), 0);
  assert.deepEqual(op.advance(5000).map((r) => [r.aggregate, r.tokens, r.update]), [[{ count: 1, sum: 1 }, ['a'], false]]);
  assert.equal(op.bufferedEvents, 0, 'tokens handed over; the accumulator is kept');
  assert.equal(op.add(event(4000, 2, 'late'), 0).action, 'UPDATED');
  assert.deepEqual(op.advance(5500).map((r) => [r.aggregate, r.tokens, r.update]), [[{ count: 2, sum: 3 }, ['late'], true]]);
  op.advance(6000);
  assert.equal(op.openWindows, 0);
});

test('aggregator mode, sliding: each window folds the event; the token comes with the last window', () => {
  const op = new WindowOperator<string, Totals>(settings({ type: 'SLIDING', sizeMs: 10_000, slideMs: 5000 }), { aggregator: totals });
  op.add(event(7000, 3, 't'), 0);
  assert.deepEqual(op.advance(10_000).map((r) => [r.start, r.aggregate, r.tokens]), [[0, { count: 1, sum: 3 }, []]]);
  assert.deepEqual(op.advance(15_000).map((r) => [r.start, r.aggregate, r.tokens]), [[5000, { count: 1, sum: 3 }, ['t']]]);
});

test('aggregator mode, sessions merge accumulators; a session aggregator needs merge', () => {
  const op = new WindowOperator<string, Totals>(settings({ type: 'SESSION', sizeMs: 0, gapMs: 1000 }), { aggregator: totals });
  op.add(event(0, 1, 'a', 'k'), 0);
  op.add(event(1800, 2, 'b', 'k'), 0);
  op.add(event(900, 4, 'c', 'k'), 0);
  assert.deepEqual(op.advance(10_000).map((r) => [r.start, r.end, r.aggregate, r.tokens]), [[0, 2800, { count: 3, sum: 7 }, ['a', 'b', 'c']]]);
  assert.throws(
    () => new WindowOperator<string, Totals>(settings({ type: 'SESSION', gapMs: 1000 }), { aggregator: { create: totals.create, add: totals.add } }),
    /needs aggregator.merge/,
  );
});

test('aggregator mode: maxState bounds the held tokens', () => {
  const op = new WindowOperator<string, Totals>(settings({ maxState: 1 }), { aggregator: totals });
  assert.equal(op.add(event(1, 1, 'a'), 0).action, 'ADDED');
  assert.equal(op.add(event(2, 1, 'b'), 0).action, 'REFUSED');
  op.advance(5000);
  assert.equal(op.add(event(5001, 1, 'c'), 0).action, 'ADDED');
});
