// Bounded read-ahead for window releases. Releases are emitted one after the other, but reading their events from
// disk one at a time would serialize one disk round trip per window; reading them all at once would load a burst of
// released windows (every key's hour closing at the same watermark) into memory together. So reads start in release
// order while at most `limit` events are loaded and not yet emitted (a single larger window still goes through).

export class ReadAhead {
  private loaded = 0;
  /** FIFO of reads waiting for budget; `head` is the next one (no O(n) shift on long queues). */
  private waiting: Array<{ count: number; start: () => void }> = [];
  private head = 0;

  constructor(private readonly limit: number) {}

  /** Runs `read` once the budget allows `count` more events. Call `done(count)` after emitting them. */
  schedule<R>(count: number, read: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const start = (): void => {
        this.loaded += count;
        read().then(resolve, reject);
      };
      if (this.head === this.waiting.length && (this.loaded === 0 || this.loaded + count <= this.limit)) start();
      else this.waiting.push({ count, start });
    });
  }

  done(count: number): void {
    this.loaded -= count;
    while (this.head < this.waiting.length) {
      const next = this.waiting[this.head];
      if (this.loaded !== 0 && this.loaded + next.count > this.limit) break;
      this.head++;
      next.start();
    }
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  /** Events loaded (or loading) and not yet emitted. */
  get inFlight(): number {
    return this.loaded;
  }
}
