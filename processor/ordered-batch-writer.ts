// The write path of the RocksDB stores (processor/state/rocksdb.ts, processor/sql/state-rocksdb.ts): puts and deletes
// gather in one pending write batch, written on the next turn of the event loop (at once past 4 MiB), batches
// strictly one after another. So callers never wait for the disk, and a read that waits for `flush()` sees every
// write issued before it. A leaf module: it knows RocksDB's batch API and nothing of either store.
import type { AbstractChainedBatch } from 'abstract-leveldown';

/** A pending write batch is written at once past this size (else on the next event-loop turn). */
export const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

export type WriteBatch = AbstractChainedBatch<Buffer, Buffer>;

export class OrderedBatchWriter {
  private batch: WriteBatch | undefined;
  private batchBytes = 0;
  /** Run once the pending batch is on disk. */
  private thens: Array<() => void> = [];
  private writeScheduled = false;
  /** The tail of the ordered chain of batch writes. */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    /** A fresh batch of the open database (throws when it is not open). */
    private readonly newBatch: () => WriteBatch,
    /** Told about every failed batch write; the failed batch's `then`s never run. */
    private readonly onError: (err: Error) => void,
  ) {}

  /** `then` runs once this put is on disk. Keys and values may be reused by the caller at once (RocksDB copies them). */
  put(key: Buffer, value: Buffer, then?: () => void): void {
    this.pending().put(key, value);
    this.added(key.length + value.length, then);
  }

  /** `then` runs once this delete is on disk. */
  del(key: Buffer, then?: () => void): void {
    this.pending().del(key);
    this.added(key.length, then);
  }

  /** Resolves once every put and delete issued so far is in the database (or failed). */
  flush(): Promise<void> {
    const batch = this.batch;
    if (batch) {
      const thens = this.thens;
      this.batch = undefined;
      this.thens = [];
      this.batchBytes = 0;
      this.writes = this.writes.then(() => new Promise<void>((resolve) => batch.write((err) => {
        if (err) this.onError(err);
        else for (const then of thens) then();
        resolve();
      })));
    }
    return this.writes;
  }

  private pending(): WriteBatch {
    this.batch ??= this.newBatch();
    return this.batch;
  }

  private added(bytes: number, then?: () => void): void {
    this.batchBytes += bytes;
    if (then) this.thens.push(then);
    if (this.batchBytes >= WRITE_BATCH_BYTES) {
      void this.flush();
    } else if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => {
        this.writeScheduled = false;
        void this.flush();
      });
    }
  }
}
