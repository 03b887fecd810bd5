// An independent computation of streaming SQL results for the tests: SQLite (sql.js, SQLite compiled to
// WebAssembly) over the same rows the test sends. The test writes the batch equivalent of each streaming query
// (a tumbling window is `GROUP BY ts - ts % size`), so a result that agrees was computed two different ways.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const initSqlJs = require('sql.js') as () => Promise<SqlJsStatic>;

interface SqlJsStatic { Database: new () => SqlJsDatabase }
interface SqlJsDatabase {
  run(sql: string, params?: unknown[]): void;
  exec(sql: string): { columns: string[]; values: unknown[][] }[];
  close(): void;
}

export type OracleValue = string | number | null;

/** `yyyy-MM-dd HH:mm:ss[.SSS]` (Flink's JSON TIMESTAMP, UTC) → epoch ms; throws on anything else. */
export function sqlTime(value: unknown): number {
  if (typeof value !== 'string') throw new Error(`a SQL timestamp string, got ${JSON.stringify(value)}`);
  const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) throw new Error(`not a SQL timestamp: ${value}`);
  return ms;
}

/** Result rows in a canonical, order-free form, to compare with the oracle's. */
export const canonicalRows = (rows: Record<string, OracleValue>[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

export class SqlOracle {
  private constructor(private readonly db: SqlJsDatabase) {}

  static async open(): Promise<SqlOracle> {
    const SQL = await initSqlJs();
    return new SqlOracle(new SQL.Database());
  }

  /** Creates `table` with the columns of the first row and inserts every row. */
  load(table: string, columns: string[], rows: Record<string, OracleValue>[]): void {
    this.db.run(`CREATE TABLE ${table} (${columns.map((c) => `"${c}"`).join(', ')})`);
    for (const row of rows) {
      this.db.run(`INSERT INTO ${table} VALUES (${columns.map(() => '?').join(', ')})`, columns.map((c) => row[c] ?? null));
    }
  }

  query(sql: string): Record<string, OracleValue>[] {
    const [result] = this.db.exec(sql);
    if (!result) return [];
    return result.values.map((values) => Object.fromEntries(result.columns.map((c, i) => [c, values[i] as OracleValue])));
  }

  close(): void {
    this.db.close();
  }
}
