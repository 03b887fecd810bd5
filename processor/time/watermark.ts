// Watermarks per (input, partition) and the global watermark the windows use.
//   per partition: candidate = eventTime - maxOutOfOrderness - 1 (or the inbound `watermark` header when larger:
//                  upstream already guarantees it), never moving back;
//   global:        min over partitions that are not idle, never moving back. A partition silent for
//                  `srp.watermark.idleTimeout` stops holding the others back, so an idle input does not stall windows
//                  forever; when every partition is idle the global watermark holds its value.
// No watermark yet is -Infinity (serialised as null / header omitted).

import { parseDuration } from '../../crds/expressions/duration';

export const ATTRIBUTE_WATERMARK_IDLE_TIMEOUT = 'srp.watermark.idleTimeout';
export const DEFAULT_WATERMARK_IDLE_TIMEOUT_MS = 30_000;
export const NO_WATERMARK = Number.NEGATIVE_INFINITY;

/** The watermark state of one input partition. Keep the handle: `observe` on it is the hot path. */
export class PartitionWatermark {
  watermark = NO_WATERMARK;
  maxEventTime = NO_WATERMARK;
  lastSeen = 0;
  events = 0;

  constructor(
    readonly input: string,
    readonly partition: number,
    private readonly tracker: WatermarkTracker,
  ) {}

  /**
   * Records one event (its event time and, if present, the inbound `watermark` header) seen at `now`; returns the
   * global watermark after the update.
   */
  observe(eventTime: number, inboundWatermark: number | undefined, now: number): number {
    const tracker = this.tracker;
    const wasIdle = this.events > 0 && now - this.lastSeen >= tracker.idleTimeoutMs;
    this.events++;
    this.lastSeen = now;
    if (eventTime > this.maxEventTime) this.maxEventTime = eventTime;
    let candidate = eventTime - tracker.maxOutOfOrdernessMs - 1;
    if (inboundWatermark !== undefined && inboundWatermark > candidate) candidate = inboundWatermark;
    const previous = this.watermark;
    if (candidate > previous) this.watermark = candidate;
    // The minimum can only change when this partition was at (or below) it, was idle, or others may have gone idle.
    if (wasIdle || this.events === 1 || tracker.hasIdlePartitions || (candidate > previous && previous <= tracker.activeMin)) {
      return tracker.recompute(now);
    }
    return tracker.global;
  }
}

export interface WatermarkTrackerOptions {
  maxOutOfOrdernessMs: number;
  /** Default 30 s. */
  idleTimeoutMs?: number;
}

export interface PartitionWatermarkState {
  input: string;
  partition: number;
  watermark: number | null;
  maxEventTime: number | null;
  events: number;
  lastSeenAgoMs: number;
  idle: boolean;
  /** True when this partition is the one holding the global watermark back. */
  holdingBack: boolean;
}

export interface WatermarkState {
  global: number | null;
  maxOutOfOrdernessMs: number;
  idleTimeoutMs: number;
  partitions: PartitionWatermarkState[];
}

export class WatermarkTracker {
  readonly maxOutOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  global = NO_WATERMARK;
  /** True while some partition is idle: then every observation re-evaluates idleness. */
  hasIdlePartitions = false;
  /** The minimum over active partitions at the last recompute (the global watermark before monotonicity). */
  activeMin = NO_WATERMARK;
  private readonly partitions = new Map<string, Map<number, PartitionWatermark>>();
  private readonly all: PartitionWatermark[] = [];

  constructor(options: WatermarkTrackerOptions) {
    this.maxOutOfOrdernessMs = options.maxOutOfOrdernessMs;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_WATERMARK_IDLE_TIMEOUT_MS;
  }

  /** The state of one (input, partition), created on first use (a partition counts once it has seen an event). */
  partition(input: string, partition: number): PartitionWatermark {
    let byPartition = this.partitions.get(input);
    if (!byPartition) {
      byPartition = new Map();
      this.partitions.set(input, byPartition);
    }
    let state = byPartition.get(partition);
    if (!state) {
      state = new PartitionWatermark(input, partition, this);
      byPartition.set(partition, state);
      this.all.push(state);
    }
    return state;
  }

  /** Convenience for callers that do not keep the handle. */
  observe(input: string, partition: number, eventTime: number, inboundWatermark: number | undefined, now: number): number {
    return this.partition(input, partition).observe(eventTime, inboundWatermark, now);
  }

  /** The global watermark at `now` (idle partitions excluded). Call periodically: idleness can advance it. */
  current(now: number): number {
    return this.recompute(now);
  }

  /** @internal Recomputes the global watermark; monotonic. */
  recompute(now: number): number {
    let min = Number.POSITIVE_INFINITY;
    let idle = false;
    for (const state of this.all) {
      if (state.events === 0) continue;
      if (now - state.lastSeen >= this.idleTimeoutMs) {
        idle = true;
        continue;
      }
      if (state.watermark < min) min = state.watermark;
    }
    this.hasIdlePartitions = idle;
    this.activeMin = min === Number.POSITIVE_INFINITY ? NO_WATERMARK : min;
    if (min !== Number.POSITIVE_INFINITY && min > this.global) this.global = min;
    return this.global;
  }

  /** For /debug/state: every partition's watermark, idleness and which one holds the global watermark back. */
  describe(now: number): WatermarkState {
    this.recompute(now);
    let holder: PartitionWatermark | undefined;
    for (const state of this.all) {
      if (state.events === 0 || now - state.lastSeen >= this.idleTimeoutMs) continue;
      if (!holder || state.watermark < holder.watermark) holder = state;
    }
    return {
      global: finiteOrNull(this.global),
      maxOutOfOrdernessMs: this.maxOutOfOrdernessMs,
      idleTimeoutMs: this.idleTimeoutMs,
      partitions: this.all.map((state) => ({
        input: state.input,
        partition: state.partition,
        watermark: finiteOrNull(state.watermark),
        maxEventTime: finiteOrNull(state.maxEventTime),
        events: state.events,
        lastSeenAgoMs: now - state.lastSeen,
        idle: state.events > 0 && now - state.lastSeen >= this.idleTimeoutMs,
        holdingBack: state === holder && this.all.length > 1,
      })),
    };
  }
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Parses the inbound `watermark` header: a decimal epoch ms; anything else is ignored (undefined). */
export function parseWatermarkHeader(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  const ms = Number(value);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Header text for a watermark, or undefined when there is none yet. */
export function formatWatermark(watermark: number): string | undefined {
  return Number.isFinite(watermark) ? String(watermark) : undefined;
}

/** `srp.watermark.idleTimeout` in ms (default 30 s). Throws on an invalid duration. */
export function resolveWatermarkIdleTimeout(attributes: Readonly<Record<string, string>>): number {
  const text = attributes[ATTRIBUTE_WATERMARK_IDLE_TIMEOUT];
  if (text === undefined || text.trim() === '') return DEFAULT_WATERMARK_IDLE_TIMEOUT_MS;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`${ATTRIBUTE_WATERMARK_IDLE_TIMEOUT}: ${parsed.error}`);
  return parsed.value;
}
