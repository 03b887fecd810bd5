// The SQL engine's counters on the processor's /metrics (beside sr_processor_messages_*): what the engine could not
// use and what it let go, so a window that "never closes" or a join that "misses matches" can be seen from outside.
import { Counter, type Registry } from 'prom-client';
import type { SqlTable } from '../../crds/sql/table';
import type { SqlEngineMetrics } from '../sql/engine';

export class SqlMetrics implements SqlEngineMetrics {
  private readonly late: Counter<'statement'>;
  private readonly expired: Counter<'statement'>;
  private readonly rejected: Counter<'input'>;
  private readonly rowsOutCounter: Counter<'output'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.late = new Counter({ name: 'sr_processor_sql_late_rows_dropped_total', help: 'Rows dropped because their window had already fired, by statement (0-based)', labelNames: ['statement'], registers });
    this.expired = new Counter({ name: 'sr_processor_sql_state_expired_total', help: 'Rows removed from join state by srp.sql.state.ttl (later matches of them are lost), by statement', labelNames: ['statement'], registers });
    this.rejected = new Counter({ name: 'sr_processor_sql_rows_rejected_total', help: 'Records whose values could not be read as the table\'s column types (dead-lettered), by input', labelNames: ['input'], registers });
    this.rowsOutCounter = new Counter({ name: 'sr_processor_sql_rows_out_total', help: 'Result rows handed to the outputs, by output table\'s stream', labelNames: ['output'], registers });
  }

  lateRowsDropped(statement: number, count: number): void {
    this.late.labels(String(statement)).inc(count);
  }

  rowsExpired(statement: number, count: number): void {
    this.expired.labels(String(statement)).inc(count);
  }

  rowsRejected(table: SqlTable, count: number): void {
    this.rejected.labels(table.stream).inc(count);
  }

  rowsOut(table: SqlTable, count: number): void {
    this.rowsOutCounter.labels(table.stream).inc(count);
  }
}
