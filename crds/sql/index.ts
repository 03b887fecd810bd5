// The streaming SQL (FSQL) surface of crds/: parse statements, build tables from Streams. Pure (no Node-only APIs).
export type * from './ast';
export type * from './table';
export { parseStatement, parseStatements, diagnosticAt, type ParseStatementResult } from './parser';
export { tokenize, type Token, type TokenKind } from './lexer';
export {
  tableFromStream,
  tableFromAvroSchema,
  defaultTableName,
  type TableDiagnostic,
  type TableResult,
  type TableFromStreamOptions,
} from './tables';
