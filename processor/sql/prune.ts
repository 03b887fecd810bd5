// Which columns of each scanned table a plan reads, so that the engine decodes and coerces only those (the rest of
// a payload is never looked at). Walks the plan from the sink down, carrying the set of fields each node's consumer
// needs.
import type { LogicalPlan, PlanExpr, PlanNode } from '../../crds/sql/plan';

function refs(expr: PlanExpr | undefined, into: Set<number>): void {
  if (expr === undefined) return;
  switch (expr.kind) {
    case 'field': into.add(expr.index); return;
    case 'literal': return;
    case 'cast': refs(expr.operand, into); return;
    case 'case':
      for (const w of expr.whens) { refs(w.when, into); refs(w.then, into); }
      refs(expr.else, into);
      return;
    case 'call': for (const a of expr.args) refs(a, into);
  }
}

const all = (node: PlanNode): Set<number> => new Set(node.fields.map((_, i) => i));

function walk(node: PlanNode, needed: Set<number>, out: Map<PlanNode, Set<number>>): void {
  switch (node.kind) {
    case 'scan': {
      const set = out.get(node) ?? new Set<number>();
      for (const n of needed) set.add(n);
      out.set(node, set);
      return;
    }
    case 'calc': {
      const input = new Set<number>();
      refs(node.condition, input);
      if (node.projections) for (const n of needed) refs(node.projections[n], input);
      else for (const n of needed) input.add(n);
      walk(node.input, input, out);
      return;
    }
    case 'window': {
      const base = node.input.fields.length;
      const input = new Set([...needed].filter((n) => n < base));
      input.add(node.timeField);
      walk(node.input, input, out);
      return;
    }
    case 'aggregate': {
      const input = new Set(node.groupKeys);
      for (const a of node.aggregates) if (a.arg !== undefined) input.add(a.arg);
      walk(node.input, input, out);
      return;
    }
    case 'join':
    case 'intervalJoin': {
      const width = node.left.fields.length;
      const joined = new Set(needed);
      refs(node.residual, joined);
      const left = new Set([...joined].filter((n) => n < width).concat(node.leftKeys));
      const right = new Set([...joined].filter((n) => n >= width).map((n) => n - width).concat(node.rightKeys));
      if (node.kind === 'intervalJoin') {
        left.add(node.leftTime);
        right.add(node.rightTime);
      }
      walk(node.left, left, out);
      walk(node.right, right, out);
      return;
    }
    case 'windowRank':
      // Ties are broken on every column: the ranking reads them all.
      walk(node.input, all(node.input), out);
  }
}

/** For each scan node of the plan: the positions of the columns read. */
export function requiredColumns(plan: LogicalPlan): Map<PlanNode, Set<number>> {
  const out = new Map<PlanNode, Set<number>>();
  const needed = plan.sink ? new Set(plan.sink.columnMap.filter((i) => i >= 0)) : all(plan.root);
  walk(plan.root, needed, out);
  return out;
}
