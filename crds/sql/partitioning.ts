// How streaming SQL splits over replicas: by which columns of each input table rows must be routed so that every
// keyed operator (GROUP BY, join, Top-N) sees all rows of a key on one replica. A replica's share of the input
// partitions is re-keyed through an exchange (processor/sql-runtime/exchange.ts) by these columns.
//
// The columns are traced back through the plan: a key field counts when it is a source column passed through
// unchanged (projections of plain fields, window TVFs, group keys). Window bounds are not source columns and need no
// routing (a window is per key). Several keyed operators on one table: the columns they all share (rows equal on a
// superset key are equal on the subset). A join routes both sides by its equi-join keys, in key order, so that
// equal keys meet. When nothing can be shared, all rows of that table go to one replica (correct, not parallel).
import type { LogicalPlan, PlanNode } from './plan';

/** A field's origin: a column of an input table, or nothing traceable (computed, window bounds, aggregates). */
type Lineage = { stream: string; column: string } | undefined;

export type TableRouting =
  /** Route by these columns' values (hash of the tuple). */
  | { kind: 'key'; columns: string[] }
  /** Every row to the same replica: the keyed operators share no column. */
  | { kind: 'single'; reason: string };

export interface SqlPartitioning {
  /** No keyed operator: each replica processes its own input partitions, no exchange. */
  stateless: boolean;
  /** Per input table (SqlTable.stream). */
  tables: Map<string, TableRouting>;
}

function lineageOf(node: PlanNode): Lineage[] {
  switch (node.kind) {
    case 'scan':
      return node.table.columns.map((c) => ({ stream: node.table.stream, column: c.name }));
    case 'calc': {
      const input = lineageOf(node.input);
      if (!node.projections) return input;
      return node.projections.map((p) => (p.kind === 'field' ? input[p.index] : undefined));
    }
    case 'window':
      return [...lineageOf(node.input), undefined, undefined, undefined];
    case 'aggregate': {
      const input = lineageOf(node.input);
      return [...node.groupKeys.map((k) => input[k]), ...node.aggregates.map(() => undefined)];
    }
    case 'join':
    case 'intervalJoin':
      return [...lineageOf(node.left), ...lineageOf(node.right)];
    case 'windowRank':
      return [...lineageOf(node.input), undefined];
  }
}

interface KeyedUse {
  /** Per stream: the source columns the operator's key traces to, in key order. */
  columns: Map<string, string[]>;
  /** Streams under the operator (all of them must be routed consistently with it). */
  streams: Set<string>;
  join: boolean;
}

function streamsUnder(node: PlanNode, out = new Set<string>()): Set<string> {
  switch (node.kind) {
    case 'scan': out.add(node.table.stream); break;
    case 'join': case 'intervalJoin': streamsUnder(node.left, out); streamsUnder(node.right, out); break;
    default: streamsUnder(node.input, out);
  }
  return out;
}

function traced(keys: number[], lineage: Lineage[]): Map<string, string[]> {
  const columns = new Map<string, string[]>();
  for (const k of keys) {
    const origin = lineage[k];
    if (!origin) continue;
    const list = columns.get(origin.stream) ?? [];
    if (!list.includes(origin.column)) list.push(origin.column);
    columns.set(origin.stream, list);
  }
  return columns;
}

function keyedUses(node: PlanNode, uses: KeyedUse[]): void {
  switch (node.kind) {
    case 'scan':
      return;
    case 'calc': case 'window':
      keyedUses(node.input, uses);
      return;
    case 'aggregate':
      uses.push({ columns: traced(node.groupKeys, lineageOf(node.input)), streams: streamsUnder(node), join: false });
      keyedUses(node.input, uses);
      return;
    case 'windowRank':
      uses.push({ columns: traced(node.partitionKeys, lineageOf(node.input)), streams: streamsUnder(node), join: false });
      keyedUses(node.input, uses);
      return;
    case 'join': case 'intervalJoin': {
      // Both sides must hash the same tuple: only keys traced on both sides, position by position.
      const leftLineage = lineageOf(node.left);
      const rightLineage = lineageOf(node.right);
      const columns = new Map<string, string[]>();
      node.leftKeys.forEach((lk, i) => {
        const l = leftLineage[lk];
        const r = rightLineage[node.rightKeys[i]];
        if (!l || !r || l.stream === r.stream) return;
        columns.set(l.stream, [...(columns.get(l.stream) ?? []), l.column]);
        columns.set(r.stream, [...(columns.get(r.stream) ?? []), r.column]);
      });
      uses.push({ columns, streams: streamsUnder(node), join: true });
      keyedUses(node.left, uses);
      keyedUses(node.right, uses);
      return;
    }
  }
}

/** The routing of every input table of the statements. */
export function sqlPartitioning(plans: LogicalPlan[]): SqlPartitioning {
  const uses: KeyedUse[] = [];
  const inputs = new Set<string>();
  for (const plan of plans) {
    keyedUses(plan.root, uses);
    streamsUnder(plan.root, inputs);
  }
  const tables = new Map<string, TableRouting>();
  for (const stream of inputs) {
    const relevant = uses.filter((u) => u.streams.has(stream));
    if (relevant.length === 0) continue;
    const joins = relevant.filter((u) => u.join);
    if (joins.length > 1) {
      tables.set(stream, { kind: 'single', reason: 'the table takes part in more than one join' });
      continue;
    }
    // A join fixes the column order (both sides hash the same tuple); other operators may only keep a prefix-free
    // subset of it, so with a join every other operator must contain all of the join's columns.
    const base = joins[0]?.columns.get(stream) ?? relevant[0].columns.get(stream) ?? [];
    let columns = [...base];
    for (const use of relevant) {
      const own = use.columns.get(stream) ?? [];
      columns = columns.filter((c) => own.includes(c));
    }
    if (joins.length === 1 && columns.length !== base.length) {
      tables.set(stream, { kind: 'single', reason: 'a keyed operator after the join does not group by the join key' });
    } else if (columns.length === 0) {
      tables.set(stream, { kind: 'single', reason: 'the keyed operators share no column of this table' });
    } else {
      tables.set(stream, { kind: 'key', columns });
    }
  }
  // Join partners must agree: if one side cannot be keyed, neither can the other.
  for (const use of uses.filter((u) => u.join)) {
    const sides = [...use.columns.keys()];
    if (sides.length < 2 || sides.some((s) => tables.get(s)?.kind !== 'key')) {
      for (const s of use.streams) tables.set(s, { kind: 'single', reason: 'the join has no equi-key traced to both inputs' });
    }
  }
  return { stateless: uses.length === 0, tables };
}
