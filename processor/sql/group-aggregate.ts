// GROUP BY without a window TVF: an updating result, keyed by the GROUP BY columns (an upsert stream, as Flink's
// GroupAggregate). Every input row updates its group and emits the group's new row at once (first an insert, then
// updates); the planner only lets this reach an upsert sink with a primary key. The row's `done` rides on the row it
// caused. State grows with the number of groups (the state TTL, when set, forgets idle groups: counted and logged).
//
// After a restart the upsert sink holds each group's last value, so the group must go on from it, not from zero (a
// memory restart would overwrite a count of 1000 with 1). With ROCKSDB every acknowledged input row is a record —
// written before its acknowledgement, deleted with its group (TTL) — and at start the records are replayed into the
// groups, emitting nothing: the accumulators come back exactly, whatever the aggregate (COUNT DISTINCT included).
// Unacknowledged rows are redelivered and applied then; a redelivered row whose record survived is recognised by
// its origin and applied no second time. The cost is disk (and replay time) growing with the input rows of the
// groups kept, bounded only by the state TTL; the heap keeps a record id per row, not the row.
import type { Group, GroupFactory } from './aggregates';
import { type DurableEntry, durableSide, type DurableSide, readRecord, type RowRecord, writeRecord } from './durable-side';
import { type Done, INSERT, type Inspectable, type Operator, type OperatorCounters, type RowKind, UPDATE } from './operator';
import { keyFunction, type KeyedState, type KeyOf } from './state';
import type { Row } from './values';

export interface GroupEntry {
  group: Group;
  touched: number;
  /** ROCKSDB: the records of the rows aggregated. */
  rows?: AggregatedRow[];
}

/** ROCKSDB: one input row of a group; `row` is dropped from the heap once it is on disk. */
interface AggregatedRow extends DurableEntry {
  row: Row | undefined;
  touched: number;
}

function encodeRow(entry: AggregatedRow): RowRecord {
  const record = writeRecord(entry.row ?? [], entry.touched, entry.origin);
  // Written once, never rewritten: the heap needs only the record id from now on.
  entry.row = undefined;
  return record;
}

function decodeRow(value: unknown): AggregatedRow {
  const record = readRecord(value, 'group aggregate');
  const entry: AggregatedRow = { row: record.r, touched: record.t };
  if (typeof record.o === 'string') entry.origin = record.o;
  return entry;
}

export class GroupAggregateOperator implements Operator, Inspectable {
  readonly name = 'GroupAggregate';
  private readonly keyOf: KeyOf;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private readonly durable: DurableSide<AggregatedRow> | undefined;

  constructor(
    private readonly groups: GroupFactory,
    keyFields: number[],
    private readonly ttlMs: number | undefined,
    private readonly now: () => number,
    private readonly counters: OperatorCounters,
    private readonly downstream: Operator,
    private readonly state: KeyedState<unknown, GroupEntry>,
  ) {
    this.keyOf = keyFunction(keyFields);
    this.durable = durableSide(state.durable, encodeRow, decodeRow, (restored) => {
      // Replayed: the group's accumulators as they were; nothing is emitted (the sink has the result).
      const { entry } = this.apply(restored.row!, restored.touched);
      (entry.rows ??= []).push(restored);
      restored.row = undefined;
    });
  }

  /** Adds the row to its group; `created` when the group is new (its row is an insert, else an update). */
  private apply(row: Row, now: number): { entry: GroupEntry; created: boolean } {
    const key = this.keyOf(row);
    let entry = this.state.get(key);
    const created = entry === undefined;
    if (entry === undefined) {
      entry = { group: this.groups.create(row), touched: 0 };
      this.state.set(key, entry);
    }
    if (now > entry.touched) entry.touched = now;
    this.groups.add(entry.group, row);
    return { entry, created };
  }

  push(_kind: RowKind, row: Row, done: Done): void {
    const durable = this.durable;
    const origin = durable?.origin();
    if (durable !== undefined && durable.handledBefore(origin)) {
      done();
      return;
    }
    const now = this.now();
    const { entry, created } = this.apply(row, now);
    if (durable !== undefined) {
      const record: AggregatedRow = { row, touched: now };
      if (origin !== undefined) record.origin = origin;
      (entry.rows ??= []).push(record);
      done = durable.persistThen(record, done);
    }
    this.downstream.push(created ? INSERT : UPDATE, this.groups.output(entry.group), done);
  }

  watermark(watermark: number): void {
    this.downstream.watermark(watermark);
  }

  tick(now: number): void {
    // A sweep walks all the groups: at most once a second.
    if (this.ttlMs === undefined || now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    let expired = 0;
    for (const [key, entry] of this.state.entries()) {
      if (now - entry.touched > this.ttlMs) {
        this.state.delete(key);
        if (entry.rows !== undefined) for (const record of entry.rows) this.durable?.remove(record);
        expired++;
      }
    }
    if (expired > 0) this.counters.expired(expired);
  }

  stateSize(): number {
    return this.state.size;
  }

  describe(): Record<string, unknown> {
    return { operator: this.name, groups: this.state.size, ttlMs: this.ttlMs ?? null, ...(this.durable ? { durable: true } : {}) };
  }
}
