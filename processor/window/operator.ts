// Event-time windows: tumbling, sliding and session, optionally per key, over events carrying an opaque token T.
// The runtime passes ack tokens: a token comes back in exactly one release — the last release of the last window
// holding its event — so the input is acknowledged only after every window containing it was emitted and confirmed.
//
// Lateness (fixing the original, where "late" was inverted and lateness 0 discarded events of still-open windows):
//   - an event is LATE when its time is below the watermark; otherwise ON_TIME;
//   - it is still ADDED to its window while that window has not been emitted, whatever its lateness;
//   - once a window was emitted (its end <= watermark), it stays updatable until end + allowedLateness <= watermark:
//     UPSERT re-opens it and re-emits the whole updated window (`update: true`); SIDE_CHANNEL sends the event to the
//     side channel; DROP drops it;
//   - beyond end + allowedLateness the event is TOO_LATE: SIDE_CHANNEL mode sends it to the side channel, else dropped.
// State is bounded by `maxState` buffered event references: when full, `add` refuses with a reason (nothing is lost:
// the runtime does not ack the refused message).

import type { LateEventMode, WindowSettings, WindowType } from './settings';

export interface WindowEvent<T> {
  /** Event time, epoch ms. */
  timestamp: number;
  /** Window key (per-key windows); undefined = one window for all events. */
  key?: string;
  payload: Buffer;
  headers: Record<string, string>;
  token: T;
  /** The parsed payload when the caller has it, so in-process aggregation does not parse twice. */
  value?: unknown;
}

export type AddResult =
  | { status: 'ON_TIME' | 'LATE'; action: 'ADDED' | 'UPDATED' }
  | { status: 'LATE' | 'TOO_LATE'; action: 'SIDE_CHANNEL' | 'DROPPED'; reason: string }
  | { status: 'REFUSED'; action: 'REFUSED'; reason: string };

export interface WindowRelease<T> {
  start: number;
  end: number;
  key: string | undefined;
  /** Every event of the window (for an update: including those emitted before). */
  events: ReadonlyArray<WindowEvent<T>>;
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

interface WindowState<T> {
  start: number;
  end: number;
  key: string | undefined;
  events: WindowEvent<T>[];
  /** events[pendingFrom..] have not been emitted yet (their tokens are held). */
  pendingFrom: number;
  lastAddedAt: number;
  /** Emitted at least once; kept while within allowed lateness. */
  emitted: boolean;
}

function floorMod(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}

export class WindowOperator<T> {
  readonly type: WindowType;
  private readonly size: number;
  private readonly slide: number;
  private readonly gap: number;
  private readonly lateness: number;
  private readonly mode: LateEventMode;
  private readonly idleTimeoutMs: number | undefined;
  readonly maxState: number;

  private currentWatermark = Number.NEGATIVE_INFINITY;
  /** Tumbling/sliding: start → key → window. */
  private readonly byStart = new Map<number, Map<string | undefined, WindowState<T>>>();
  /** Session: key → open sessions of that key. */
  private readonly sessions = new Map<string | undefined, WindowState<T>[]>();
  /** Sliding: how many windows still hold each event. */
  private readonly refs: Map<WindowEvent<T>, number> | undefined;
  private buffered = 0;
  /** Lower bound of the earliest time at which `advance` has something to do. */
  private nextDue = Number.POSITIVE_INFINITY;

  constructor(settings: WindowSettings) {
    this.type = settings.type;
    this.size = settings.sizeMs;
    this.slide = settings.slideMs || settings.sizeMs;
    this.gap = settings.gapMs;
    this.lateness = settings.allowedLatenessMs;
    this.mode = settings.lateEventMode;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.maxState = settings.maxState;
    if (this.type === 'SLIDING') this.refs = new Map();
  }

  get watermark(): number {
    return this.currentWatermark;
  }

  /** Buffered event references over all windows (a sliding-window event counts once per window). */
  get bufferedEvents(): number {
    return this.buffered;
  }

  get openWindows(): number {
    let count = 0;
    for (const byKey of this.byStart.values()) count += byKey.size;
    for (const list of this.sessions.values()) count += list.length;
    return count;
  }

