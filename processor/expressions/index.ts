// Evaluation of user expressions in the data plane. Parsing lives in crds/expressions (shared with validation).
export { compileSpel, SpelCompileError, SpelEvaluationError, javaString, type CompiledSpel, type SpelContext } from './spel';
export { payloadView, encodeResult, EmptyResultError, type EncodedResult } from './payload';
