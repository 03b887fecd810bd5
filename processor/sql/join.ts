// Regular joins (INNER, LEFT) on equi-join keys: both sides are kept in keyed state; each new row joins every stored
// row of the other side with the same key (NULL keys never match). INNER over two append-only inputs is append-only;
// LEFT emits a NULL-padded row for a left row without a match and, when the first match arrives later, retracts it
// (a delete) before the joined row (a retract stream).
//
// Acks: a row is acknowledged once the rows it produced *now* are confirmed (none: at once). Its copy in state lives
// on and later produces rows for the other side's arrivals, acknowledged with those. In memory, state is empty after
// a restart and only unacknowledged rows are redelivered, so rows acknowledged earlier no longer match new arrivals
// (Flink without checkpoints). With ROCKSDB each side has a durable copy (durable-side.ts): a row's record is written
// before its acknowledgement, state is restored at start, and a redelivered row whose record survived is recognised.
// A LEFT join's record of a left row also says whether its NULL-padded row was retracted by a right row that was
// itself acknowledged — so a restart neither retracts it twice nor forgets to.
//
// TTL (stateTtlMs, like `table.exec.state.ttl`, default off = keep forever): a stored row older than the TTL (since it
// was stored) no longer matches and is removed on `tick`; later matches are silently lost in Flink — here they are
// counted (rows expired) and logged at info with how many.
import { latch } from './acks';
import { type DurableEntry, durableSide, type DurableSide, readRecord, type RowRecord, writeRecord } from './durable-side';
import { DELETE, type Done, INSERT, type Inspectable, type Operator, type OperatorCounters, type RowKind } from './operator';
import { keyFunction, rowsStored, type KeyedState, type KeyOf } from './state';
import type { Row } from './values';

const SWEEP_INTERVAL_MS = 1000;

interface Entry extends DurableEntry {
  row: Row;
  stored: number;
  /** LEFT join, left side: current number of matches (0 = the NULL-padded row is out). */
  matches: number;
  /** LEFT join, left side, ROCKSDB: a match was acknowledged (the NULL-padded row's retraction is confirmed). */
  matchAcked?: boolean;
}

/** A side's record on disk: row, time stored, origin, whether matched (LEFT). */
interface EntryRecord extends RowRecord {
  m?: 1;
}

function encodeEntry(entry: Entry): EntryRecord {
  const record: EntryRecord = writeRecord(entry.row, entry.stored, entry.origin);
  if (entry.matchAcked) record.m = 1;
  return record;
}

function decodeEntry(value: unknown): Entry {
  const record = readRecord<EntryRecord>(value, 'join');
  const matched = record.m === 1;
  const entry: Entry = { row: record.r, stored: record.t, matches: matched ? 1 : 0 };
  if (matched) entry.matchAcked = true;
  if (typeof record.o === 'string') entry.origin = record.o;
  return entry;
}

type SideState = KeyedState<unknown, Entry[]>;

export class JoinOperator implements Inspectable {
  readonly name = 'Join';
  readonly left: Operator;
  readonly right: Operator;
  private leftRows = 0;
  private rightRows = 0;
  private readonly leftKey: KeyOf;
  private readonly rightKey: KeyOf;
  private readonly nullRight: Row;
  private leftWatermark = Number.NEGATIVE_INFINITY;
  private rightWatermark = Number.NEGATIVE_INFINITY;
  private expiredTotal = 0;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private readonly leftDurable: DurableSide<Entry> | undefined;
  private readonly rightDurable: DurableSide<Entry> | undefined;
  private duplicates = 0;

  constructor(
    private readonly joinType: 'INNER' | 'LEFT',
    leftKeys: number[],
    rightKeys: number[],
    rightWidth: number,
    private readonly residual: ((row: Row) => boolean) | undefined,
    private readonly ttlMs: number | undefined,
    private readonly now: () => number,
    private readonly counters: OperatorCounters,
    private readonly downstream: Operator,
    private readonly leftState: SideState,
    private readonly rightState: SideState,
  ) {
    this.leftKey = keyFunction(leftKeys, true);
    this.rightKey = keyFunction(rightKeys, true);
    this.nullRight = new Array(rightWidth).fill(null);
    this.leftDurable = durableSide(leftState.durable, encodeEntry, decodeEntry, (e) => append(leftState, this.leftKey(e.row), e));
    this.rightDurable = durableSide(rightState.durable, encodeEntry, decodeEntry, (e) => append(rightState, this.rightKey(e.row), e));
    this.left = { push: (kind, row, done) => this.pushLeft(kind, row, done), watermark: (wm) => this.onWatermark(wm, true) };
    this.right = { push: (kind, row, done) => this.pushRight(kind, row, done), watermark: (wm) => this.onWatermark(wm, false) };
  }

  private alive(entry: Entry, now: number): boolean {
    return this.ttlMs === undefined || now - entry.stored <= this.ttlMs;
  }

