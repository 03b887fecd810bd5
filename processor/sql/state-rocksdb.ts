// ROCKSDB state for the SQL engine: every store keeps its heap copy (the engine stays synchronous) and, for the
// operators that must outlive a restart (joins), a durable copy in `<state dir>/sql.rocksdb`, read back at start.
//
// Unlike the SRP window store (processor/state/rocksdb.ts: a spill area emptied at start, its events all
// unacknowledged), this database is reopened: a record is written only once its row was acknowledged, i.e. once the
// broker will not deliver the row again — except in the short gap between the record landing on disk and the broker
// taking the acknowledgement (Kafka commits every 200 ms). Records carry their row's origin (partition:offset) so the
// operators recognise such a redelivery and do not join the row twice.
//
// Records of a store no statement claims any more (a changed query: store names carry a fingerprint of the plan) are
// deleted at open. RocksDB's LOCK file refuses a second process on the same directory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AbstractIterator } from 'abstract-leveldown';
import rocksdb from 'rocksdb';
import { OrderedBatchWriter, type WriteBatch } from '../ordered-batch-writer';
import { type DurableRows, type KeyedState, MemoryKeyedState, type StateBackend } from './state';

type Database = ReturnType<typeof rocksdb>;

/** The database directory inside a replica's state directory (beside the SRP windows' `windows.rocksdb`). */
export const SQL_ROCKSDB_DIR_NAME = 'sql.rocksdb';

const ID_BYTES = 6;

export interface RocksDbSqlStateOptions {
  /** The replica's state directory; the backend owns `<dir>/sql.rocksdb`. */
  dir: string;
  /** Told about the first I/O error (nothing is written after it; see `problem()`). */
  onError?: (err: Error) => void;
}

type Restore = (records: ReadonlyArray<{ id: number; value: unknown }>) => void;

/** Key: the store name, a 0 byte, the id in 6 bytes big-endian — a store's records are one sorted run, in id order. */
function recordKey(prefix: Buffer, id: number): Buffer {
  const key = Buffer.allocUnsafe(prefix.length + ID_BYTES);
  prefix.copy(key, 0);
  key.writeUIntBE(id, prefix.length, ID_BYTES);
  return key;
}

function callback(resolve: () => void, reject: (err: Error) => void): (err: Error | undefined | null) => void {
  return (err) => (err ? reject(err) : resolve());
}

class RocksRows implements DurableRows {
  readonly prefix: Buffer;
  next = 1;
  private restore: Restore | undefined;

  constructor(private readonly backend: RocksDbSqlState, name: string) {
    this.prefix = Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0])]);
  }

  onRestore(restore: Restore): void {
    this.restore = restore;
  }

  restored(records: Array<{ id: number; value: unknown }>): void {
    if (records.length > 0) this.next = records[records.length - 1].id + 1;
    this.restore?.(records);
  }

  nextId(): number {
    return this.next++;
  }

  put(id: number, value: unknown, then?: () => void): void {
    this.backend.write(recordKey(this.prefix, id), Buffer.from(JSON.stringify(value)), then);
  }

  delete(id: number): void {
    this.backend.write(recordKey(this.prefix, id), undefined);
  }

  origin(): string | undefined {
    return this.backend.currentOrigin;
  }
}

export class RocksDbSqlState implements StateBackend {
  readonly location: string;
  currentOrigin: string | undefined;
  private db: Database | undefined;
  private readonly stores = new Map<string, RocksRows>();
  private readonly writer = new OrderedBatchWriter(() => this.newBatch(), (err) => this.fail(err));
  private failure: Error | undefined;
  private closed = false;
  private recordsRestored = 0;
  private recordsDropped = 0;
  private puts = 0;
  private deletes = 0;
  private bytesWritten = 0;

  constructor(private readonly options: RocksDbSqlStateOptions) {
    this.location = join(options.dir, SQL_ROCKSDB_DIR_NAME);
  }

