export { type Transform, type TransformOutcome, TransformError } from './types';
export { SpelTransform } from './spel-transform';
export { JsonataTransform, JsonataFilter, jsonataTruthy } from './jsonata';
export { OutputHeaders } from './output-headers';
export { buildTransforms, runTransforms, ATTRIBUTE_FILTER, ATTRIBUTE_SPEL, ATTRIBUTE_JSONATA } from './chain';