  private pushLeft(_kind: RowKind, row: Row, done: Done): void {
    const durable = this.leftDurable;
    const origin = durable?.origin();
    if (durable !== undefined && durable.handledBefore(origin)) {
      this.duplicates++;
      done();
      return;
    }
    const key = this.leftKey(row);
    // On disk the time is always real: a TTL set at a later start applies to rows stored before it.
    const now = this.ttlMs === undefined && durable === undefined ? 0 : this.now();
    const entry: Entry = { row, stored: now, matches: 0 };
    const outputs: Row[] = [];
    if (key !== undefined) {
      const others = this.rightState.get(key);
      if (others !== undefined) {
        for (let i = 0; i < others.length; i++) {
          if (!this.alive(others[i], now)) continue;
          const joined = row.concat(others[i].row);
          if (this.residual === undefined || this.residual(joined)) outputs.push(joined);
        }
      }
      append(this.leftState, key, entry);
      this.leftRows++;
      if (durable !== undefined) {
        if (origin !== undefined) entry.origin = origin;
        // A left row matched on arrival never had a NULL-padded row out.
        if (outputs.length > 0) entry.matchAcked = true;
        done = durable.persistThen(entry, done);
      }
    }
    entry.matches = outputs.length;
    if (this.joinType === 'LEFT' && outputs.length === 0) outputs.push(row.concat(this.nullRight));
    const each = latch(outputs.length, done);
    for (let i = 0; i < outputs.length; i++) this.downstream.push(INSERT, outputs[i], each);
  }

  private pushRight(_kind: RowKind, row: Row, done: Done): void {
    const key = this.rightKey(row);
    const durable = this.rightDurable;
    const origin = durable?.origin();
    if (key === undefined || (durable !== undefined && durable.handledBefore(origin))) {
      if (key !== undefined) this.duplicates++;
      done();
      return;
    }
    const now = this.ttlMs === undefined && durable === undefined ? 0 : this.now();
    const stored: Entry = { row, stored: now, matches: 0 };
    append(this.rightState, key, stored);
    this.rightRows++;
    const others = this.leftState.get(key);
    /** LEFT join, ROCKSDB: left rows this row retracts the NULL-padded row of, marked on disk with this row's ack. */
    let retracted: Entry[] | undefined;
    if (durable !== undefined) {
      if (origin !== undefined) stored.origin = origin;
      const persist = durable.persistThen(stored, done);
      done = () => {
        if (retracted !== undefined) {
          for (const entry of retracted) {
            if (entry.matchAcked) continue;
            entry.matchAcked = true;
            this.leftDurable?.rewrite(entry);
          }
        }
        persist();
      };
    }
    if (others === undefined) {
      done();
      return;
    }
    const kinds: RowKind[] = [];
    const outputs: Row[] = [];
    for (let i = 0; i < others.length; i++) {
      const entry = others[i];
      if (!this.alive(entry, now)) continue;
      const joined = entry.row.concat(row);
      if (this.residual !== undefined && !this.residual(joined)) continue;
      if (this.joinType === 'LEFT' && entry.matches === 0) {
        // Retract the NULL-padded row emitted when the left row arrived alone.
        kinds.push(DELETE);
        outputs.push(entry.row.concat(this.nullRight));
        if (durable !== undefined) (retracted ??= []).push(entry);
      }
      entry.matches++;
      kinds.push(INSERT);
      outputs.push(joined);
    }
    const each = latch(outputs.length, done);
    for (let i = 0; i < outputs.length; i++) this.downstream.push(kinds[i], outputs[i], each);
  }

  private onWatermark(watermark: number, left: boolean): void {
    // A regular join's output carries no time attribute, but a watermark still bounds the inputs: forward the minimum.
    if (left) this.leftWatermark = Math.max(this.leftWatermark, watermark);
    else this.rightWatermark = Math.max(this.rightWatermark, watermark);
    this.downstream.watermark(Math.min(this.leftWatermark, this.rightWatermark));
  }

  tick(now: number): void {
    // A sweep walks all the state: at most once a second (expired rows stop matching at once anyway, see alive()).
    if (this.ttlMs === undefined || now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    const expired = expire(this.leftState, now, this.ttlMs, this.leftDurable) + expire(this.rightState, now, this.ttlMs, this.rightDurable);
    if (expired > 0) {
      this.expiredTotal += expired;
      this.counters.expired(expired);
    }
  }

  stateSize(): number {
    return rowsStored(this.leftState) + rowsStored(this.rightState);
  }

  describe(): Record<string, unknown> {
    const left = rowsStored(this.leftState);
    return {
      operator: this.name,
      joinType: this.joinType,
      leftRowsStored: left,
      rightRowsStored: this.stateSize() - left,
      leftKeys: this.leftState.size,
      rightKeys: this.rightState.size,
      rowsSeen: { left: this.leftRows, right: this.rightRows },
      ttlMs: this.ttlMs ?? null,
      rowsExpired: this.expiredTotal,
      ...(this.leftDurable ? { durable: true, redeliveredRowsRecognised: this.duplicates } : {}),
    };
  }
}

function append(state: SideState, key: unknown, entry: Entry): void {
  const list = state.get(key);
  if (list === undefined) state.set(key, [entry]);
  else list.push(entry);
}

function expire(state: SideState, now: number, ttlMs: number, durable: DurableSide<Entry> | undefined): number {
  let expired = 0;
  for (const [key, list] of state.entries()) {
    const kept = list.filter((e) => {
      if (now - e.stored <= ttlMs) return true;
      durable?.remove(e);
      return false;
    });
    expired += list.length - kept.length;
    if (kept.length === 0) state.delete(key);
    else if (kept.length !== list.length) state.set(key, kept);
  }
  return expired;
}
