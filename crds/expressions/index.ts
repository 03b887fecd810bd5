// Shared expression parsers: imported by the API server (validation), the processor and the language server.
// Pure: no Node-only APIs, every parser returns a ParseResult with a 0-based offset on error.

export { type ParseResult, ok, fail } from './result';
export { parseDuration, formatDuration } from './duration';
export {
  parseSpel,
  parseJsonPath,
  type SpelNode,
  type SpelLiteralValue,
  type SpelBinaryOperator,
  type JsonPathStep,
  SPEL_STRING_METHODS,
  SPEL_COLLECTION_METHODS,
  SPEL_FUNCTIONS,
} from './spel';
export { parseWatermarkExpression, type WatermarkExpression } from './watermark';
export { parseOutputHeaders, type OutputHeader, type OutputHeaderSource } from './output-headers';
export { parseEnvs } from './envs';
export { checkJsonata } from './jsonata';
