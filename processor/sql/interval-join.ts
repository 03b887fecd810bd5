// Interval join: `l.t BETWEEN r.t - INTERVAL a AND r.t + INTERVAL b` (or a pair of >= / <= bounds) on two rowtime
// columns, plus optional equi-keys. Every row probes the other side's stored rows with the same key and a time in
// range; state is bounded by the watermark: a left row is dropped once no future right row can match it
// (l.t − lower <= watermark), a right row once r.t + upper <= watermark. Output is insert-only and keeps both time
// attributes; the watermark forwarded downstream is held back by the larger bound, because a joined row may carry a
// time that far behind the watermark of the row that produced it.
//
// Acks: a row is acknowledged when the rows it produced now are confirmed (as for regular joins). With ROCKSDB each
// side has a durable copy, written before the acknowledgement and restored at start (durable-side.ts); restored rows
// are pruned by the first watermarks after the restart as any others.
import { latch } from './acks';
import { type DurableEntry, durableSide, type DurableSide, readRecord, type RowRecord, writeRecord } from './durable-side';
import { type Done, INSERT, type Inspectable, type Operator, type RowKind } from './operator';
import { keyFunction, rowsStored, type KeyedState, type KeyOf } from './state';
import type { Row } from './values';

export interface Entry extends DurableEntry {
  row: Row;
  time: number;
}

/** A side's record on disk: row, rowtime, origin. */
const encodeEntry = (entry: Entry): RowRecord => writeRecord(entry.row, entry.time, entry.origin);

function decodeEntry(value: unknown): Entry {
  const record = readRecord(value, 'interval join');
  const entry: Entry = { row: record.r, time: record.t };
  if (typeof record.o === 'string') entry.origin = record.o;
  return entry;
}

export class IntervalJoinOperator implements Inspectable {
  readonly name = 'IntervalJoin';
  readonly left: Operator;
  readonly right: Operator;
  private readonly leftKey: KeyOf;
  private readonly rightKey: KeyOf;
  private leftWatermark = Number.NEGATIVE_INFINITY;
  private rightWatermark = Number.NEGATIVE_INFINITY;
  private current = Number.NEGATIVE_INFINITY;
  private readonly holdBack: number;
  private readonly leftDurable: DurableSide<Entry> | undefined;
  private readonly rightDurable: DurableSide<Entry> | undefined;

  constructor(
    leftKeys: number[],
    rightKeys: number[],
    private readonly leftTime: number,
    private readonly rightTime: number,
    /** left.t − right.t ∈ [lowerMs, upperMs] */
    private readonly lowerMs: number,
    private readonly upperMs: number,
    private readonly residual: ((row: Row) => boolean) | undefined,
    private readonly downstream: Operator,
    private readonly leftState: KeyedState<unknown, Entry[]>,
    private readonly rightState: KeyedState<unknown, Entry[]>,
  ) {
    this.leftKey = keyFunction(leftKeys, true);
    this.rightKey = keyFunction(rightKeys, true);
    this.holdBack = Math.max(Math.abs(lowerMs), Math.abs(upperMs));
    this.leftDurable = durableSide(leftState.durable, encodeEntry, decodeEntry, (e) => add(leftState, this.leftKey(e.row), e));
    this.rightDurable = durableSide(rightState.durable, encodeEntry, decodeEntry, (e) => add(rightState, this.rightKey(e.row), e));
    this.left = { push: (k, r, d) => this.pushSide(true, k, r, d), watermark: (wm) => this.onWatermark(wm, true) };
    this.right = { push: (k, r, d) => this.pushSide(false, k, r, d), watermark: (wm) => this.onWatermark(wm, false) };
  }

  private pushSide(isLeft: boolean, _kind: RowKind, row: Row, done: Done): void {
    const key = isLeft ? this.leftKey(row) : this.rightKey(row);
    const time = row[isLeft ? this.leftTime : this.rightTime];
    const durable = isLeft ? this.leftDurable : this.rightDurable;
    const origin = durable?.origin();
    if (key === undefined || typeof time !== 'number' || (durable !== undefined && durable.handledBefore(origin))) {
      done();
      return;
    }
    const others = (isLeft ? this.rightState : this.leftState).get(key);
    const outputs: Row[] = [];
    if (others !== undefined) {
      for (let i = 0; i < others.length; i++) {
        const other = others[i];
        const diff = isLeft ? time - other.time : other.time - time;
        if (diff < this.lowerMs || diff > this.upperMs) continue;
        const joined = isLeft ? row.concat(other.row) : other.row.concat(row);
        if (this.residual === undefined || this.residual(joined)) outputs.push(joined);
      }
    }
    // Keep the row only while a future row of the other side can still match it.
    const expired = isLeft ? time - this.lowerMs <= this.current : time + this.upperMs <= this.current;
    if (!expired) {
      const entry: Entry = { row, time };
      add(isLeft ? this.leftState : this.rightState, key, entry);
      if (durable !== undefined) {
        if (origin !== undefined) entry.origin = origin;
        done = durable.persistThen(entry, done);
      }
    }
    const each = latch(outputs.length, done);
    for (let i = 0; i < outputs.length; i++) this.downstream.push(INSERT, outputs[i], each);
  }

  private onWatermark(watermark: number, isLeft: boolean): void {
    if (isLeft) this.leftWatermark = Math.max(this.leftWatermark, watermark);
    else this.rightWatermark = Math.max(this.rightWatermark, watermark);
    const wm = Math.min(this.leftWatermark, this.rightWatermark);
    if (wm <= this.current) return;
    this.current = wm;
    prune(this.leftState, (e) => e.time - this.lowerMs <= wm, this.leftDurable);
    prune(this.rightState, (e) => e.time + this.upperMs <= wm, this.rightDurable);
    this.downstream.watermark(wm - this.holdBack);
  }

  stateSize(): number {
    return rowsStored(this.leftState) + rowsStored(this.rightState);
  }

  describe(): Record<string, unknown> {
    const left = rowsStored(this.leftState);
    return {
      operator: this.name,
      bounds: { lowerMs: this.lowerMs, upperMs: this.upperMs },
      watermark: Number.isFinite(this.current) ? this.current : null,
      leftRowsStored: left,
      rightRowsStored: this.stateSize() - left,
    };
  }
}

function add(state: KeyedState<unknown, Entry[]>, key: unknown, entry: Entry): void {
  const list = state.get(key);
  if (list === undefined) state.set(key, [entry]);
  else list.push(entry);
}

function prune(state: KeyedState<unknown, Entry[]>, expired: (e: Entry) => boolean, durable: DurableSide<Entry> | undefined): void {
  for (const [key, list] of state.entries()) {
    const kept = list.filter((e) => {
      if (!expired(e)) return true;
      durable?.remove(e);
      return false;
    });
    if (kept.length === 0) state.delete(key);
    else if (kept.length !== list.length) state.set(key, kept);
  }
}
