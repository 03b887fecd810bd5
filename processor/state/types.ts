// Where the window operator keeps the events of its open windows. The operator keeps the bookkeeping (window bounds,
// tokens, counts) in memory and hands each window's events to an `EventBuffer` from the configured store:
//   MEMORY  — the events stay on the heap (the default, fastest);
//   ROCKSDB — payload, headers and event time go to a RocksDB directory of this replica; only the token (the
//             acknowledgement handle) of each event stays in memory, so window state can be far larger than memory.
// Buffers are written synchronously (the operator's hot path never awaits) and read asynchronously at release.

import type { TimedEvent } from '../message';

export type { StateType } from '../../crds/window-state';
import type { StateType } from '../../crds/window-state';

export interface WindowStateStore {
  readonly type: StateType;
  /** Must resolve before the first buffer is used. ROCKSDB starts EMPTY: whatever a previous run left is deleted,
   *  because its events were never acknowledged and the brokers redeliver them (keeping both would count twice). */
  open(): Promise<void>;
  /** A new, empty buffer for one window's events. */
  buffer<T>(): EventBuffer<T>;
  /** Waits for pending writes, then closes. Buffers must not be used afterwards. */
  close(): Promise<void>;
  /** For /debug/state and readiness. */
  status(): StateStoreStatus;
}

export interface StateStoreStatus {
  type: StateType;
  /** ROCKSDB: the database directory. */
  location?: string;
  /** Events whose bodies the store holds outside the heap (written, not yet deleted). 0 for MEMORY. */
  storedEvents: number;
  /** Bytes of event bodies written since open. */
  bytesWritten: number;
  /** The first I/O error: the store no longer works (releases fail; their events stay unacknowledged). */
  error?: string;
}

/** The events of one window, in the order they were pushed (absorbed buffers after the absorbing one's). */
export interface EventBuffer<T> {
  readonly length: number;
  push(event: TimedEvent<T>): void;
  /** Appends every event of `other` (a buffer of the same store without unread snapshots); `other` ends empty. */
  absorb(other: EventBuffer<T>): void;
  /** The events held now, frozen: later pushes and `dispose` do not change what the snapshot reads. */
  snapshot(): EventsSnapshot<T>;
  /** `snapshot` and `dispose` in one step, for a window that is done (MEMORY hands over its array, no copy). */
  take(): EventsSnapshot<T>;
  /** The window is gone: the store may free the events once every snapshot was read or discarded. */
  dispose(): void;
}

export interface EventsSnapshot<T> {
  readonly length: number;
  /** Set when the events are on the heap (MEMORY): usable synchronously, `read` resolves to the same array. */
  readonly events: ReadonlyArray<TimedEvent<T>> | undefined;
  /** Reads the events (call once; ROCKSDB: `value` is not kept, parse the payload). */
  read(): Promise<ReadonlyArray<TimedEvent<T>>>;
  /** Not going to read: lets the store free the events. */
  discard(): void;
}
