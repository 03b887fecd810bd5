// When a Kafka input commits its offsets. Every 200 ms (what was acknowledged since the last commit is in no commit
// until then: a crash in between redelivers it), and at once when a record that was held a while is acknowledged:
// a window that fired, a join row that was stored. Those acknowledgements come in bursts (a window's rows in one
// go) and a restart that replays them costs most: a fired window re-opened with part of its rows writes a second,
// partial row. Committing right after the burst narrows that gap from the timer's 200 ms to the commit's round trip.
// Records acknowledged quickly (a stateless pipeline) wait for the timer, so a busy input does not commit per message.
//
// Commits never overlap and coalesce: asked for while one is running, exactly one more follows it. Early commits are
// at least `minGapMs` apart, so an input whose every acknowledgement is of a held record (a slow output) commits at
// most 1000 / minGapMs times a second.

export interface CommitSchedulerOptions {
  /** One commit round (OffsetCommit of whatever is committable); never called while the previous one runs. */
  commit: () => Promise<void>;
  /** The periodic commit. */
  intervalMs: number;
  /** An acknowledgement of a record handed out at least this long ago commits at once. */
  heldMs: number;
  /** Between the starts of two early commits. */
  minGapMs: number;
  now?: () => number;
}

export class CommitScheduler {
  private timer: NodeJS.Timeout | undefined;
  private early: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private lastEarlyStart = Number.NEGATIVE_INFINITY;
  private stopped = false;
  /** Commits started by held records' acknowledgements (for /debug/state). */
  earlyCommits = 0;

  constructor(private readonly o: CommitSchedulerOptions) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  start(): void {
    this.timer ??= setInterval(() => { void this.run(); }, this.o.intervalMs);
  }

  /** A record handed out at `handedOutAt` (this clock) was acknowledged. */
  acknowledged(handedOutAt: number): void {
    if (this.stopped || this.early || this.now() - handedOutAt < this.o.heldMs) return;
    // A timer, not a microtask: the rest of the burst (acknowledged in the same turn) goes into the same commit.
    const delay = Math.max(0, this.lastEarlyStart + this.o.minGapMs - this.now());
    this.early = setTimeout(() => {
      this.early = undefined;
      if (this.stopped) return;
      this.lastEarlyStart = this.now();
      this.earlyCommits++;
      void this.run();
    }, delay);
  }

  /** Commits now (after the running commit, if any); resolves once done. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const round = (async () => {
      do {
        this.again = false;
        try {
          await this.o.commit();
        } catch {
          // The commit function reports its own failures; the next round retries.
        }
      } while (this.again);
    })();
    this.running = round.finally(() => { this.running = undefined; });
    return this.running;
  }

  /** No more periodic or early commits; resolves after a last commit round. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.early) clearTimeout(this.early);
    this.timer = undefined;
    this.early = undefined;
    await this.run();
  }
}
