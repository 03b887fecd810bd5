// At-least-once with out-of-order completion on Kafka: messages of one partition complete in any order (UDF calls,
// outputs and windows finish at different times), but a committed offset means "everything before it is done".
// So each partition commits only up to its lowest not-yet-completed offset, and says in the commit's metadata which
// offsets above it are complete already (acknowledged-offsets.ts), so that the partition's next owner skips them
// instead of processing them twice.
import { decodeAcknowledged, encodeAcknowledged, inRanges, mergeRanges, type OffsetRange } from './acknowledged-offsets';

/** What to commit for one partition: Kafka's "next offset to read" and the acknowledged offsets above it. */
export interface Commit {
  offset: number;
  metadata: string;
}

export class PartitionProgress {
  /** Offsets handed out, in arrival (= increasing) order; `head` is the first not known complete. */
  private offsets: number[] = [];
  private head = 0;
  private readonly completed = new Set<number>();
  private lastTracked = -1;
  private committed = -1;
  private committedMetadata = '';
  /** Offsets an earlier owner of the partition acknowledged above its commit (restore()); not handed out again. */
  private restored: OffsetRange[] = [];
  /** Bumped by every change, so that the metadata is encoded again only when something changed. */
  private changes = 0;
  private encoded: { changes: number; commit: Commit | undefined } | undefined;

  /** Takes over what the previous owner's commit said: `metadata` of a commit of `committedOffset`. Returns how
   *  many offsets it names as acknowledged. */
  restore(committedOffset: number, metadata: string | null | undefined): number {
    this.restored = decodeAcknowledged(committedOffset, metadata);
    this.committed = Math.max(this.committed, committedOffset);
    this.committedMetadata = metadata ?? '';
    this.changes++;
    return this.restored.reduce((sum, r) => sum + (r.to - r.from), 0);
  }

  /** Whether `offset` was acknowledged by an earlier owner: it is not to be handed out again (track and complete it). */
  wasAcknowledged(offset: number): boolean {
    return inRanges(this.restored, offset);
  }

  track(offset: number): void {
    this.offsets.push(offset);
    this.lastTracked = offset;
    this.changes++;
  }

  complete(offset: number): void {
    this.completed.add(offset);
    this.changes++;
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

  /** The offset and metadata to commit, or undefined when they say nothing the last commit did not. */
  committable(): Commit | undefined {
    if (this.encoded?.changes !== this.changes) this.encoded = { changes: this.changes, commit: this.encode() };
    const commit = this.encoded.commit;
    if (!commit || commit.offset < this.committed) return undefined;
    if (commit.offset === this.committed && commit.metadata === this.committedMetadata) return undefined;
    return commit;
  }

  markCommitted(commit: Commit): void {
    if (commit.offset < this.committed) return;
    this.committed = commit.offset;
    this.committedMetadata = commit.metadata;
  }

  private encode(): Commit | undefined {
    if (this.lastTracked < 0) return undefined;
    const offset = this.head < this.offsets.length ? this.offsets[this.head] : this.lastTracked + 1;
    // Offsets complete above the first incomplete one; restored ones not fetched again yet count too (a commit made
    // before the fetch reaches them must not forget them).
    const completedRanges: OffsetRange[] = [];
    for (let i = this.head + 1; i < this.offsets.length; i++) {
      const o = this.offsets[i];
      if (!this.completed.has(o)) continue;
      const last = completedRanges[completedRanges.length - 1];
      if (last && last.to === o) last.to++;
      else completedRanges.push({ from: o, to: o + 1 });
    }
    return { offset, metadata: encodeAcknowledged(offset, mergeRanges(completedRanges, this.restored)) };
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

  /** Per partition, what is safe to commit and was not committed yet. */
  committable(): Array<{ partition: number } & Commit> {
    const out: Array<{ partition: number } & Commit> = [];
    for (const [partition, progress] of this.partitions) {
      const commit = progress.committable();
      if (commit !== undefined) out.push({ partition, ...commit });
    }
    return out;
  }

  markCommitted(partition: number, commit: Commit): void {
    this.partitions.get(partition)?.markCommitted(commit);
  }

  get pending(): number {
    let total = 0;
    for (const progress of this.partitions.values()) total += progress.pending;
    return total;
  }
}
