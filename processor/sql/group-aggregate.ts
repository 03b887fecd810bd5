// GROUP BY without a window TVF: an updating result, keyed by the GROUP BY columns (an upsert stream, as Flink's
// GroupAggregate). Every input row updates its group and emits the group's new row at once (first an insert, then
// updates); the planner only lets this reach an upsert sink with a primary key. The row's `done` rides on the row it
// caused. State grows with the number of groups (the state TTL, when set, forgets idle groups: counted and logged).
import type { Group, GroupFactory } from './aggregates';
import { type Done, INSERT, type Inspectable, type Operator, type OperatorCounters, type RowKind, UPDATE } from './operator';
import { keyFunction, type KeyedState, type KeyOf } from './state';
import type { Row } from './values';

export interface GroupEntry {
  group: Group;
  touched: number;
}

export class GroupAggregateOperator implements Operator, Inspectable {
  readonly name = 'GroupAggregate';
  private readonly keyOf: KeyOf;
  private lastSweep = Number.NEGATIVE_INFINITY;

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
  }

  push(_kind: RowKind, row: Row, done: Done): void {
    const key = this.keyOf(row);
    let entry = this.state.get(key);
    const kind = entry === undefined ? INSERT : UPDATE;
    if (entry === undefined) {
      entry = { group: this.groups.create(row), touched: 0 };
      this.state.set(key, entry);
    }
    entry.touched = this.now();
    this.groups.add(entry.group, row);
    this.downstream.push(kind, this.groups.output(entry.group), done);
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
        expired++;
      }
    }
    if (expired > 0) this.counters.expired(expired);
  }

  stateSize(): number {
    return this.state.size;
  }

  describe(): Record<string, unknown> {
    return { operator: this.name, groups: this.state.size, ttlMs: this.ttlMs ?? null };
  }
}
