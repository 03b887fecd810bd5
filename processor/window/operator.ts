// Event-time windows: tumbling, sliding and session, optionally per key, over events carrying an opaque token T.
// The runtime passes ack tokens: a token comes back in exactly one release — the last release of the last window
// holding its event — so the input is acknowledged only after every window containing it was emitted and confirmed.
//
// Lateness (fixing the original, where "late" was inverted and lateness 0 discarded events of still-open windows):
//   - an event is LATE when its time is below the watermark; otherwise ON_TIME;
//   - it is still ADDED to its window while that window has not been emitted, whatever its lateness;
//   - once a window was emitted (its end <= watermark), it stays updatable until end + allowedLateness <= watermark:
//     a late event then UPDATES it and the whole window is re-emitted (`update: true`, upsert semantics) — except in
//     SIDE_CHANNEL mode, where the event goes to the side channel instead;
//   - beyond end + allowedLateness the event is TOO_LATE: SIDE_CHANNEL mode sends it to the side channel, DROP and
//     UPSERT drop it.
//   UPSERT additionally keeps idle-released (partial) windows, so their later events re-emit the whole window.
// State is bounded by `maxState` buffered event references: when full, `add` refuses with a reason (nothing is lost:
// the runtime does not ack the refused message).
// Two storage modes: by default a window keeps its events (a UDF receives them at release); with an `aggregator`
// it folds each event into an accumulator at `add` and keeps only the tokens (in-process aggregation, no event
// retention). Kept events go to a buffer of the `store` (processor/state): on the heap (MEMORY, the default), or on
// disk (ROCKSDB) — the operator's bookkeeping stays in memory either way, and `add` never waits for the store.

import type { TimedEvent } from '../message';
import { MemoryStateStore } from '../state/memory';
import type { EventBuffer, EventsSnapshot, WindowStateStore } from '../state/types';
import type { LateEventMode, WindowSettings, WindowType } from './settings';

/** What a window holds: a message placed in event time (the message model's `TimedEvent`). */
export type WindowEvent<T> = TimedEvent<T>;

export type AddResult =
  | { status: 'ON_TIME' | 'LATE'; action: 'ADDED' | 'UPDATED' }
  | { status: 'LATE' | 'TOO_LATE'; action: 'SIDE_CHANNEL' | 'DROPPED'; reason: string }
  | { status: 'REFUSED'; action: 'REFUSED'; reason: string };

/** Incremental aggregation: the window keeps `create()`'s accumulator, folded with `add` per event. */
export interface WindowAggregator<T, A> {
  create(): A;
  add(accumulator: A, event: WindowEvent<T>): A;
  /** Needed for SESSION windows (merging sessions merges their accumulators). */
  merge?(a: A, b: A): A;
}

export interface WindowRelease<T, A = unknown> {
  start: number;
  end: number;
  key: string | undefined;
  /** Every event of the window (for an update: including those emitted before), when the store keeps events on the
   *  heap (MEMORY). Empty with an aggregator, and with a store that keeps them elsewhere (ROCKSDB): then read them
   *  with `readReleaseEvents`. */
  events: ReadonlyArray<WindowEvent<T>>;
  /** Buffer mode: the store's snapshot of the events. Read (or discard) it exactly once: `readReleaseEvents`. */
  stored?: EventsSnapshot<T>;
  /** With an aggregator: the window's accumulator. */
  aggregate?: A;
  /** How many events the window holds (also with an aggregator). */
  count: number;
  /** Tokens to acknowledge once this release's outputs are confirmed. */
  tokens: T[];
  /** Released by the idle timeout before the watermark passed the window end. */
  partial: boolean;
  /** Re-emission of a window already emitted (UPSERT of late events). */
  update: boolean;
}

export interface OpenWindowState {
  start: number;
  end: number;
  key: string | null;
  events: number;
  /** Events whose tokens wait for this window. */
  pending: number;
  emitted: boolean;
  idleMs: number;
  /** Why this window has not closed yet. */
  waitingFor: string;
}

export interface WindowOperatorState {
  type: WindowType;
  watermark: number | null;
  openWindows: number;
  bufferedEvents: number;
  maxState: number;
  windows: OpenWindowState[];
  /** How many windows were left out of `windows` (the listing is capped). */
  omitted: number;
}

/** Sliding windows share an event between windows: its token is released by the last of them. */
interface SharedToken<T> {
  token: T;
  refs: number;
}