  /** Adds an event at wall-clock time `now` (used for idle release). */
  add(event: WindowEvent<T>, now: number = Date.now()): AddResult {
    const late = event.timestamp < this.currentWatermark;
    if (this.type === 'TUMBLING') {
      const start = event.timestamp - floorMod(event.timestamp, this.size);
      if (this.buffered >= this.maxState) return this.refused();
      return this.addToWindow(start, start + this.size, event, now, late);
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

  private addToWindow(start: number, end: number, event: WindowEvent<T>, now: number, late: boolean): AddResult {
    if (end + this.lateness <= this.currentWatermark) return this.tooLate(end);
    let byKey = this.byStart.get(start);
    if (byKey === undefined) {
      byKey = new Map();
      this.byStart.set(start, byKey);
    }
    const key = event.key;
    let state = byKey.get(key);
    if (state === undefined) {
      state = { start, end, key, events: [], pendingFrom: 0, lastAddedAt: now, emitted: false };
      byKey.set(key, state);
      if (end < this.nextDue) this.nextDue = end;
    } else if (state.emitted && this.mode !== 'UPSERT') {
      return {
        status: 'LATE',
        action: this.mode === 'SIDE_CHANNEL' ? 'SIDE_CHANNEL' : 'DROPPED',
        reason: `window [${start}, ${end}) was already emitted`,
      };
    }
    state.events.push(event);
    state.lastAddedAt = now;
    this.buffered++;
    if (state.emitted) {
      if (end < this.nextDue) this.nextDue = end;
      return { status: late ? 'LATE' : 'ON_TIME', action: 'UPDATED' };
    }
    return { status: late ? 'LATE' : 'ON_TIME', action: 'ADDED' };
  }

  private addSliding(event: WindowEvent<T>, now: number, late: boolean): AddResult {
    const lastStart = event.timestamp - floorMod(event.timestamp, this.slide);
    const windows = Math.ceil(this.size / this.slide);
    if (this.buffered + windows > this.maxState) return this.refused();
    let added = 0;
    let updated = false;
    let rejection: AddResult | undefined;
    for (let start = lastStart; start > event.timestamp - this.size; start -= this.slide) {
      const result = this.addToWindow(start, start + this.size, event, now, late);
      if (result.action === 'ADDED' || result.action === 'UPDATED') {
        added++;
        if (result.action === 'UPDATED') updated = true;
      } else if (!rejection || result.status === 'LATE') {
        rejection = result;
      }
    }
    if (added > 0) {
      this.refs?.set(event, added);
      return { status: late ? 'LATE' : 'ON_TIME', action: updated ? 'UPDATED' : 'ADDED' };
    }
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
    let merged: WindowState<T> | undefined;
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
      for (let j = session.pendingFrom; j < session.events.length; j++) merged.events.push(session.events[j]);
      list.splice(i, 1);
      i--;
    }
    if (!merged) {
      merged = { start, end, key: event.key, events: [], pendingFrom: 0, lastAddedAt: now, emitted: false };
      list.push(merged);
    }
    merged.start = Math.min(merged.start, start);
    merged.end = Math.max(merged.end, end);
    merged.events.push(event);
    merged.lastAddedAt = now;
    this.buffered++;
    if (merged.end < this.nextDue) this.nextDue = merged.end;
    return { status: late ? 'LATE' : 'ON_TIME', action: 'ADDED' };
  }

  /**
   * Moves the watermark (never back) and releases every window whose end <= watermark, ordered by end then start.
   * Emitted windows past end + allowedLateness are purged.
   */
  advance(watermark: number): WindowRelease<T>[] {
    if (watermark > this.currentWatermark) this.currentWatermark = watermark;
    if (this.currentWatermark < this.nextDue) return [];
    const wm = this.currentWatermark;
    const releases: WindowRelease<T>[] = [];
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [start, byKey] of this.byStart) {
      for (const [key, state] of byKey) {
        if (state.end <= wm) {
          if (state.pendingFrom < state.events.length) releases.push(this.release(state, false));
          if (state.end + this.lateness <= wm) {
            this.buffered -= state.events.length;
            byKey.delete(key);
            continue;
          }
          if (this.mode !== 'UPSERT' && state.events.length > 0) {
            // Only a marker is needed to recognise late events of an emitted window.
            this.buffered -= state.events.length;
            state.events = [];
            state.pendingFrom = 0;
          }
          nextDue = Math.min(nextDue, state.end + this.lateness);
        } else {
          nextDue = Math.min(nextDue, state.end);
        }
      }
      if (byKey.size === 0) this.byStart.delete(start);
    }
    for (const [key, list] of this.sessions) {
      for (let i = list.length - 1; i >= 0; i--) {
        const session = list[i];
        if (session.end <= wm) {
          releases.push(this.release(session, false));
          this.buffered -= session.events.length;
          list.splice(i, 1);
        } else {
          nextDue = Math.min(nextDue, session.end);
        }
      }
      if (list.length === 0) this.sessions.delete(key);
    }
    this.nextDue = nextDue;
    if (releases.length > 1) releases.sort((a, b) => a.end - b.end || a.start - b.start);
    return releases;
  }

