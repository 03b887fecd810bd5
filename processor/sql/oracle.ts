// Test support (not a test): an independent computation of the same queries in SQLite (sql.js, WebAssembly), over
// the same generated rows. Timestamps are stored as epoch-ms integers; the tests write the SQLite form of each
// query by hand (window bounds as integer arithmetic), so a bug in the engine cannot be copied into the oracle.
import initSqlJs from 'sql.js';

export interface OracleTable {
  name: string;
  columns: string[];
  rows: unknown[][];
}

let sqlite: Promise<Awaited<ReturnType<typeof initSqlJs>>> | undefined;

/** Runs `query` over `tables` in a fresh SQLite database; rows as objects by column name. */
export async function oracle(tables: OracleTable[], query: string): Promise<Record<string, unknown>[]> {
  sqlite ??= initSqlJs();
  const SQL = await sqlite;
  const db = new SQL.Database();
  try {
    for (const t of tables) {
      db.run(`CREATE TABLE ${t.name} (${t.columns.map((c) => `"${c}"`).join(', ')})`);
      const insert = db.prepare(`INSERT INTO ${t.name} VALUES (${t.columns.map(() => '?').join(', ')})`);
      for (const row of t.rows) insert.run(row.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v ?? null)));
      insert.free();
    }
    const result = db.exec(query);
    if (result.length === 0) return [];
    const { columns, values } = result[0];
    return values.map((v) => Object.fromEntries(columns.map((c, i) => [c, v[i]])));
  } finally {
    db.close();
  }
}

/** A canonical, order-independent form of a row set (for deepEqual). */
export function canonical(rows: Record<string, unknown>[], columns?: string[]): string[] {
  return rows
    .map((r) => JSON.stringify((columns ?? Object.keys(r)).map((c) => normalise(r[c]))))
    .sort();
}

function normalise(v: unknown): unknown {
  if (typeof v === 'number' && !Number.isInteger(v)) return Math.round(v * 1e9) / 1e9;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v ?? null;
}
