// Filter + project, fused: one stateless operator per SELECT list / WHERE. A row whose condition is not TRUE is
// acknowledged at once; in an upsert stream an update that no longer passes becomes a delete of its key (the row
// that passed before must disappear from the sink), as Flink's retraction of a HAVING result does.
import type { Evaluator } from './expressions';
import { DELETE, type Done, type Operator, type RowKind, UPDATE } from './operator';
import type { Row } from './values';

export class CalcOperator implements Operator {
  constructor(
    private readonly condition: ((row: Row) => boolean) | undefined,
    private readonly projections: Evaluator[] | undefined,
    private readonly downstream: Operator,
  ) {}

  push(kind: RowKind, row: Row, done: Done): void {
    if (this.condition !== undefined && !this.condition(row)) {
      if (kind === UPDATE) this.downstream.push(DELETE, this.project(row), done);
      else done();
      return;
    }
    this.downstream.push(kind, this.project(row), done);
  }

  private project(row: Row): Row {
    const projections = this.projections;
    if (projections === undefined) return row;
    const n = projections.length;
    const out: Row = new Array(n);
    for (let i = 0; i < n; i++) out[i] = projections[i](row);
    return out;
  }

  watermark(watermark: number): void {
    this.downstream.watermark(watermark);
  }
}
