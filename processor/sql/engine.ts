// The streaming SQL engine: statements (spec.inlineQuery) + tables → parsed, planned (crds/sql), compiled into
// physical operators (compile.ts) and run in process. The runtime that wires binders to it pushes decoded rows with
// an ack callback and calls `tick()` on a wall-clock timer; the engine calls `emit` for every sink and each input
// `ack` exactly once, after everything the row contributed to was confirmed (operator.ts explains the model).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { SqlDiagnostic } from '../../crds/sql/ast';
import { parseStatement } from '../../crds/sql/parser';
import { explainPlan, type LogicalPlan, makeDiagnostic, planStatement } from '../../crds/sql/plan';
import type { SqlTable } from '../../crds/sql/table';
import { latch } from './acks';
import { compileNode, type CompileContext, usesProcessingTime } from './compile';
import { requiredColumns } from './prune';
import { memoryState, type StateBackend } from './state';
import { type Done, INSERT, type Inspectable, type Operator, type OperatorCounters } from './operator';
import { type EmitFunction, type EmittedRow, SinkOperator } from './sink';
import { coercerFor, type Coercer, CoercionError, type Row } from './values';
import { DEFAULT_IDLE_TIMEOUT_MS, type PartitionClock, StatementClock, TableClock } from './watermarks';

export type { EmittedRow } from './sink';

/** Counters the engine reports (all optional); `describe()` has the same figures. */
export interface SqlEngineMetrics {
  rowsIn?(table: SqlTable, count: number): void;
  rowsOut?(table: SqlTable, count: number): void;
  /** Rows dropped because their window had already fired. */
  lateRowsDropped?(statement: number, count: number): void;
  /** Rows removed from join / group state by the state TTL. */
  rowsExpired?(statement: number, count: number): void;
  /** Rows that could not be coerced to the table's column types (handed to `reject`). */
  rowsRejected?(table: SqlTable, count: number): void;
}

export type SqlEngineLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface SqlEngineOptions {
  /** spec.inlineQuery, placeholders as written. */
  statements: string[];
  /** Every table the statements name (inputs and outputs), resolved by the controllers. */
  tables: SqlTable[];
  /** Resolves when the broker confirmed all the rows. */
  emit: EmitFunction;
  /** Wall-clock time without rows after which a partition stops holding the watermark back. Default 30 s. */
  idleTimeoutMs?: number;
  /** Join / group state TTL (Flink `table.exec.state.ttl`); default: keep forever. */
  stateTtlMs?: number;
  /** Where operators keep state: memory (default) or ROCKSDB (state-rocksdb.ts; call `openState()` before pushing). */
  state?: StateBackend;
  /** Injectable clock (tests). Default Date.now. */
  now?: () => number;
  log?: SqlEngineLogger;
  metrics?: SqlEngineMetrics;
  /** A row whose values cannot be coerced to the table's types: the runtime dead-letters and acks it. Without this
   *  option the engine logs a warning and acks the row itself. */
  reject?: (row: InputRow, reason: string, stream: string) => void;
}

export interface InputRow {
  /** Decoded payload fields by column name (JSON field names). */
  values: Record<string, unknown>;
  /** Record timestamp in ms: the Kafka record timestamp, or the `eventtime` header. */
  timestamp: number;
  headers?: Record<string, string>;
  /** The record's identity in its stream (`<partition>:<offset>` on Kafka): durable join state recognises a row
   *  redelivered after a restart by it. */
  origin?: string;
}

/** One input table: how its rows are decoded, its event-time clock, and where its rows go. */
interface Source {
  table: SqlTable;
  decoders: ((row: InputRow, now: number) => unknown)[];
  /** Whether decoding reads the wall clock (a proctime column is used). */
  needsNow: boolean;
  rowtime: number;
  clock?: TableClock;
  /** The partition of the previous row (rows come in runs per partition). */
  lastPartition?: PartitionClock;
  targets: Operator[];
  /** Column positions some statement reads. */
  used: Set<number>;
  usedList: number[];
  template: Row;
  statements: Statement[];
  rowsIn: number;
  rejected: number;
}

interface Statement {
  index: number;
  plan: LogicalPlan;
  clock: StatementClock;
  processingTime: boolean;
  entries: Operator[];
  operators: Inspectable[];
  sink: SinkOperator;
  late: number;
  expired: number;
}

function decoderFor(column: SqlTable['columns'][number]): (row: InputRow, now: number) => unknown {
  const coerce: Coercer = coercerFor(column.type.name);
  const source = column.source;
  if (source === 'payload') {
    const name = column.name;
    return (row) => coerce(row.values[name]);
  }
  if (source === 'timestamp') return (row) => coerce(row.timestamp);
  if (source === 'proctime') return (_row, now) => now;
  const header = source.slice('header:'.length);
  return (row) => coerce(row.headers?.[header]);
}