interface WindowState<T, A> {
  start: number;
  end: number;
  key: string | undefined;
  /** Buffer mode: the events (kept after emission unless SIDE_CHANNEL). Undefined with an aggregator. */
  events: EventBuffer<T> | undefined;
  accumulator: A | undefined;
  /** Events in the window, over its lifetime. */
  count: number;
  /** Tokens (or shared tokens, sliding) not released yet. */
  pending: Array<T | SharedToken<T>>;
  /** How much of `buffered` this window accounts for. */
  held: number;
  lastAddedAt: number;
  /** Emitted at least once; kept while within allowed lateness. */
  emitted: boolean;
}

// Shared results for the common outcomes: `add` allocates nothing for them on the hot path.
const ON_TIME_ADDED: AddResult = Object.freeze({ status: 'ON_TIME', action: 'ADDED' });
const LATE_ADDED: AddResult = Object.freeze({ status: 'LATE', action: 'ADDED' });
const ON_TIME_UPDATED: AddResult = Object.freeze({ status: 'ON_TIME', action: 'UPDATED' });
const LATE_UPDATED: AddResult = Object.freeze({ status: 'LATE', action: 'UPDATED' });

function accepted(late: boolean, updated: boolean): AddResult {
  if (updated) return late ? LATE_UPDATED : ON_TIME_UPDATED;
  return late ? LATE_ADDED : ON_TIME_ADDED;
}

/** The open windows of one key (tumbling/sliding): usually one or two. */
interface KeyWindows<T, A> {
  states: WindowState<T, A>[];
  /** Releases seen while empty: an unused key is forgotten after two. */
  emptySweeps: number;
}

const NO_EVENTS: never[] = [];

/** The events of a release, wherever the store keeps them; frees the store's copy. Call once per release. */
export function readReleaseEvents<T>(release: WindowRelease<T, unknown>): Promise<ReadonlyArray<WindowEvent<T>>> {
  return release.stored ? release.stored.read() : Promise.resolve(release.events);
}

/** A release whose events will not be read (e.g. the processor is stopping): lets the store free them. */
export function discardReleaseEvents(release: WindowRelease<unknown, unknown>): void {
  release.stored?.discard();
}

/**
 * The aligned start of the window holding `timestamp`: timestamp - (timestamp mod size), with floor semantics for
 * negative times. Division instead of `%`: epoch milliseconds are not small integers, and double modulo is slow.
 */
function alignedStart(timestamp: number, size: number): number {
  let start = Math.floor(timestamp / size) * size;
  // Correct the rare rounding of the division near a boundary.
  if (start > timestamp) start -= size;
  else if (timestamp - start >= size) start += size;
  return start;
}

export class WindowOperator<T, A = never> {
  readonly type: WindowType;
  readonly maxState: number;
  private readonly size: number;
  private readonly slide: number;
  private readonly gap: number;
  private readonly lateness: number;
  private readonly mode: LateEventMode;
  private readonly idleTimeoutMs: number | undefined;
  private readonly aggregator: WindowAggregator<T, A> | undefined;
  private readonly store: WindowStateStore;
  /** Buffer mode keeps events after emission only to re-emit them (not in SIDE_CHANNEL mode). */
  private readonly keepEmitted: boolean;

  private currentWatermark = Number.NEGATIVE_INFINITY;
  /** Tumbling/sliding: key → its open windows. A stable map of active keys keeps the hot path to one lookup. */
  private readonly byKey = new Map<string | undefined, KeyWindows<T, A>>();
  /** Session: key → open sessions of that key. */
  private readonly sessions = new Map<string | undefined, WindowState<T, A>[]>();
  private buffered = 0;
  /** Windows held (open, or emitted and kept for lateness); maintained incrementally: gauges read it per event. */
  private open = 0;
  /** Lower bound of the earliest watermark at which `advance` has something to do. */
  private nextDue = Number.POSITIVE_INFINITY;

  constructor(settings: WindowSettings, options: { aggregator?: WindowAggregator<T, A>; store?: WindowStateStore } = {}) {
    this.type = settings.type;
    this.size = settings.sizeMs;
    this.slide = settings.slideMs || settings.sizeMs;
    this.gap = settings.gapMs;
    this.lateness = settings.allowedLatenessMs;
    this.mode = settings.lateEventMode;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.maxState = settings.maxState;
    this.aggregator = options.aggregator;
    this.store = options.store ?? new MemoryStateStore();
    if (this.aggregator && this.type === 'SESSION' && !this.aggregator.merge) {
      throw new Error('a SESSION window with an aggregator needs aggregator.merge');
    }
    this.keepEmitted = this.mode !== 'SIDE_CHANNEL' && !this.aggregator;
  }

