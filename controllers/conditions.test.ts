import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setCondition } from './conditions';

test('lastTransitionTime changes only when the status changes', () => {
  const t1 = new Date('2026-01-01T00:00:00Z');
  const t2 = new Date('2026-01-01T00:01:00Z');
  const a = setCondition(undefined, { status: 'False', reason: 'Waiting', message: 'x', observedGeneration: 1 }, t1);
  const b = setCondition(a, { status: 'False', reason: 'StillWaiting', message: 'y', observedGeneration: 2 }, t2);
  assert.equal(b[0].lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(b[0].reason, 'StillWaiting');
  assert.equal(b[0].observedGeneration, 2);
  const c = setCondition(b, { status: 'True', reason: 'Ok', message: 'z' }, t2);
  assert.equal(c[0].lastTransitionTime, '2026-01-01T00:01:00Z');
  assert.equal(c.length, 1);
});