const unused = (): null => null;

/** Adds to each open window's reason which input partition holds the watermark back ("my window never closes"). */
function withHoldingBack(description: Record<string, unknown>, holding: { table: string; partition: number } | undefined, processingTime: boolean): Record<string, unknown> {
  const windows = description.windows;
  if (!Array.isArray(windows)) return description;
  const why = processingTime
    ? '; processing time: fires when the wall clock reaches window_end (on tick)'
    : holding
      ? `; held back by ${holding.table} partition ${holding.partition} (the slowest partition that is not idle)`
      : '; no input partition has a watermark yet';
  return { ...description, windows: windows.map((w: Record<string, unknown>) => ({ ...w, whyNotFired: `${String(w.whyNotFired)}${why}` })) };
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

export class SqlEngine {
  readonly inputs: SqlTable[];
  readonly outputs: SqlTable[];
  private readonly sources = new Map<string, Source>();
  private readonly statements: Statement[] = [];
  private readonly now: () => number;
  private readonly idleTimeoutMs: number;
  private pendingRows = 0;
  private readonly rowsInMetric: SqlEngineMetrics['rowsIn'];
  private readonly log: SqlEngineLogger | undefined;
  private readonly state: StateBackend;

  private constructor(private readonly options: SqlEngineOptions, plans: LogicalPlan[]) {
    this.now = options.now ?? Date.now;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.log = options.log;
    this.state = options.state ?? memoryState;
    const metrics = options.metrics;
    this.rowsInMetric = metrics?.rowsIn?.bind(metrics);
    for (const plan of plans) {
      const sinkPlan = plan.sink!;
      const statement: Partial<Statement> & { late: number; expired: number } = { index: plan.statement, plan, late: 0, expired: 0 };
      const counters: OperatorCounters = {
        lateDropped: (n) => {
          statement.late += n;
          metrics?.lateRowsDropped?.(plan.statement, n);
        },
        expired: (n) => {
          statement.expired += n;
          metrics?.rowsExpired?.(plan.statement, n);
          this.log?.info({ statement: plan.statement, expired: n, stateTtlMs: options.stateTtlMs }, `state TTL: ${n} row(s) expired from state; later matches with them are lost`);
        },
      };
      const sink = new SinkOperator(sinkPlan.table, sinkPlan.columnMap, plan.root.fields.map((f) => f.type.name), options.emit, {
        emitted: (table, n) => metrics?.rowsOut?.(table, n),
        failed: (table, err) => this.log?.error({ err, stream: table.stream, statement: plan.statement }, 'emit failed: the rows stay unacknowledged (redelivered after a restart)'),
      });
      const ctx: CompileContext = {
        state: this.state,
        // Durable state is found again by name: a statement whose plan changed must not read the old one's records.
        name: `s${plan.statement}.${createHash('sha256').update(explainPlan(plan)).digest('hex').slice(0, 12)}`,
        expressions: { now: this.now },
        counters,
        stateTtlMs: options.stateTtlMs,
        now: this.now,
        scans: [],
        operators: [],
      };
      compileNode(plan.root, sink, ctx);
      const required = requiredColumns(plan);
      const clocks: TableClock[] = [];
      for (const scan of ctx.scans) {
        const source = this.source(scan.table);
        for (const column of required.get(scan.node) ?? []) source.used.add(column);
        source.targets.push(scan.target);
        if (source.clock && !clocks.includes(source.clock)) clocks.push(source.clock);
      }
      Object.assign(statement, {
        clock: new StatementClock(clocks),
        processingTime: usesProcessingTime(plan.root),
        entries: ctx.scans.map((s) => s.target),
        operators: ctx.operators,
        sink,
      });
      const complete = statement as Statement;
      this.statements.push(complete);
      for (const scan of ctx.scans) {
        const source = this.sources.get(scan.table.stream)!;
        if (!source.statements.includes(complete)) source.statements.push(complete);
      }
    }
    // Decode only the columns some statement reads (and the rowtime): the rest of a payload is never coerced.
    for (const source of this.sources.values()) {
      if (source.rowtime >= 0) source.used.add(source.rowtime);
      source.decoders = source.table.columns.map((c, i) => (source.used.has(i) ? decoderFor(c) : unused));
      source.usedList = [...source.used].sort((a, b) => a - b);
      source.template = source.table.columns.map(() => null);
      source.needsNow = source.table.columns.some((c, i) => source.used.has(i) && c.source === 'proctime');
    }
    this.inputs = [...this.sources.values()].map((s) => s.table);
    this.outputs = [...new Set(plans.map((p) => p.sink!.table))];
  }

  private source(table: SqlTable): Source {
    let source = this.sources.get(table.stream);
    if (!source) {
      const rowtime = table.watermark ? table.columns.findIndex((c) => c.name === table.watermark!.column) : -1;
      source = {
        table,
        decoders: [],
        needsNow: false,
        used: new Set<number>(),
        usedList: [],
        template: [],
        rowtime,
        ...(rowtime >= 0 ? { clock: new TableClock(table.name, table.watermark!.delayMs) } : {}),
        targets: [],
        statements: [],
        rowsIn: 0,
        rejected: 0,
      };
      this.sources.set(table.stream, source);
    }
    return source;
  }

  /** Parses, plans and compiles the statements; diagnostics (with no engine) when any statement is invalid. */
  static create(options: SqlEngineOptions): { engine?: SqlEngine; diagnostics: SqlDiagnostic[] } {
    const diagnostics: SqlDiagnostic[] = [];
    const plans: LogicalPlan[] = [];
    options.statements.forEach((text, index) => {
      const parsed = parseStatement(text, index);
      diagnostics.push(...parsed.diagnostics);
      if (!parsed.statement) return;
      const planned = planStatement(parsed.statement, options.tables, index, text);
      diagnostics.push(...planned.diagnostics);
      if (!planned.plan) return;
      if (!planned.plan.sink) {
        diagnostics.push(makeDiagnostic(index, parsed.statement.span, 'a bare query has no sink: the engine runs INSERT INTO <stream> SELECT ... statements', text));
        return;
      }
      plans.push(planned.plan);
    });
    if (diagnostics.length > 0) return { diagnostics };
    if (plans.length === 0) return { diagnostics: [{ statement: 0, span: { start: 0, end: 0 }, line: 1, column: 1, message: 'no statements to run' }] };
    return { engine: new SqlEngine(options, plans), diagnostics };
  }

  /**
   * One decoded input row of `stream` (SqlTable.stream) from `partition`. `ack` is called exactly once: when every
   * output row it contributed to is confirmed, or at once when it contributes nothing (filtered, late, no match).
   */
  push(stream: string, partition: number, row: InputRow, ack: () => void): void {
    const source = this.sources.get(stream);
    if (source === undefined) throw new Error(`stream '${stream}' is not an input of these statements (inputs: ${[...this.sources.keys()].join(', ')})`);
    const now = source.needsNow ? this.now() : 0;
    const decoders = source.decoders;
    const used = source.usedList;
    // Unused columns stay NULL (a copy of a pre-filled row: no holes, no decoder calls for them).
    const values: Row = source.template.slice();
    try {
      for (let j = 0; j < used.length; j++) {
        const i = used[j];
        values[i] = decoders[i](row, now);
      }
      if (source.rowtime >= 0 && typeof values[source.rowtime] !== 'number') {
        throw new CoercionError(`the rowtime column '${source.table.columns[source.rowtime].name}' is NULL`);
      }
    } catch (err) {
      if (!(err instanceof CoercionError)) throw err;
      this.rejectRow(source, row, err.message, ack);
      return;
    }
    source.rowsIn++;
    if (this.rowsInMetric !== undefined) this.rowsInMetric(source.table, 1);
    this.pendingRows++;
    const done: Done = () => {
      this.pendingRows--;
      ack();
    };
    const targets = source.targets;
    const each = latch(targets.length, done);
    const setOrigin = this.state.setOrigin;
    if (setOrigin !== undefined) setOrigin.call(this.state, row.origin === undefined ? undefined : `${stream}\u0000${row.origin}`);
    for (let i = 0; i < targets.length; i++) targets[i].push(INSERT, values, each);
    // Rows a watermark releases below are not this row: they carry no origin.
    if (setOrigin !== undefined) setOrigin.call(this.state, undefined);
    // The watermark after the row (as a source emits it after the record it was derived from).
    const clock = source.clock;
    if (clock !== undefined) {
      let p = source.lastPartition;
      if (p === undefined || p.partition !== partition) p = source.lastPartition = clock.partition(partition, this.now());
      if (clock.observe(p, values[source.rowtime] as number)) for (const statement of source.statements) this.advance(statement);
    }
  }

  private rejectRow(source: Source, row: InputRow, reason: string, ack: () => void): void {
    source.rejected++;
    this.options.metrics?.rowsRejected?.(source.table, 1);
    if (this.options.reject) {
      this.options.reject(row, reason, source.table.stream);
      return;
    }
    this.log?.warn({ stream: source.table.stream, reason }, 'row rejected (cannot be coerced to the table types); acknowledged and dropped');
    ack();
  }

  private advance(statement: Statement): void {
    if (statement.processingTime) return;
    const wm = statement.clock.advance();
    if (wm === undefined) return;
    for (const entry of statement.entries) entry.watermark(wm);
  }

  /** The rows of `stream` come through the exchange: its partitions' watermarks are set by `externalWatermark`
   *  (the forwarders' markers), not by the rows' own event time. */
  useExternalWatermarks(stream: string): void {
    const clock = this.sources.get(stream)?.clock;
    if (clock) clock.external = true;
  }

  /** The watermark of an exchange partition of `stream` (the minimum over the forwarders), or `idle`. */
  externalWatermark(stream: string, partition: number, watermark: number | 'idle'): void {
    const source = this.sources.get(stream);
    const clock = source?.clock;
    if (!source || !clock) return;
    if (clock.set(clock.partition(partition, this.now()), watermark)) for (const statement of source.statements) this.advance(statement);
  }

  /** Announces a partition that exists (assigned), so that it holds the watermark back until it is idle. */
  markPartition(stream: string, partition: number): void {
    this.sources.get(stream)?.clock?.partition(partition, this.now());
  }

  partitionsOf(stream: string): number[] {
    return [...(this.sources.get(stream)?.clock?.partitions.keys() ?? [])];
  }

  /** Wall-clock work: idle partitions, processing-time windows, state TTL. Call it about once a second. */
  tick(): void {
    const now = this.now();
    for (const source of this.sources.values()) {
      if (source.clock?.checkIdle(now, this.idleTimeoutMs)) for (const statement of source.statements) this.advance(statement);
    }
    for (const statement of this.statements) {
      if (statement.processingTime) {
        // Processing time: a window [s, e) fires once the wall clock reached e.
        const wm = now - 1;
        if (wm > statement.clock.current) {
          statement.clock.current = wm;
          for (const entry of statement.entries) entry.watermark(wm);
        }
      }
      for (const op of statement.operators) op.tick?.(now);
    }
  }

  /** Opens durable state (ROCKSDB) and restores the operators from it; before the first `push`. */
  async openState(): Promise<void> {
    await this.state.open?.();
  }

  /** Writes what is pending to durable state and closes it. */
  async closeState(): Promise<void> {
    await this.state.close?.();
  }

  /** Why state cannot be written (an I/O failure): rows then stay unacknowledged. */
  stateProblem(): string | undefined {
    return this.state.problem?.();
  }

  /** Input rows not yet acknowledged. */
  pending(): number {
    return this.pendingRows;
  }

  explain(): string {
    return this.statements.map((s) => `-- statement ${s.index}\n${explainPlan(s.plan)}`).join('\n\n');
  }

  describe(): Record<string, unknown> {
    const now = this.now();
    return {
      pendingRows: this.pendingRows,
      idleTimeoutMs: this.idleTimeoutMs,
      stateTtlMs: this.options.stateTtlMs ?? null,
      state: this.state.describe?.() ?? { type: 'MEMORY' },
      inputs: [...this.sources.values()].map((s) => ({
        table: s.table.name,
        stream: s.table.stream,
        rowsIn: s.rowsIn,
        rejected: s.rejected,
        watermarkDelayMs: s.table.watermark?.delayMs ?? null,
        watermark: s.clock ? finite(s.clock.current() ?? Number.NEGATIVE_INFINITY) : null,
        partitions: s.clock
          ? [...s.clock.partitions.values()].map((p) => ({
            partition: p.partition,
            watermark: finite(p.watermark),
            maxRowtime: finite(p.maxRowtime),
            rows: p.rows,
            lastSeenAgoMs: now - p.lastSeen,
            idle: p.idle,
            holdingBack: s.clock!.holdingBack() === p.partition,
          }))
          : [],
        timeAttribute: s.clock ? 'rowtime' : 'none (rows carry no watermark)',
      })),
      statements: this.statements.map((s) => {
        const holding = s.clock.holdingBack();
        return {
          statement: s.index,
          sink: s.plan.sink!.table.stream,
          time: s.processingTime ? 'processing (wall clock)' : 'event',
          watermark: finite(s.clock.current),
          heldBackBy: holding ?? null,
          lateRowsDropped: s.late,
          rowsExpired: s.expired,
          operators: [...s.operators.map((o) => withHoldingBack({ ...o.describe(), stateSize: o.stateSize() }, holding, s.processingTime)), s.sink.describe()],
          plan: explainPlan(s.plan),
        };
      }),
    };
  }
}

export type { EmitFunction };
export type { EmittedRow as SqlEmittedRow };