  get watermark(): number {
    return this.currentWatermark;
  }

  /** Buffered event references over all windows (a sliding-window event counts once per window). */
  get bufferedEvents(): number {
    return this.buffered;
  }

  get openWindows(): number {
    return this.open;
  }

  /** Adds an event at wall-clock time `now` (used for idle release). */
  add(event: WindowEvent<T>, now: number = Date.now()): AddResult {
    const late = event.timestamp < this.currentWatermark;
    if (this.type === 'TUMBLING') {
      if (this.buffered >= this.maxState) return this.refused();
      const start = alignedStart(event.timestamp, this.size);
      return this.addToWindow(start, start + this.size, event, event.token, now, late);
    }
    if (this.type === 'SLIDING') return this.addSliding(event, now, late);
    return this.addSession(event, now, late);
  }

  private refused(): AddResult {
    return {
      status: 'REFUSED',
      action: 'REFUSED',
      reason: `window state is full: ${this.buffered} buffered events reached srp.window.maxState=${this.maxState}`,
    };
  }

  private tooLate(end: number): AddResult {
    return {
      status: 'TOO_LATE',
      action: this.mode === 'SIDE_CHANNEL' ? 'SIDE_CHANNEL' : 'DROPPED',
      reason: `window ending at ${end} is past its allowed lateness (${this.lateness} ms): watermark ${this.currentWatermark}`,
    };
  }

  private newState(start: number, end: number, key: string | undefined, now: number): WindowState<T, A> {
    return {
      start,
      end,
      key,
      events: this.aggregator ? undefined : this.store.buffer<T>(),
      accumulator: this.aggregator ? this.aggregator.create() : undefined,
      count: 0,
      pending: [],
      held: 0,
      lastAddedAt: now,
      emitted: false,
    };
  }

  private put(state: WindowState<T, A>, event: WindowEvent<T>, holder: T | SharedToken<T>, now: number): void {
    if (this.aggregator) state.accumulator = this.aggregator.add(state.accumulator as A, event);
    else (state.events ??= this.store.buffer<T>()).push(event);
    state.pending.push(holder);
    state.count++;
    state.held++;
    state.lastAddedAt = now;
    this.buffered++;
  }

  private addToWindow(
    start: number,
    end: number,
    event: WindowEvent<T>,
    holder: T | SharedToken<T>,
    now: number,
    late: boolean,
  ): AddResult {
    if (end + this.lateness <= this.currentWatermark) return this.tooLate(end);
    const key = event.key;
    let windows = this.byKey.get(key);
    if (windows === undefined) {
      windows = { states: [], emptySweeps: 0 };
      this.byKey.set(key, windows);
    }
    const states = windows.states;
    let state: WindowState<T, A> | undefined;
    for (let i = 0; i < states.length; i++) {
      if (states[i].start === start) {
        state = states[i];
        break;
      }
    }
    if (state === undefined) {
      state = this.newState(start, end, key, now);
      states.push(state);
      this.open++;
      windows.emptySweeps = 0;
    } else if (state.emitted && this.mode === 'SIDE_CHANNEL') {
      return { status: 'LATE', action: 'SIDE_CHANNEL', reason: `window [${start}, ${end}) was already emitted` };
    }
    this.put(state, event, holder, now);
    if (end < this.nextDue) this.nextDue = end;
    return accepted(late, state.emitted);
  }

  private addSliding(event: WindowEvent<T>, now: number, late: boolean): AddResult {
    const lastStart = alignedStart(event.timestamp, this.slide);
    const windows = Math.ceil(this.size / this.slide);
    if (this.buffered + windows > this.maxState) return this.refused();
    const shared: SharedToken<T> = { token: event.token, refs: 0 };
    let updated = false;
    let rejection: AddResult | undefined;
    for (let start = lastStart; start > event.timestamp - this.size; start -= this.slide) {
      const result = this.addToWindow(start, start + this.size, event, shared, now, late);
      if (result.action === 'ADDED' || result.action === 'UPDATED') {
        shared.refs++;
        if (result.action === 'UPDATED') updated = true;
      } else if (!rejection || result.status === 'LATE') {
        rejection = result;
      }
    }
    if (shared.refs > 0) return accepted(late, updated);
    return rejection ?? this.tooLate(lastStart + this.size);
  }

