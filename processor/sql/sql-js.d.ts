// The part of sql.js (SQLite compiled to WebAssembly; a devDependency, the tests' oracle) the tests use. The package
// ships no types.
declare module 'sql.js' {
  interface QueryExecResult {
    columns: string[];
    values: unknown[][];
  }
  interface Database {
    run(sql: string, params?: unknown[]): Database;
    exec(sql: string): QueryExecResult[];
    prepare(sql: string): { run(params: unknown[]): void; free(): void };
    close(): void;
  }
  interface SqlJsStatic {
    Database: new () => Database;
  }
  function initSqlJs(config?: Record<string, unknown>): Promise<SqlJsStatic>;
  export = initSqlJs;
}
