// Which Streams a statement reads and which it writes: the controllers resolve them (inputs and outputs of an FSQL
// Processor) and the editor links them. `[[STREAM:<name>]]` placeholders only; plain table names are resolved by the
// planner against the tables of the placeholders.
import type { FromItem, Query, Statement } from './ast';

export interface StatementStreams {
  /** Streams named in FROM / JOIN / window TVF sources (and scalar subqueries), in order of first use. */
  reads: string[];
  /** The INSERT INTO target, when it is a placeholder. */
  writes: string[];
}

function add(list: string[], name: string): void {
  const trimmed = name.trim();
  if (trimmed && !list.includes(trimmed)) list.push(trimmed);
}

function fromItem(item: FromItem, reads: string[]): void {
  switch (item.kind) {
    case 'table':
      if (item.table.kind === 'stream') add(reads, item.table.stream);
      return;
    case 'subquery':
      query(item.query, reads);
      return;
    case 'window':
      fromItem(item.source, reads);
      return;
    case 'join':
      fromItem(item.left, reads);
      fromItem(item.right, reads);
      return;
  }
}

/** Expressions hold no table references in the supported subset (no scalar subqueries): only FROM is walked. */
function query(q: Query, reads: string[]): void {
  fromItem(q.from, reads);
}

export function statementStreams(statement: Statement): StatementStreams {
  const reads: string[] = [];
  const writes: string[] = [];
  if (statement.kind === 'insert') {
    if (statement.target.kind === 'stream') add(writes, statement.target.stream);
    query(statement.query, reads);
  } else if (statement.kind === 'query') {
    query(statement.query, reads);
  }
  return { reads, writes };
}
