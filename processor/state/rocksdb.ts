// ROCKSDB state: the bodies of window events (payload, headers, event time) live in a RocksDB database in this
// replica's state directory; the heap keeps one token (acknowledgement handle) per event. So `srp.window.maxState`
// can be set far beyond what fits in memory — the disk holds the state.
//
// Writes never block the operator: `push` adds to a pending write batch that is written on the next turn of the event
// loop (or at once past 4 MiB), batches strictly in order (processor/ordered-batch-writer.ts). Reads (at window
// release) wait for the writes before them and are coalesced: every read asked for in one turn becomes one multi-get.
// A window's events are deleted once the window is gone and every snapshot of it was read (or discarded) — deletes
// go in the same ordered batches.
//
// On open the database is deleted and created empty: its events were never acknowledged (a window's events are
// acknowledged only after its results are confirmed), so the brokers deliver them again and the windows are rebuilt
// from the redelivery. Reopening the old contents as well would count those events twice. RocksDB's LOCK file keeps
// two processes from sharing (or wiping) one directory: each replica needs its own.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import rocksdb from 'rocksdb';
import type { TimedEvent } from '../message';
import { OrderedBatchWriter, type WriteBatch } from '../ordered-batch-writer';
import { decodeEventBody, encodeEventBody, eventKeys, scratchEventKey } from './event-codec';
import type { EventBuffer, EventsSnapshot, StateStoreStatus, WindowStateStore } from './types';

type Database = ReturnType<typeof rocksdb>;
/** `destroy` is a static function of the module (the typings misplace it on instances). */
const destroyDatabase = (rocksdb as unknown as { destroy(location: string, cb: (err: Error | undefined | null) => void): void }).destroy;
/** The binding reads more open options than the typings list. */
type OpenOptions = rocksdb.OpenOptions & { writeBufferSize: number };

/** The database directory inside a replica's state directory. */
export const ROCKSDB_DIR_NAME = 'windows.rocksdb';

/** Keys per multi-get call: bounds the size of one native request. */
const READ_CHUNK = 16_384;

export interface RocksDbStateOptions {
  /** The replica's state directory; the store owns `<dir>/windows.rocksdb` in it. */
  dir: string;
  /** Told about the first I/O error (the store stops working: see `status().error`). */
  onError?: (err: Error) => void;
  /** RocksDB memtable size. Window events usually die young: a larger memtable deletes them before they reach a
   *  table file. Default 32 MiB. */
  writeBufferSize?: number;
}

interface Run {
  /** Segment id: the key prefix of this run of events. */
  id: number;
  length: number;
}

interface PendingRead {
  keys: Buffer[];
  resolve: (bodies: Buffer[]) => void;
  reject: (err: Error) => void;
}

/** Multi-get answers Buffers (asBuffer is the default) and undefined for a missing key. */
function asBodies(values: ReadonlyArray<string | Buffer | undefined>): Array<Buffer | undefined> {
  return values.map((v) => (v === undefined || Buffer.isBuffer(v) ? v : Buffer.from(v)));
}

function callback(resolve: () => void, reject: (err: Error) => void): (err: Error | undefined | null) => void {
  return (err) => (err ? reject(err) : resolve());
}

export class RocksDbStateStore implements WindowStateStore {
  readonly type = 'ROCKSDB' as const;
  readonly location: string;
  private db: Database | undefined;
  private readonly writer = new OrderedBatchWriter(() => this.newBatch(), (err) => this.fail(err));
  private pendingReads: PendingRead[] = [];
  private readScheduled = false;
  private readsInFlight = new Set<Promise<void>>();
  private nextSegment = 1;
  private stored = 0;
  private bytesWritten = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(private readonly options: RocksDbStateOptions) {
    this.location = join(options.dir, ROCKSDB_DIR_NAME);
  }

  async open(): Promise<void> {
    mkdirSync(this.options.dir, { recursive: true });
    const location = this.location;
    try {
      if (existsSync(location)) await new Promise<void>((resolve, reject) => destroyDatabase(location, callback(resolve, reject)));
      const db = rocksdb(location);
      const options: OpenOptions = { createIfMissing: true, errorIfExists: true, writeBufferSize: this.options.writeBufferSize ?? 32 * 1024 * 1024 };
      await new Promise<void>((resolve, reject) => db.open(options, callback(resolve, reject)));
      this.db = db;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      const hint = /lock/i.test(text) ? ' (another processor uses this directory: every replica needs its own state directory)' : '';
      throw new Error(`cannot open the window state store ${location}: ${text}${hint}`);
    }
  }

  buffer<T>(): EventBuffer<T> {
    return new RocksEventBuffer<T>(this);
  }

  async close(): Promise<void> {
    const db = this.db;
    if (!db) return;
    await this.writer.flush();
    while (this.readsInFlight.size > 0 || this.pendingReads.length > 0) {
      if (this.pendingReads.length > 0) this.runReads();
      await Promise.all([...this.readsInFlight]);
    }
    this.db = undefined;
    this.closed = true;
    await new Promise<void>((resolve, reject) => db.close(callback(resolve, reject)));
  }

  status(): StateStoreStatus {
    const status: StateStoreStatus = { type: 'ROCKSDB', location: this.location, storedEvents: this.stored, bytesWritten: this.bytesWritten };
    if (this.failure) status.error = this.failure.message;
    return status;
  }

  // --- for the buffers of this store ---

  /** A fresh key prefix. */
  newSegment(): number {
    return this.nextSegment++;
  }

