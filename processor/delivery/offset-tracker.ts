// At-least-once with out-of-order completion on Kafka: messages of one partition complete in any order (UDF calls,
// outputs and windows finish at different times), but a committed offset means "everything before it is done".
// So each partition commits only up to its lowest not-yet-completed offset.

export class PartitionProgress {
  /** Offsets handed out, in arrival (= increasing) order; `head` is the first not known complete. */
  private offsets: number[] = [];
  private head = 0;
  private readonly completed = new Set<number>();
  private lastTracked = -1;
  private committed = -1;

  track(offset: number): void {
    this.offsets.push(offset);
    this.lastTracked = offset;
  }

  complete(offset: number): void {
    this.completed.add(offset);
    while (this.head < this.offsets.length && this.completed.has(this.offsets[this.head])) {
      this.completed.delete(this.offsets[this.head]);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }

  /** Messages handed out and not complete. */
  get pending(): number {
    return this.offsets.length - this.head;
  }

  /** The offset to commit (Kafka's "next offset to read"), or undefined when nothing new is safe to commit. */
  committable(): number | undefined {
    const next = this.head < this.offsets.length ? this.offsets[this.head] : this.lastTracked + 1;
    if (this.lastTracked < 0 || next <= this.committed) return undefined;
    return next;
  }

  markCommitted(offset: number): void {
    this.committed = Math.max(this.committed, offset);
  }
}

export class OffsetTracker {
  private readonly partitions = new Map<number, PartitionProgress>();

  progress(partition: number): PartitionProgress {
    let progress = this.partitions.get(partition);
    if (!progress) {
      progress = new PartitionProgress();
      this.partitions.set(partition, progress);
    }
    return progress;
  }

  /** After a rebalance the group restarts from committed offsets: forget everything in flight (acks of messages
   *  handed out before it land on the orphaned PartitionProgress objects and are ignored). */
  reset(): void {
    this.partitions.clear();
  }

  has(partition: number): boolean {
    return this.partitions.has(partition);
  }

  /** Offsets that are safe to commit and were not committed yet. */
  committable(): Array<{ partition: number; offset: number }> {
    const out: Array<{ partition: number; offset: number }> = [];
    for (const [partition, progress] of this.partitions) {
      const offset = progress.committable();
      if (offset !== undefined) out.push({ partition, offset });
    }
    return out;
  }

  markCommitted(partition: number, offset: number): void {
    this.partitions.get(partition)?.markCommitted(offset);
  }

  get pending(): number {
    let total = 0;
    for (const progress of this.partitions.values()) total += progress.pending;
    return total;
  }
}
