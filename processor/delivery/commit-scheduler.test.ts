import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitScheduler } from './commit-scheduler';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A commit function that counts rounds, can be held open, and notices overlapping calls. */
class Commits {
  rounds = 0;
  running = 0;
  overlapped = false;
  private release: (() => void) | undefined;
  hold = false;

  readonly commit = async (): Promise<void> => {
    this.rounds++;
    this.running++;
    if (this.running > 1) this.overlapped = true;
    if (this.hold) await new Promise<void>((r) => { this.release = r; });
    this.running--;
  };

  open(): void {
    this.hold = false;
    this.release?.();
    this.release = undefined;
  }
}

test('a held record\'s acknowledgement (a window fired) commits at once; a whole burst in one commit; fresh acknowledgements wait for the timer', async () => {
  let now = 10_000;
  const commits = new Commits();
  // A period far longer than the test: every commit seen here is an early one.
  const scheduler = new CommitScheduler({ commit: commits.commit, intervalMs: 60_000, heldMs: 200, minGapMs: 20, now: () => now });
  scheduler.start();
  try {
    scheduler.acknowledged(now - 5);
    await sleep(30);
    assert.equal(commits.rounds, 0, 'handed out 5 ms ago: left to the periodic commit');

    // A window's 500 rows acknowledged in one turn, handed out 3 s ago.
    for (let i = 0; i < 500; i++) scheduler.acknowledged(now - 3000);
    await sleep(5);
    assert.equal(commits.rounds, 1, 'one commit for the burst, without waiting for the period');
    assert.equal(scheduler.earlyCommits, 1);

    // The next window fires while that commit is still on its way: exactly one more follows, never two at once.
    commits.hold = true;
    now += 1000;
    scheduler.acknowledged(now - 3000);
    await sleep(30);
    assert.equal(commits.rounds, 2);
    scheduler.acknowledged(now - 3000);
    await sleep(30);
    void scheduler.run();
    void scheduler.run();
    commits.open();
    await sleep(30);
    assert.equal(commits.rounds, 3, 'asked for three times while one ran: one more round');
    assert.equal(commits.overlapped, false);
  } finally {
    await scheduler.stop();
  }
});

test('early commits start at least minGapMs apart; stop runs a last commit and nothing after it', async () => {
  const commits = new Commits();
  const started: number[] = [];
  const scheduler = new CommitScheduler({ commit: async () => { started.push(Date.now()); await commits.commit(); }, intervalMs: 60_000, heldMs: 0, minGapMs: 50, now: Date.now });
  scheduler.start();
  const until = Date.now() + 260;
  while (Date.now() < until) {
    scheduler.acknowledged(0);
    await sleep(2);
  }
  await sleep(60);
  // Acknowledgements every 2 ms for 260 ms (and the last one's commit in the 60 ms after): at most one commit per 50 ms.
  assert.ok(started.length >= 3 && started.length <= 7, `${started.length} commits in ~320 ms at 50 ms apart`);
  for (let i = 1; i < started.length; i++) assert.ok(started[i] - started[i - 1] >= 45, `gap ${started[i] - started[i - 1]} ms`);
  const before = commits.rounds;
  await scheduler.stop();
  assert.equal(commits.rounds, before + 1, 'a last commit at stop');
  scheduler.acknowledged(0);
  await sleep(60);
  assert.equal(commits.rounds, before + 1, 'nothing after stop');
});

test('the periodic commit runs without any acknowledgement', async () => {
  const commits = new Commits();
  const scheduler = new CommitScheduler({ commit: commits.commit, intervalMs: 20, heldMs: 200, minGapMs: 20 });
  scheduler.start();
  await sleep(110);
  await scheduler.stop();
  assert.ok(commits.rounds >= 3, `${commits.rounds} periodic rounds`);
});