  /**
   * Releases, as partial, windows that received no event for `srp.window.idle.timeout` (wall clock), so a stalled
   * watermark (an idle input) does not hold results back forever. No-op without an idle timeout.
   */
  releaseIdle(now: number): WindowRelease<T>[] {
    const timeout = this.idleTimeoutMs;
    if (timeout === undefined) return [];
    const releases: WindowRelease<T>[] = [];
    for (const [start, byKey] of this.byStart) {
      for (const [key, state] of byKey) {
        if (state.pendingFrom >= state.events.length || now - state.lastAddedAt < timeout) continue;
        releases.push(this.release(state, true));
        if (this.mode !== 'UPSERT') {
          // Later events of this window start a continuation window (emitted on its own).
          this.buffered -= state.events.length;
          byKey.delete(key);
        }
      }
      if (byKey.size === 0) this.byStart.delete(start);
    }
    for (const [key, list] of this.sessions) {
      for (let i = list.length - 1; i >= 0; i--) {
        const session = list[i];
        if (now - session.lastAddedAt < timeout) continue;
        releases.push(this.release(session, true));
        this.buffered -= session.events.length;
        list.splice(i, 1);
      }
      if (list.length === 0) this.sessions.delete(key);
    }
    releases.sort((a, b) => a.end - b.end || a.start - b.start);
    return releases;
  }

  private release(state: WindowState<T>, partial: boolean): WindowRelease<T> {
    const tokens: T[] = [];
    const events = state.events;
    const refs = this.refs;
    for (let i = state.pendingFrom; i < events.length; i++) {
      const event = events[i];
      if (refs) {
        const remaining = (refs.get(event) ?? 1) - 1;
        if (remaining > 0) {
          refs.set(event, remaining);
          continue;
        }
        refs.delete(event);
      }
      tokens.push(event.token);
    }
    const update = state.emitted;
    state.pendingFrom = events.length;
    state.emitted = true;
    // A window kept for lateness (UPSERT) keeps growing: hand out a copy.
    const kept = this.mode === 'UPSERT' && this.type !== 'SESSION';
    return {
      start: state.start,
      end: state.end,
      key: state.key,
      events: kept ? events.slice() : events,
      tokens,
      partial,
      update,
    };
  }

  /** For /debug/state: every open window (capped at `limit`) and why it has not closed. */
  describe(now: number, limit = 100): WindowOperatorState {
    const all: WindowState<T>[] = [];
    for (const byKey of this.byStart.values()) for (const state of byKey.values()) all.push(state);
    for (const list of this.sessions.values()) all.push(...list);
    all.sort((a, b) => a.end - b.end || a.start - b.start);
    const wm = this.currentWatermark;
    const windows = all.slice(0, limit).map((state) => ({
      start: state.start,
      end: state.end,
      key: state.key ?? null,
      events: state.events.length,
      pending: state.events.length - state.pendingFrom,
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

  private explain(state: WindowState<T>, now: number): string {
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
