import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './queue';

test('a key is never processed by two workers at once, and an add during processing re-runs it once', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const q = new WorkQueue(async () => {
    running++; runs++;
    maxRunning = Math.max(maxRunning, running);
    if (runs === 1) await gate;
    running--;
  }, { workers: 4 });
  q.add('a');
  await new Promise((r) => setTimeout(r, 10));
  q.add('a'); q.add('a'); q.add('a');
  release();
  await q.drained();
  await new Promise((r) => setTimeout(r, 10));
  await q.drained();
  assert.equal(maxRunning, 1);
  assert.equal(runs, 2, 'three adds while running collapse into one more run');
});

test('different keys run concurrently up to the worker count', async () => {
  let running = 0;
  let maxRunning = 0;
  const q = new WorkQueue(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 20));
    running--;
  }, { workers: 3 });
  for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
  await q.drained();
  assert.equal(maxRunning, 3);
});

test('failures are retried with exponential backoff; success resets it', async () => {
  const times: number[] = [];
  const q = new WorkQueue(async () => {
    times.push(Date.now());
    if (times.length < 4) throw new Error('not yet');
  }, { baseDelayMs: 20, maxDelayMs: 1000 });
  q.add('k');
  const deadline = Date.now() + 5000;
  while (times.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(times.length, 4);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps[0] >= 18 && gaps[1] >= 38 && gaps[2] >= 78, `gaps grow: ${gaps.join(',')}`);
  assert.equal(q.backoffFor('k'), 20, 'success forgets the failures');
  q.stop();
});

test('requeueAfter schedules another look; the sooner of two delayed adds wins', async () => {
  let runs = 0;
  const q = new WorkQueue(async () => { runs++; return runs === 1 ? { requeueAfterMs: 5000 } : undefined; });
  q.add('k');
  await q.drained();
  q.addAfter('k', 30);
  await new Promise((r) => setTimeout(r, 120));
  await q.drained();
  assert.equal(runs, 2);
  q.stop();
});
