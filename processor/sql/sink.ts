// The sink: plan rows become EmittedRows (values by sink column name, in the sink's column order, virtual columns
// left out; the key from the primary key or key.fields), buffered and handed to `emit` once per turn of the
// microtask queue, so that a synchronous burst of pushes becomes one emit call. When `emit` resolves, the `done` of
// every row in the batch is called; when it rejects, they are not (the inputs stay unacknowledged and come back
// after a restart: at-least-once), the failure is logged and counted.
import type { SqlTable } from '../../crds/sql/table';
import { DELETE, type Done, type Inspectable, type Operator, type RowKind, UPDATE } from './operator';
import { type Row, valueToString } from './values';

export interface EmittedRow {
  kind: 'insert' | 'update' | 'delete';
  /** By sink column name, in the sink's column order; virtual columns omitted. TIMESTAMP values are epoch ms. */
  values: Record<string, unknown>;
  /** Primary key (upsert sinks) or key.fields columns. */
  key?: Record<string, unknown>;
}

export type EmitFunction = (sink: SqlTable, rows: EmittedRow[]) => Promise<void>;

interface Column {
  name: string;
  from: number;
  convert?: (v: unknown) => unknown;
}

export interface SinkHooks {
  emitted(table: SqlTable, count: number): void;
  failed(table: SqlTable, error: unknown): void;
}

export class SinkOperator implements Operator, Inspectable {
  readonly name = 'Sink';
  private readonly columns: Column[];
  private readonly keyColumns: string[] | undefined;
  private rows: EmittedRow[] = [];
  private dones: Done[] = [];
  private scheduled = false;
  private inFlight = 0;
  private emittedTotal = 0;
  private failures = 0;

  constructor(
    private readonly table: SqlTable,
    columnMap: number[],
    sourceTypes: string[],
    private readonly emit: EmitFunction,
    private readonly hooks: SinkHooks,
  ) {
    this.columns = [];
    table.columns.forEach((c, i) => {
      if (c.virtual || c.source === 'proctime') return;
      const from = columnMap[i];
      const sourceType = from >= 0 ? sourceTypes[from] : 'NULL';
      let convert: ((v: unknown) => unknown) | undefined;
      // Written into a STRING column, values take their SQL text form (a TIMESTAMP as 'yyyy-MM-dd HH:mm:ss.SSS').
      if (c.type.name === 'STRING' && sourceType !== 'STRING') {
        convert = (v) => (v === null || v === undefined ? null : valueToString(v, sourceType as never));
      } else if ((c.type.name === 'TINYINT' || c.type.name === 'SMALLINT' || c.type.name === 'INT' || c.type.name === 'BIGINT') && sourceType !== c.type.name) {
        convert = (v) => (typeof v === 'number' ? Math.trunc(v) : v);
      }
      this.columns.push({ name: c.name, from, ...(convert ? { convert } : {}) });
    });
    const key = table.upsert && table.primaryKey?.length ? table.primaryKey : table.keyFields;
    this.keyColumns = key?.length ? key : undefined;
  }

  push(kind: RowKind, row: Row, done: Done): void {
    const values: Record<string, unknown> = {};
    for (const c of this.columns) {
      const v = c.from >= 0 ? row[c.from] ?? null : null;
      values[c.name] = c.convert ? c.convert(v) : v;
    }
    const emitted: EmittedRow = { kind: kind === UPDATE ? 'update' : kind === DELETE ? 'delete' : 'insert', values };
    if (this.keyColumns) {
      const key: Record<string, unknown> = {};
      for (const k of this.keyColumns) key[k] = values[k] ?? null;
      emitted.key = key;
    }
    this.rows.push(emitted);
    this.dones.push(done);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Hands the buffered rows to `emit` now. */
  flush(): void {
    this.scheduled = false;
    if (this.rows.length === 0) return;
    const rows = this.rows;
    const dones = this.dones;
    this.rows = [];
    this.dones = [];
    this.inFlight += rows.length;
    let promise: Promise<void>;
    try {
      promise = this.emit(this.table, rows);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      () => {
        this.inFlight -= rows.length;
        this.emittedTotal += rows.length;
        this.hooks.emitted(this.table, rows.length);
        for (let i = 0; i < dones.length; i++) dones[i]();
      },
      (err: unknown) => {
        this.inFlight -= rows.length;
        this.failures++;
        this.hooks.failed(this.table, err);
      },
    );
  }

  watermark(): void {}

  stateSize(): number {
    return this.rows.length + this.inFlight;
  }

  describe(): Record<string, unknown> {
    return { operator: this.name, table: this.table.name, stream: this.table.stream, buffered: this.rows.length, inFlight: this.inFlight, confirmed: this.emittedTotal, failedEmits: this.failures };
  }
}
