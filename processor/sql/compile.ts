// Logical plan (crds/sql/plan.ts) → physical operators, wired push-style from the sink back to the scans: each
// node is compiled with the operator its output goes to, and every scan registers the operator its table's rows
// enter. Two small rewrites happen here: a WHERE directly above a window TVF that reads no window column runs
// before the window assignment (fewer rows to copy, and a filtered row is acknowledged without counting as late),
// and a window TVF that feeds a window aggregation skips windows that already fired.
import type { PlanExpr, PlanNode } from '../../crds/sql/plan';
import type { SqlTable } from '../../crds/sql/table';
import { accumulatorFactory, GroupFactory } from './aggregates';
import { CalcOperator } from './calc';
import { type CompileOptions, compileExpr, compilePredicate } from './expressions';
import { GroupAggregateOperator } from './group-aggregate';
import { IntervalJoinOperator } from './interval-join';
import { JoinOperator } from './join';
import type { Inspectable, Operator, OperatorCounters } from './operator';
import type { StateBackend } from './state';
import { WindowTopNOperator } from './top-n';
import { WindowAggregateOperator } from './window-aggregate';
import { WindowAssignOperator } from './window-assign';

export interface CompileContext {
  /** Where stateful operators keep their state (memory today). */
  state: StateBackend;
  /** Prefix of state names (`s0`). */
  name: string;
  expressions: CompileOptions;
  counters: OperatorCounters;
  stateTtlMs: number | undefined;
  now: () => number;
  /** Filled in: where each scanned table's rows enter. */
  scans: { table: SqlTable; target: Operator; node: PlanNode }[];
  /** Filled in: stateful operators (describe, tick). */
  operators: Inspectable[];
}

export function maxFieldRef(expr: PlanExpr): number {
  switch (expr.kind) {
    case 'field': return expr.index;
    case 'literal': return -1;
    case 'cast': return maxFieldRef(expr.operand);
    case 'case': return Math.max(...expr.whens.flatMap((w) => [maxFieldRef(w.when), maxFieldRef(w.then)]), expr.else ? maxFieldRef(expr.else) : -1);
    case 'call': return Math.max(-1, ...expr.args.map(maxFieldRef));
  }
}

