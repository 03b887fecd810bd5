// The durable copy of one join side (ROCKSDB): an entry becomes a record once its row is acknowledged — once the
// join rows it produced on arrival were confirmed — and is deleted when it leaves the heap (TTL, watermark). At
// start the records come back as entries, so rows acknowledged before a restart keep matching later arrivals.
//
// Rows that are not yet acknowledged are not written: the broker delivers them again after a restart, and they are
// joined then, once. The one overlap — a record on disk whose acknowledgement the broker did not take before the
// crash (Kafka commits offsets every 200 ms) — is recognised by the row's origin (stream, partition, offset), kept in
// the record: such a row was fully handled by the previous run, so it is acknowledged and produces nothing.
import type { Done } from './operator';
import type { DurableRows } from './state';
import type { Row } from './values';

export interface DurableEntry {
  /** Record id, once written. */
  id?: number;
  /** Removed from the heap: not (or no longer) to be on disk. */
  gone?: boolean;
  origin?: string;
}

export class DurableSide<E extends DurableEntry> {
  /** Origins of the rows restored from the previous run. */
  private readonly restoredOrigins = new Set<string>();

  constructor(
    private readonly rows: DurableRows,
    private readonly encode: (entry: E) => unknown,
    decode: (value: unknown) => E,
    add: (entry: E) => void,
  ) {
    rows.onRestore((records) => {
      for (const { id, value } of records) {
        const entry = decode(value);
        entry.id = id;
        if (entry.origin !== undefined) this.restoredOrigins.add(entry.origin);
        add(entry);
      }
    });
  }

  /** The identity of the row being pushed. */
  origin(): string | undefined {
    return this.rows.origin();
  }

  /** Whether the row was handled by the previous run (its record survived; the broker redelivered it anyway). */
  handledBefore(origin: string | undefined): boolean {
    return origin !== undefined && this.restoredOrigins.has(origin);
  }

  /** `done`, run once the entry is on disk (at once when it left the heap meanwhile). */
  persistThen(entry: E, done: Done): Done {
    return () => {
      if (entry.gone) {
        done();
        return;
      }
      entry.id ??= this.rows.nextId();
      this.rows.put(entry.id, this.encode(entry), done);
    };
  }

  /** Writes a changed entry again (when it is on disk already). */
  rewrite(entry: E): void {
    if (entry.id !== undefined && !entry.gone) this.rows.put(entry.id, this.encode(entry));
  }

  /** The entry left the heap. */
  remove(entry: E): void {
    entry.gone = true;
    if (entry.id !== undefined) this.rows.delete(entry.id);
  }
}

/** The durable copy of a store, when the backend keeps one. */
export function durableSide<E extends DurableEntry>(
  rows: DurableRows | undefined,
  encode: (entry: E) => unknown,
  decode: (value: unknown) => E,
  add: (entry: E) => void,
): DurableSide<E> | undefined {
  return rows === undefined ? undefined : new DurableSide(rows, encode, decode, add);
}

/** The fields every operator's record has: the row, a time, the origin. */
export interface RowRecord {
  r: Row;
  t: number;
  o?: string;
}

/** A record read back, checked: one that is not a row record is an error naming the operator's state. */
export function readRecord<R extends RowRecord = RowRecord>(value: unknown, state: string): R {
  const record = value as Partial<R> | null;
  if (record === null || typeof record !== 'object' || !Array.isArray(record.r) || typeof record.t !== 'number') {
    throw new Error(`${state} state: a record on disk is not a row: ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  return record as R;
}

/** The record of an entry: its row, time and origin (when known). */
export function writeRecord(row: Row, time: number, origin: string | undefined): RowRecord {
  return origin === undefined ? { r: row, t: time } : { r: row, t: time, o: origin };
}