  put(segment: number, seq: number, event: TimedEvent<unknown>): void {
    // After close (shutdown): the event is not kept; it was never acknowledged and will be delivered again.
    if (this.closed) return;
    const body = encodeEventBody(event);
    this.writer.put(scratchEventKey(segment, seq), body);
    this.stored++;
    this.bytesWritten += body.length;
  }

  /** Deletes every event of the runs. */
  remove(runs: ReadonlyArray<Run>): void {
    if (!this.db) return; // closed: the next open starts empty anyway
    for (const run of runs) {
      for (let seq = 0; seq < run.length; seq++) this.writer.del(scratchEventKey(run.id, seq));
      this.stored -= run.length;
    }
  }

  /** The bodies of the first `count` events of the runs, in order. */
  read(runs: ReadonlyArray<Run>, count: number): Promise<Buffer[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.db) return Promise.reject(new Error('the window state store is closed'));
    const keys = eventKeys(runs, count);
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise<Buffer[]>((resolve, reject) => {
      this.pendingReads.push({ keys, resolve, reject });
      if (!this.readScheduled) {
        this.readScheduled = true;
        setImmediate(() => this.runReads());
      }
    });
  }

  private newBatch(): WriteBatch {
    if (!this.db) throw new Error('the window state store is not open');
    return this.db.batch() as WriteBatch;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.options.onError?.(err);
  }

  private runReads(): void {
    this.readScheduled = false;
    const reads = this.pendingReads;
    this.pendingReads = [];
    if (reads.length === 0) return;
    // A read waits for the writes issued before it.
    const work = this.writer.flush()
      .then(async () => {
        const db = this.db;
        if (this.failure) throw this.failure;
        if (!db) throw new Error('the window state store is closed');
        const keys = reads.length === 1 ? reads[0].keys : reads.flatMap((r) => r.keys);
        const chunks: Promise<Array<Buffer | undefined>>[] = [];
        for (let i = 0; i < keys.length; i += READ_CHUNK) {
          const chunk = keys.length <= READ_CHUNK ? keys : keys.slice(i, i + READ_CHUNK);
          chunks.push(new Promise((resolve, reject) => db.getMany(chunk, (err, values) => (err ? reject(err) : resolve(asBodies(values))))));
        }
        const values = chunks.length === 1 ? await chunks[0] : (await Promise.all(chunks)).flat();
        let at = 0;
        for (const read of reads) {
          const bodies = values.slice(at, at + read.keys.length);
          at += read.keys.length;
          const missing = bodies.findIndex((b) => b === undefined);
          if (missing >= 0) read.reject(new Error(`window state: event ${missing} of a window is missing from ${this.location}`));
          else read.resolve(bodies as Buffer[]);
        }
      })
      .catch((err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        if (error !== this.failure) this.fail(error);
        for (const read of reads) read.reject(error);
      });
    this.readsInFlight.add(work);
    void work.then(() => this.readsInFlight.delete(work));
  }
}

class RocksSnapshot<T> implements EventsSnapshot<T> {
  readonly events = undefined;
  private settled = false;

  constructor(
    private readonly owner: RocksEventBuffer<T>,
    private readonly store: RocksDbStateStore,
    private readonly runs: Run[],
    private readonly tokens: T[],
  ) {}

  get length(): number {
    return this.tokens.length;
  }

  async read(): Promise<ReadonlyArray<TimedEvent<T>>> {
    if (this.settled) throw new Error('a window snapshot is read once');
    this.settled = true;
    try {
      const bodies = await this.store.read(this.runs, this.tokens.length);
      const events: TimedEvent<T>[] = new Array<TimedEvent<T>>(bodies.length);
      for (let i = 0; i < bodies.length; i++) events[i] = decodeEventBody(bodies[i], this.tokens[i]);
      return events;
    } finally {
      this.owner.unref();
    }
  }

  discard(): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.unref();
  }
}

class RocksEventBuffer<T> implements EventBuffer<T> {
  private runs: Run[] = [];
  private tokens: T[] = [];
  /** The window (until disposed) plus every unread snapshot. */
  private refs = 1;
  private disposed = false;

  constructor(private readonly store: RocksDbStateStore) {}

  get length(): number {
    return this.tokens.length;
  }

  push(event: TimedEvent<T>): void {
    if (this.disposed) throw new Error('push to a disposed window buffer');
    let run = this.runs[this.runs.length - 1];
    if (run === undefined) {
      run = { id: this.store.newSegment(), length: 0 };
      this.runs.push(run);
    }
    this.store.put(run.id, run.length, event);
    run.length++;
    this.tokens.push(event.token);
  }

  absorb(other: EventBuffer<T>): void {
    if (!(other instanceof RocksEventBuffer) || (other as RocksEventBuffer<T>).store !== this.store) {
      throw new Error('cannot merge window buffers of different state stores');
    }
    const source = other as RocksEventBuffer<T>;
    if (source.refs !== 1) throw new Error('cannot merge a window buffer that has unread snapshots');
    // Later pushes extend the last absorbed run: the order stays "this buffer's events, then the other's, then new".
    for (const run of source.runs) this.runs.push(run);
    for (const token of source.tokens) this.tokens.push(token);
    source.runs = [];
    source.tokens = [];
  }

  snapshot(): EventsSnapshot<T> {
    this.refs++;
    return new RocksSnapshot<T>(this, this.store, this.runs.map((r) => ({ id: r.id, length: r.length })), this.tokens.slice());
  }

  take(): EventsSnapshot<T> {
    const taken = this.snapshot();
    this.dispose();
    return taken;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // The window sees no events any more; the database keeps them until every snapshot was read.
    this.tokens = [];
    this.unref();
  }

  unref(): void {
    if (--this.refs > 0) return;
    this.store.remove(this.runs);
    this.runs = [];
  }
}