/** Compiles `node` so that its output rows go to `downstream`. `feedsWindowAggregate`: a window aggregation is above. */
export function compileNode(node: PlanNode, downstream: Operator, ctx: CompileContext, feedsWindowAggregate = false): void {
  switch (node.kind) {
    case 'scan':
      ctx.scans.push({ table: node.table, target: downstream, node });
      return;
    case 'calc': {
      const window = node.input;
      if (!node.projections && node.condition && window.kind === 'window' && maxFieldRef(node.condition) < window.input.fields.length) {
        // WHERE before the window TVF.
        const assign = new WindowAssignOperator(window.window, window.timeField, feedsWindowAggregate, ctx.counters, downstream);
        const filter = new CalcOperator(compilePredicate(node.condition, ctx.expressions), undefined, assign);
        compileNode(window.input, filter, ctx);
        return;
      }
      const op = new CalcOperator(
        node.condition ? compilePredicate(node.condition, ctx.expressions) : undefined,
        node.projections?.map((p) => compileExpr(p, ctx.expressions)),
        downstream,
      );
      compileNode(node.input, op, ctx, feedsWindowAggregate && !node.projections);
      return;
    }
    case 'window': {
      const op = new WindowAssignOperator(node.window, node.timeField, feedsWindowAggregate, ctx.counters, downstream);
      compileNode(node.input, op, ctx);
      return;
    }
    case 'aggregate': {
      const factories = node.aggregates.map((a) => accumulatorFactory(a, a.arg !== undefined ? node.input.fields[a.arg].type : undefined));
      const fused = node.window ? fusableTumble(node) : undefined;
      const groups = new GroupFactory(node.groupKeys, factories, node.aggregates, fused ? fused.window.input.fields.length : undefined);
      if (fused) {
        // TUMBLE assigned inside the aggregate; a WHERE on the base columns runs before it.
        const window = fused.window;
        const start = node.groupKeys[node.window!.startKey];
        const end = node.groupKeys[node.window!.endKey];
        const keyFields = node.groupKeys.filter((k) => k !== start && k !== end);
        const op = new WindowAggregateOperator(groups, keyFields, start, end, ctx.counters, downstream, ctx.state.create(`${ctx.name}.window-aggregate.${ctx.operators.length}`), { sizeMs: window.window.sizeMs, offsetMs: window.window.offsetMs, timeField: window.timeField });
        ctx.operators.push(op);
        const input = fused.filter ? new CalcOperator(compilePredicate(fused.filter, ctx.expressions), undefined, op) : op;
        compileNode(window.input, input, ctx);
      } else if (node.window) {
        const startField = node.groupKeys[node.window.startKey];
        const endField = node.groupKeys[node.window.endKey];
        const keyFields = node.groupKeys.filter((k) => k !== startField && k !== endField);
        const op = new WindowAggregateOperator(groups, keyFields, startField, endField, ctx.counters, downstream, ctx.state.create(`${ctx.name}.window-aggregate.${ctx.operators.length}`));
        ctx.operators.push(op);
        compileNode(node.input, op, ctx, true);
      } else {
        const op = new GroupAggregateOperator(groups, node.groupKeys, ctx.stateTtlMs, ctx.now, ctx.counters, downstream, ctx.state.create(`${ctx.name}.group-aggregate.${ctx.operators.length}`));
        ctx.operators.push(op);
        compileNode(node.input, op, ctx);
      }
      return;
    }
    case 'join': {
      const op = new JoinOperator(
        node.joinType, node.leftKeys, node.rightKeys, node.right.fields.length,
        node.residual ? compilePredicate(node.residual, ctx.expressions) : undefined,
        ctx.stateTtlMs, ctx.now, ctx.counters, downstream,
        ctx.state.create(`${ctx.name}.join.${ctx.operators.length}.left`), ctx.state.create(`${ctx.name}.join.${ctx.operators.length}.right`),
      );
      ctx.operators.push(op);
      compileNode(node.left, op.left, ctx);
      compileNode(node.right, op.right, ctx);
      return;
    }
    case 'intervalJoin': {
      const op = new IntervalJoinOperator(
        node.leftKeys, node.rightKeys, node.leftTime, node.rightTime, node.lowerMs, node.upperMs,
        node.residual ? compilePredicate(node.residual, ctx.expressions) : undefined, downstream,
        ctx.state.create(`${ctx.name}.interval-join.${ctx.operators.length}.left`), ctx.state.create(`${ctx.name}.interval-join.${ctx.operators.length}.right`),
      );
      ctx.operators.push(op);
      compileNode(node.left, op.left, ctx);
      compileNode(node.right, op.right, ctx);
      return;
    }
    case 'windowRank': {
      const op = new WindowTopNOperator(node.partitionKeys, node.orderBy, node.limit, node.windowEndField, node.input.fields.length, ctx.counters, downstream, ctx.state.create(`${ctx.name}.top-n.${ctx.operators.length}`));
      ctx.operators.push(op);
      compileNode(node.input, op, ctx);
      return;
    }
  }
}

/**
 * A window aggregation directly over TUMBLE (optionally through a WHERE on the base columns) whose aggregates read
 * only base columns: the aggregate assigns the window itself, saving a row copy per input row (the hot path of the
 * most common streaming query).
 */
function fusableTumble(node: PlanNode & { kind: 'aggregate' }): { window: PlanNode & { kind: 'window' }; filter?: PlanExpr } | undefined {
  let input = node.input;
  let filter: PlanExpr | undefined;
  if (input.kind === 'calc' && !input.projections && input.condition && input.input.kind === 'window') {
    filter = input.condition;
    input = input.input;
  }
  if (input.kind !== 'window' || input.window.fn !== 'TUMBLE') return undefined;
  const base = input.input.fields.length;
  if (filter && maxFieldRef(filter) >= base) return undefined;
  if (node.aggregates.some((a) => a.arg !== undefined && a.arg >= base)) return undefined;
  if (node.groupKeys.some((k) => k >= base + 3)) return undefined;
  return { window: input, ...(filter ? { filter } : {}) };
}

/** Whether the plan windows on processing time (its windows are then fired by the wall clock in `tick`). */
export function usesProcessingTime(node: PlanNode): boolean {
  switch (node.kind) {
    case 'scan': return false;
    case 'window': return node.timeMode === 'processing' || usesProcessingTime(node.input);
    case 'join': case 'intervalJoin': return usesProcessingTime(node.left) || usesProcessingTime(node.right);
    default: return usesProcessingTime(node.input);
  }
}
