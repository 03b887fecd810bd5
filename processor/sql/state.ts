// Keyed state behind a small interface. The heap (a Map per store) is always the working copy: the engine is
// synchronous, a row is matched against state in the call that pushes it, and a disk read per row would make every
// push wait. With ROCKSDB (state-rocksdb.ts) a store also has a durable copy: operators whose state must outlive a
// restart (joins) write a record when a row is acknowledged and read the records back once, at start, before any row
// is pushed. Windows and Top-N keep only heap state: their rows are unacknowledged until the windows fired, so the
// broker redelivers them after a restart and they are rebuilt (README: state and restarts).
export interface KeyedState<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  /** Entries in insertion order; deleting the current entry while iterating is allowed. */
  entries(): IterableIterator<[K, V]>;
  values(): IterableIterator<V>;
  keys(): IterableIterator<K>;
  readonly size: number;
  /** The durable copy of this store (ROCKSDB), absent in memory. */
  readonly durable?: DurableRows;
}

/**
 * The durable copy of one store: records (JSON values) by id, written when the operator says (a row acknowledged),
 * read back once when the backend opens. Writes are batched; `then` runs once the record is on disk, so an operator
 * acknowledges a row only after its record is durable (a crash in between redelivers the row; `origin()` then
 * recognises it). After an I/O failure nothing is written and no `then` runs: rows stay unacknowledged.
 */
export interface DurableRows {
  /** Called once the backend opened, with the previous run's records in id order (none for a fresh store). */
  onRestore(restore: (records: ReadonlyArray<{ id: number; value: unknown }>) => void): void;
  /** A new record id, above every restored one. */
  nextId(): number;
  /** Writes or rewrites record `id`; `then` runs once it is on disk. */
  put(id: number, value: unknown, then?: () => void): void;
  delete(id: number): void;
  /** The identity of the input row being pushed (`<stream>\0<partition>:<offset>`), when its broker gives one. */
  origin(): string | undefined;
}

/** Rows kept by a join side: the sum of its per-key lists. */
export function rowsStored(state: KeyedState<unknown, readonly unknown[]>): number {
  let n = 0;
  for (const list of state.values()) n += list.length;
  return n;
}

/** Where operators get their state: one named store per operator and side (`s0.join.left`). */
export interface StateBackend {
  create<K, V>(name: string): KeyedState<K, V>;
  /** Opens the durable copy and restores every store from it (ROCKSDB); before the first row. */
  open?(): Promise<void>;
  /** Writes what is pending and closes. */
  close?(): Promise<void>;
  /** The identity of the input row being pushed, set by the engine for the duration of one synchronous push. */
  setOrigin?(origin: string | undefined): void;
  /** The first I/O failure, for /readyz. */
  problem?(): string | undefined;
  describe?(): Record<string, unknown>;
}

export const memoryState: StateBackend = {
  create: <K, V>() => new MemoryKeyedState<K, V>(),
};

/** The heap store: a Map (with its durable copy under ROCKSDB). */
export class MemoryKeyedState<K, V> implements KeyedState<K, V> {
  private readonly map = new Map<K, V>();
  readonly durable?: DurableRows;
  constructor(durable?: DurableRows) {
    if (durable !== undefined) this.durable = durable;
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    this.map.set(key, value);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
  get size(): number {
    return this.map.size;
  }
}

/** The key of a group / join side: the value itself for one column, else a string joining typed parts. */
export type KeyOf = (row: unknown[]) => unknown;

/** Builds the key function for `fields` of a row; returns `undefined` keys when any part is NULL and `nullIsNone`. */
export function keyFunction(fields: number[], nullIsNone = false): KeyOf {
  if (fields.length === 0) return () => '';
  if (fields.length === 1) {
    const f = fields[0];
    return nullIsNone ? (r) => (r[f] === null || r[f] === undefined ? undefined : r[f]) : (r) => (r[f] === undefined ? null : r[f]);
  }
  return (r) => {
    let key = '';
    for (let i = 0; i < fields.length; i++) {
      const v = r[fields[i]];
      if (v === null || v === undefined) {
        if (nullIsNone) return undefined;
        key += '\u0001n';
      } else {
        key += (typeof v === 'string' ? '\u0001s' : '\u0001') + String(v);
      }
    }
    return key;
  };
}
