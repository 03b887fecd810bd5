// Keyed state behind a small interface, so that a disk-backed store (RocksDB, as processor/state does for the SRP
// windows) can replace the heap later without touching the operators. Today every operator's state is in memory and
// lost on restart — which at-least-once tolerates for windows (their rows were never acknowledged, so the broker
// redelivers them and the windows are rebuilt) but not fully for joins (see README: join state and restarts).
export interface KeyedState<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  /** Entries in insertion order; deleting the current entry while iterating is allowed. */
  entries(): IterableIterator<[K, V]>;
  values(): IterableIterator<V>;
  keys(): IterableIterator<K>;
  readonly size: number;
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
}

export const memoryState: StateBackend = {
  create: <K, V>() => new MemoryKeyedState<K, V>(),
};

/** The heap store: a Map. */
export class MemoryKeyedState<K, V> implements KeyedState<K, V> {
  private readonly map = new Map<K, V>();
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