  private addSession(event: WindowEvent<T>, now: number, late: boolean): AddResult {
    const start = event.timestamp;
    const end = start + this.gap;
    if (end + this.lateness <= this.currentWatermark) return this.tooLate(end);
    if (this.buffered >= this.maxState) return this.refused();
    let list = this.sessions.get(event.key);
    if (list === undefined) {
      list = [];
      this.sessions.set(event.key, list);
    }
    // Merge every open session of this key that overlaps [start, end) into the oldest of them.
    let merged: WindowState<T, A> | undefined;
    for (let i = 0; i < list.length; i++) {
      const session = list[i];
      if (!(session.start < end && start < session.end)) continue;
      if (!merged) {
        merged = session;
        continue;
      }
      merged.start = Math.min(merged.start, session.start);
      merged.end = Math.max(merged.end, session.end);
      merged.lastAddedAt = Math.max(merged.lastAddedAt, session.lastAddedAt);
      if (session.events) {
        if (merged.events) {
          merged.events.absorb(session.events);
          session.events.dispose();
        } else {
          merged.events = session.events;
        }
        session.events = undefined;
      }
      for (const holder of session.pending) merged.pending.push(holder);
      if (this.aggregator?.merge) merged.accumulator = this.aggregator.merge(merged.accumulator as A, session.accumulator as A);
      merged.count += session.count;
      merged.held += session.held;
      list.splice(i, 1);
      this.open--;
      i--;
    }
    if (!merged) {
      merged = this.newState(start, end, event.key, now);
      list.push(merged);
      this.open++;
    }
    merged.start = Math.min(merged.start, start);
    merged.end = Math.max(merged.end, end);
    this.put(merged, event, event.token, now);
    if (merged.end < this.nextDue) this.nextDue = merged.end;
    return accepted(late, false);
  }

