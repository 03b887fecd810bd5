// MEMORY state: a window's events are a plain array on the heap. Snapshots copy the array (a window kept for
// allowed lateness keeps growing after it was released); a window that is done hands its array over (`take`).

import type { TimedEvent } from '../message';
import type { EventBuffer, EventsSnapshot, StateStoreStatus, WindowStateStore } from './types';

/** What a disposed buffer holds: pushing to it is a bug, and throws. */
const DISPOSED: TimedEvent<never>[] = Object.freeze([]) as unknown as TimedEvent<never>[];

class MemorySnapshot<T> implements EventsSnapshot<T> {
  constructor(readonly events: ReadonlyArray<TimedEvent<T>>) {}

  get length(): number {
    return this.events.length;
  }

  read(): Promise<ReadonlyArray<TimedEvent<T>>> {
    return Promise.resolve(this.events);
  }

  discard(): void {
    // Nothing to free: the garbage collector owns the events.
  }
}

export class MemoryEventBuffer<T> implements EventBuffer<T> {
  private events: TimedEvent<T>[] = [];

  get length(): number {
    return this.events.length;
  }

  push(event: TimedEvent<T>): void {
    this.events.push(event);
  }

  absorb(other: EventBuffer<T>): void {
    if (!(other instanceof MemoryEventBuffer)) throw new Error('cannot merge window buffers of different state stores');
    const moved = (other as MemoryEventBuffer<T>).events;
    for (let i = 0; i < moved.length; i++) this.events.push(moved[i]);
    (other as MemoryEventBuffer<T>).events = [];
  }

  snapshot(): EventsSnapshot<T> {
    return new MemorySnapshot(this.events.slice());
  }

  take(): EventsSnapshot<T> {
    const taken = new MemorySnapshot(this.events);
    this.events = DISPOSED;
    return taken;
  }

  dispose(): void {
    this.events = DISPOSED;
  }
}

export class MemoryStateStore implements WindowStateStore {
  readonly type = 'MEMORY' as const;

  open(): Promise<void> {
    return Promise.resolve();
  }

  buffer<T>(): EventBuffer<T> {
    return new MemoryEventBuffer<T>();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  status(): StateStoreStatus {
    return { type: 'MEMORY', storedEvents: 0, bytesWritten: 0 };
  }
}
