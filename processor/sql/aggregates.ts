// Accumulators of COUNT, SUM, AVG, MIN, MAX (with DISTINCT): NULL inputs are skipped, COUNT(*) counts rows, SUM / AVG
// / MIN / MAX of no non-NULL value is NULL. AVG of an integer column is an integer, truncated toward zero, as Flink
// returns the argument's type (AVG(BIGINT) is BIGINT); of a DOUBLE it is a DOUBLE.
import { type AggregateCall, isInteger } from '../../crds/sql/plan';
import type { Row } from './values';

export interface Accumulator {
  add(row: Row): void;
  result(): unknown;
}

export type AccumulatorFactory = () => Accumulator;

const nullish = (v: unknown): boolean => v === null || v === undefined;

class CountStar implements Accumulator {
  n = 0;
  add(): void { this.n++; }
  result(): unknown { return this.n; }
}

class Count implements Accumulator {
  n = 0;
  constructor(private readonly arg: number) {}
  add(row: Row): void { if (!nullish(row[this.arg])) this.n++; }
  result(): unknown { return this.n; }
}

class Sum implements Accumulator {
  sum: number | null = null;
  constructor(private readonly arg: number) {}
  add(row: Row): void {
    const v = row[this.arg];
    if (nullish(v)) return;
    this.sum = this.sum === null ? (v as number) : this.sum + (v as number);
  }
  result(): unknown { return this.sum; }
}

class Avg implements Accumulator {
  sum = 0;
  n = 0;
  constructor(private readonly arg: number, private readonly integer: boolean) {}
  add(row: Row): void {
    const v = row[this.arg];
    if (nullish(v)) return;
    this.sum += v as number;
    this.n++;
  }
  result(): unknown {
    if (this.n === 0) return null;
    return this.integer ? Math.trunc(this.sum / this.n) : this.sum / this.n;
  }
}

class Extreme implements Accumulator {
  value: unknown = null;
  constructor(private readonly arg: number, private readonly max: boolean) {}
  add(row: Row): void {
    const v = row[this.arg];
    if (nullish(v)) return;
    if (this.value === null || (this.max ? (v as number) > (this.value as number) : (v as number) < (this.value as number))) this.value = v;
  }
  result(): unknown { return this.value; }
}

/** DISTINCT: the inner accumulator sees each non-NULL value once. */
class Distinct implements Accumulator {
  private readonly seen = new Set<unknown>();
  constructor(private readonly arg: number, private readonly inner: Accumulator) {}
  add(row: Row): void {
    const v = row[this.arg];
    if (nullish(v) || this.seen.has(v)) return;
    this.seen.add(v);
    this.inner.add(row);
  }
  result(): unknown { return this.inner.result(); }
}

export function accumulatorFactory(call: AggregateCall, argType: { name: string } | undefined): AccumulatorFactory {
  const arg = call.arg;
  let make: AccumulatorFactory;
  switch (call.fn) {
    case 'COUNT': make = arg === undefined ? () => new CountStar() : () => new Count(arg); break;
    case 'SUM': make = () => new Sum(arg!); break;
    case 'AVG': {
      const integer = argType !== undefined && isInteger(argType as never);
      make = () => new Avg(arg!, integer);
      break;
    }
    case 'MIN': make = () => new Extreme(arg!, false); break;
    case 'MAX': make = () => new Extreme(arg!, true); break;
  }
  if (call.distinct && arg !== undefined) {
    const inner = make;
    return () => new Distinct(arg, inner());
  }
  return make;
}

/** One group's state: its key values and one accumulator per aggregate call. */
export interface Group {
  keys: unknown[];
  accumulators: Accumulator[];
  /** COUNT(*) fast path: when the only aggregate is COUNT(*), the count lives here instead. */
  count: number;
}

export class GroupFactory {
  /** True when the aggregates are exactly [COUNT(*)]: no accumulator objects at all (the common streaming case). */
  readonly countOnly: boolean;

  /**
   * `baseWidth`: when the window aggregate assigns windows itself (fused TUMBLE), key fields at `baseWidth` and
   * beyond are window_start / window_end / window_time, taken from the window instead of the row.
   */
  constructor(private readonly keyFields: number[], private readonly factories: AccumulatorFactory[], calls: AggregateCall[], private readonly baseWidth = Number.POSITIVE_INFINITY) {
    this.countOnly = calls.length === 1 && calls[0].fn === 'COUNT' && calls[0].arg === undefined;
  }

  create(row: Row, start = 0, end = 0): Group {
    const keys = new Array(this.keyFields.length);
    for (let i = 0; i < keys.length; i++) {
      const field = this.keyFields[i];
      keys[i] = field < this.baseWidth ? row[field] ?? null : field === this.baseWidth ? start : field === this.baseWidth + 1 ? end : end - 1;
    }
    return { keys, accumulators: this.countOnly ? [] : this.factories.map((f) => f()), count: 0 };
  }

  add(group: Group, row: Row): void {
    group.count++;
    if (this.countOnly) return;
    const accs = group.accumulators;
    for (let i = 0; i < accs.length; i++) accs[i].add(row);
  }

  /** The output row: group keys then aggregate results. */
  output(group: Group): Row {
    const keys = group.keys;
    const out: Row = keys.slice();
    if (this.countOnly) out.push(group.count);
    else for (const acc of group.accumulators) out.push(acc.result());
    return out;
  }
}
