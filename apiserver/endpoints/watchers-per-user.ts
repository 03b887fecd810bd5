// A cap on the watches one user may hold open (`--max-watchers-per-user`): every watch costs the server a connection
// or stream, a subscription to the watch cache and its own send buffer, so one client opening watches in a loop must
// not exhaust them for everybody. Over the cap a new watch is 429 with Retry-After, like kube's overload answers.

export class WatchersPerUser {
  private readonly open = new Map<string, number>();

  /** 0 = unlimited. */
  constructor(private readonly max: number) {}

  /** A release function when `user` may open one more watch, otherwise undefined. */
  tryAcquire(user: string): (() => void) | undefined {
    const n = this.open.get(user) ?? 0;
    if (this.max > 0 && n >= this.max) return undefined;
    this.open.set(user, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(user) ?? 1) - 1;
      if (left > 0) this.open.set(user, left); else this.open.delete(user);
    };
  }
}
