// Fair queueing per user, in the spirit of kube-apiserver's API Priority and Fairness: a fixed number of seats (the
// requests being served at once); a request that finds them taken waits in its user's queue, and a freed seat goes
// to the next user in turn (round robin over the users with waiting requests), not to whoever queued first. A client
// sending hundreds of requests at once therefore delays another user's request by about one request, not by its
// whole backlog. A user's queue is bounded: beyond it, and after waiting too long, the answer is 429. Watches and
// system:masters never queue (APF's exempt priority level); how long a request may wait overall is bounded by the
// request timeout as well (its client or the timeout closing the response cancels the wait).

export interface FairQueueOptions {
  /** Requests served at once; 0 = unlimited. */
  seats: number;
  /** Requests one user may have waiting; more are refused at once. */
  queueLengthPerUser: number;
  /** Longest wait for a seat before the request is refused. */
  maxWaitMs: number;
}

/** Why a request got no seat. */
export type Refused = 'queue-full' | 'timed-out' | 'cancelled';

interface Waiter {
  grant: (release: () => void) => void;
  refuse: (why: Refused) => void;
}

export class FairQueue {
  private busy = 0;
  /** Users with waiting requests, in turn order; a Map keeps insertion order, so the next in turn is the first. */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly options: FairQueueOptions) {}

  /**
   * A release function once a seat is free for `user`, or the reason there is none. `cancelled` resolves to
   * 'cancelled' when the request went away while waiting (its queue place is given up).
   */
  acquire(user: string, cancelled: Promise<void>): Promise<(() => void) | Refused> {
    if (this.options.seats <= 0) return Promise.resolve(() => undefined);
    if (this.busy < this.options.seats && this.queues.size === 0) return Promise.resolve(this.seat());
    const queue = this.queues.get(user) ?? [];
    if (queue.length >= this.options.queueLengthPerUser) return Promise.resolve('queue-full');
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => waiter.refuse('timed-out'), this.options.maxWaitMs);
      const waiter: Waiter = {
        grant: (release) => {
          if (settled) { release(); return; }
          settled = true;
          clearTimeout(timer);
          resolve(release);
        },
        refuse: (why) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.remove(user, waiter);
          resolve(why);
        },
      };
      queue.push(waiter);
      this.queues.set(user, queue);
      void cancelled.then(() => waiter.refuse('cancelled'));
    });
  }

  /** Requests waiting, per user (for tests and metrics). */
  waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  inflight(): number {
    return this.busy;
  }

  private seat(): () => void {
    this.busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy--;
      this.dispatch();
    };
  }

  /** Gives free seats to the users in turn: the first user's oldest request, then that user goes last. */
  private dispatch(): void {
    while (this.busy < this.options.seats && this.queues.size > 0) {
      const [user, queue] = this.queues.entries().next().value as [string, Waiter[]];
      const waiter = queue.shift() as Waiter;
      this.queues.delete(user);
      if (queue.length > 0) this.queues.set(user, queue);
      waiter.grant(this.seat());
    }
  }

  private remove(user: string, waiter: Waiter): void {
    const queue = this.queues.get(user);
    if (!queue) return;
    const i = queue.indexOf(waiter);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(user);
  }
}