  create<K, V>(name: string): KeyedState<K, V> {
    if (this.stores.has(name)) throw new Error(`state store ${name} created twice`);
    const rows = new RocksRows(this, name);
    this.stores.set(name, rows);
    return new MemoryKeyedState<K, V>(rows);
  }

  setOrigin(origin: string | undefined): void {
    this.currentOrigin = origin;
  }

  /** Opens the database (kept from the previous run), hands every store its records, deletes unclaimed ones. */
  async open(): Promise<void> {
    mkdirSync(this.options.dir, { recursive: true });
    const db = rocksdb(this.location);
    try {
      await new Promise<void>((resolve, reject) => db.open({ createIfMissing: true }, callback(resolve, reject)));
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      const hint = /lock/i.test(text) ? ' (another processor uses this directory: every replica needs its own state directory)' : '';
      throw new Error(`cannot open the SQL state store ${this.location}: ${text}${hint}`);
    }
    this.db = db;
    const byName = new Map<string, Array<{ id: number; value: unknown }>>();
    const stale: Buffer[] = [];
    await scan(db, (key, value) => {
      const at = key.length - ID_BYTES - 1;
      const name = at > 0 && key[at] === 0 ? key.subarray(0, at).toString('utf8') : undefined;
      if (name === undefined || !this.stores.has(name)) {
        stale.push(key);
        return;
      }
      let records = byName.get(name);
      if (!records) byName.set(name, (records = []));
      records.push({ id: key.readUIntBE(at + 1, ID_BYTES), value: JSON.parse(value.toString('utf8')) as unknown });
    });
    for (const key of stale) this.write(key, undefined);
    this.recordsDropped = stale.length;
    for (const [name, rows] of this.stores) {
      const records = byName.get(name) ?? [];
      this.recordsRestored += records.length;
      rows.restored(records);
    }
    await this.writer.flush();
  }

  async close(): Promise<void> {
    const db = this.db;
    if (!db) return;
    await this.writer.flush();
    this.db = undefined;
    this.closed = true;
    await new Promise<void>((resolve, reject) => db.close(callback(resolve, reject)));
  }

  problem(): string | undefined {
    return this.failure ? `SQL state store (ROCKSDB) failed: ${this.failure.message}` : undefined;
  }

  describe(): Record<string, unknown> {
    return {
      type: 'ROCKSDB',
      location: this.location,
      recordsRestored: this.recordsRestored,
      staleRecordsDropped: this.recordsDropped,
      puts: this.puts,
      deletes: this.deletes,
      bytesWritten: this.bytesWritten,
      ...(this.failure ? { error: this.failure.message } : {}),
    };
  }

  /** A put (`value`) or delete (`undefined`) in the pending batch; `then` runs once the batch is on disk. */
  write(key: Buffer, value: Buffer | undefined, then?: () => void): void {
    // Closed (shutdown) or failed: nothing is written, `then` never runs — the row stays unacknowledged.
    if (this.closed || this.failure) return;
    if (value === undefined) {
      this.writer.del(key, then);
      this.deletes++;
    } else {
      this.writer.put(key, value, then);
      this.puts++;
      this.bytesWritten += value.length;
    }
  }

  private newBatch(): WriteBatch {
    if (!this.db) throw new Error('the SQL state store is not open');
    return this.db.batch() as WriteBatch;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.options.onError?.(err);
  }
}

/** Every record of the database, in key order. */
async function scan(db: Database, each: (key: Buffer, value: Buffer) => void): Promise<void> {
  const iterator = db.iterator({ keyAsBuffer: true, valueAsBuffer: true }) as AbstractIterator<Buffer, Buffer>;
  try {
    for (;;) {
      const entry = await new Promise<[Buffer, Buffer] | undefined>((resolve, reject) =>
        iterator.next((err, key, value) => (err ? reject(err) : resolve(key === undefined ? undefined : [key, value]))));
      if (!entry) return;
      each(entry[0], entry[1]);
    }
  } finally {
    await new Promise<void>((resolve, reject) => iterator.end(callback(resolve, reject)));
  }
}
