// The `debugQuery` attribute of the original's FSQL Processors (`SELECT * FROM PossibleFraud`): there it printed a
// table's rows to the log. Here its rows are offered to the tap at point `debug` (`sr tap ... --point debug`), so
// they can be sampled without a log flood. It reads one of the processor's output tables: `SELECT * | columns FROM
// <table>`; anything else is reported on /debug/state and ignored.
import type { Logger } from 'pino';
import { parseStatement } from '../../crds/sql/parser';
import type { SqlTable } from '../../crds/sql/table';
import type { Tap } from '../debug/tap';
import type { EmittedRow } from '../sql/engine';
import { jsonValue } from './row-codec';

export class DebugQuery {
  private rows = 0;

  private constructor(
    readonly text: string,
    private readonly table: SqlTable | undefined,
    private readonly columns: string[] | undefined,
    private readonly problem: string | undefined,
  ) {}

  static parse(text: string | undefined, outputs: SqlTable[], log: Logger): DebugQuery | undefined {
    if (!text?.trim()) return undefined;
    const unsupported = (problem: string): DebugQuery => {
      log.warn({ debugQuery: text, problem }, 'debugQuery ignored');
      return new DebugQuery(text, undefined, undefined, problem);
    };
    const parsed = parseStatement(text);
    const statement = parsed.statement;
    if (!statement || statement.kind !== 'query') return unsupported(parsed.diagnostics[0]?.message ?? 'not a SELECT');
    const select = statement.query;
    if (select.from.kind !== 'table' || select.where || select.groupBy || select.distinct) {
      return unsupported('only SELECT * | <columns> FROM <output table> is supported');
    }
    const from = select.from.table;
    const wanted = from.kind === 'stream' ? from.stream : from.name;
    const table = outputs.find((t) => (from.kind === 'stream' ? t.stream === wanted : t.name.toLowerCase() === wanted.toLowerCase()));
    if (!table) return unsupported(`"${wanted}" is not one of the processor's output tables (${outputs.map((t) => t.name).join(', ')})`);
    let columns: string[] | undefined;
    for (const item of select.items) {
      if (item.kind === 'star') { columns = undefined; break; }
      if (item.expr.kind !== 'column') return unsupported('only plain column names may be selected');
      const name = item.expr.name.value;
      const column = table.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
      if (!column) return unsupported(`table ${table.name} has no column "${name}"`);
      (columns ??= []).push(column.name);
    }
    return new DebugQuery(text, table, columns, undefined);
  }

  offer(sink: SqlTable, row: EmittedRow, tap: Tap): void {
    if (!this.table || sink.stream !== this.table.stream || !tap.active) return;
    const names = this.columns ?? this.table.columns.map((c) => c.name);
    const out: Record<string, unknown> = {};
    for (const name of names) out[name] = jsonValue(this.table.columns.find((c) => c.name === name), row.values[name]);
    this.rows++;
    tap.offer('debug', this.table.stream, { payload: Buffer.from(JSON.stringify(out)), headers: { 'sr-row-kind': row.kind } });
  }

  describe(): { query: string; table?: string; rowsOffered: number; ignored?: string } {
    return { query: this.text, ...(this.table ? { table: this.table.name } : {}), rowsOffered: this.rows, ...(this.problem ? { ignored: this.problem } : {}) };
  }
}