  /**
   * Moves the watermark (never back) and releases every window whose end <= watermark, ordered by end then start.
   * Emitted windows past end + allowedLateness are purged.
   */
  advance(watermark: number): WindowRelease<T, A>[] {
    if (watermark > this.currentWatermark) this.currentWatermark = watermark;
    if (this.currentWatermark < this.nextDue) return [];
    const wm = this.currentWatermark;
    const releases: WindowRelease<T, A>[] = [];
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [key, windows] of this.byKey) {
      const states = windows.states;
      let kept = 0;
      for (let i = 0; i < states.length; i++) {
        const state = states[i];
        if (state.end > wm) {
          if (state.end < nextDue) nextDue = state.end;
          states[kept++] = state;
          continue;
        }
        const purge = state.end + this.lateness <= wm;
        const eventCount = state.events === undefined ? 0 : state.events.length;
        // The release takes the events when the window will not need them again.
        if (state.pending.length > 0) releases.push(this.release(state, false, purge || !this.keepEmitted));
        if (purge) {
          this.buffered -= state.held;
          state.held = 0;
          this.open--;
          this.disposeEvents(state);
          continue;
        }
        if (!this.keepEmitted && eventCount > 0) {
          // Only a marker is needed to recognise late events of an emitted window.
          this.buffered -= eventCount;
          state.held -= eventCount;
          this.disposeEvents(state);
        }
        if (state.end + this.lateness < nextDue) nextDue = state.end + this.lateness;
        states[kept++] = state;
      }
      states.length = kept;
      if (kept === 0 && ++windows.emptySweeps >= 2) this.byKey.delete(key);
    }
    for (const [key, list] of this.sessions) {
      for (let i = list.length - 1; i >= 0; i--) {
        const session = list[i];
        if (session.end <= wm) {
          releases.push(this.release(session, false, true));
          this.buffered -= session.held;
          this.disposeEvents(session);
          list.splice(i, 1);
          this.open--;
        } else if (session.end < nextDue) {
          nextDue = session.end;
        }
      }
      if (list.length === 0) this.sessions.delete(key);
    }
    this.nextDue = nextDue;
    if (releases.length > 1) releases.sort(byEndThenStart);
    return releases;
  }

  /**
   * Releases, as partial, windows that received no event for `srp.window.idle.timeout` (wall clock), so a stalled
   * watermark (an idle input) does not hold results back forever. No-op without an idle timeout.
   */
  releaseIdle(now: number): WindowRelease<T, A>[] {
    const timeout = this.idleTimeoutMs;
    if (timeout === undefined) return [];
    const releases: WindowRelease<T, A>[] = [];
    for (const windows of this.byKey.values()) {
      const states = windows.states;
      let kept = 0;
      for (let i = 0; i < states.length; i++) {
        const state = states[i];
        if (state.pending.length === 0 || now - state.lastAddedAt < timeout) {
          states[kept++] = state;
          continue;
        }
        releases.push(this.release(state, true, this.mode !== 'UPSERT'));
        if (this.mode === 'UPSERT') {
          states[kept++] = state;
        } else {
          // Later events of this window start a continuation window (emitted on its own).
          this.buffered -= state.held;
          this.open--;
          this.disposeEvents(state);
        }
      }
      states.length = kept;
    }
    for (const [key, list] of this.sessions) {
      for (let i = list.length - 1; i >= 0; i--) {
        const session = list[i];
        if (now - session.lastAddedAt < timeout) continue;
        releases.push(this.release(session, true, true));
        this.buffered -= session.held;
        this.disposeEvents(session);
        list.splice(i, 1);
        this.open--;
      }
      if (list.length === 0) this.sessions.delete(key);
    }
    releases.sort(byEndThenStart);
    return releases;
  }

  /** `final`: the window will not use its events again, so the release takes them instead of a snapshot. */
  private release(state: WindowState<T, A>, partial: boolean, final: boolean): WindowRelease<T, A> {
    const pending = state.pending;
    let tokens: T[];
    if (this.type === 'SLIDING') {
      tokens = [];
      for (const holder of pending as SharedToken<T>[]) if (--holder.refs === 0) tokens.push(holder.token);
    } else {
      tokens = pending as T[];
    }
    state.pending = [];
    if (this.aggregator) {
      // Only tokens were held: they are handed over now.
      this.buffered -= pending.length;
      state.held -= pending.length;
    }
    const update = state.emitted;
    state.emitted = true;
    // A window kept for re-emission keeps growing after this release: it gets a snapshot.
    let stored: EventsSnapshot<T> | undefined;
    if (state.events !== undefined) {
      stored = final ? state.events.take() : state.events.snapshot();
      if (final) state.events = undefined;
    }
    return {
      start: state.start,
      end: state.end,
      key: state.key,
      events: stored?.events ?? NO_EVENTS,
      stored,
      aggregate: this.aggregator ? (state.accumulator as A) : undefined,
      count: state.count,
      tokens,
      partial,
      update,
    };
  }

  /** The window no longer needs its events (its releases hold snapshots of what they need). */
  private disposeEvents(state: WindowState<T, A>): void {
    state.events?.dispose();
    state.events = undefined;
  }

  /** For /debug/state: every open window (capped at `limit`) and why it has not closed. */
  describe(now: number, limit = 100): WindowOperatorState {
    const all: WindowState<T, A>[] = [];
    for (const windows of this.byKey.values()) all.push(...windows.states);
    for (const list of this.sessions.values()) all.push(...list);
    all.sort(byEndThenStart);
    const wm = this.currentWatermark;
    const windows = all.slice(0, limit).map((state) => ({
      start: state.start,
      end: state.end,
      key: state.key ?? null,
      events: state.count,
      pending: state.pending.length,
      emitted: state.emitted,
      idleMs: now - state.lastAddedAt,
      waitingFor: this.explain(state, now),
    }));
    return {
      type: this.type,
      watermark: Number.isFinite(wm) ? wm : null,
      openWindows: all.length,
      bufferedEvents: this.buffered,
      maxState: this.maxState,
      windows,
      omitted: Math.max(0, all.length - limit),
    };
  }

  private explain(state: WindowState<T, A>, now: number): string {
    const wm = this.currentWatermark;
    if (state.emitted && state.end <= wm) {
      return `emitted; kept for allowed lateness until the watermark reaches ${state.end + this.lateness} (now ${wm})`;
    }
    const parts: string[] = [];
    if (!Number.isFinite(wm)) parts.push(`no watermark yet: closes when the watermark reaches its end ${state.end}`);
    else parts.push(`watermark ${wm} has not reached the window end ${state.end} (${state.end - wm} ms to go)`);
    if (this.idleTimeoutMs !== undefined) {
      parts.push(`idle release (partial) in ${Math.max(0, this.idleTimeoutMs - (now - state.lastAddedAt))} ms if no event arrives`);
    } else {
      parts.push('no srp.window.idle.timeout: an idle input keeps it open');
    }
    return parts.join('; ');
  }
}

function byEndThenStart(a: { end: number; start: number }, b: { end: number; start: number }): number {
  return a.end - b.end || a.start - b.start;
}
