// Semantic validation of ClusterStream, Stream and Processor: the rules the OpenAPI schema cannot express.
// One pure module (no Node-only APIs, no server code) shared by the API server (422 Invalid responses) and the
// editor's language server (diagnostics, using `offset` for precise ranges). Structural checks (types, enums,
// required fields) live in crds/schema.ts; combine both with mergeIssues.

import { GROUP, type KindName } from '../types';
import { notSupported, type ValidationResult } from './field-issue';
import { validateClusterStream } from './clusterstream';
import { validateMetadata } from './metadata';
import { validateProcessor, type ValidationContext } from './processor';
import { validateStream } from './stream';
import { isRecord } from './values';
import { validateImmutableFields, ratchet } from './update';

export * from './field-issue';
export { upgradeLegacyShapes } from './legacy';
export { validateAttributes, type AttributeContext } from './attributes';
export { valueAtPath } from './update';
export type { ValidationContext } from './processor';

export const STREAMING_KINDS: readonly KindName[] = ['ClusterStream', 'Stream', 'Processor'];

/** Whether `obj` is a manifest of one of our kinds (apiVersion of our group, known kind). */
export function isStreamingResource(obj: unknown): obj is { kind: KindName } & Record<string, unknown> {
  return (
    isRecord(obj) &&
    typeof obj.apiVersion === 'string' &&
    obj.apiVersion.startsWith(`${GROUP}/`) &&
    STREAMING_KINDS.includes(obj.kind as KindName)
  );
}

/**
 * Checks one manifest (after defaulting, for the API server; as written, for the editor) and returns every problem
 * with its field path. Errors reject the object; warnings are advice (e.g. unknown srp.* attributes). Never throws.
 */
export function validateResource(obj: unknown, context: ValidationContext = {}): ValidationResult {
  if (!isRecord(obj)) return { errors: [{ field: '', type: 'FieldValueInvalid', message: 'Invalid value: must be an object' }], warnings: [] };
  const kind = obj.kind;
  if (kind !== 'ClusterStream' && kind !== 'Stream' && kind !== 'Processor') {
    return { errors: [notSupported('kind', kind, STREAMING_KINDS)], warnings: [] };
  }
  const byKind =
    kind === 'Stream' ? validateStream(obj) : kind === 'Processor' ? validateProcessor(obj, context) : validateClusterStream(obj);
  return { errors: [...validateMetadata(kind, obj), ...byKind.errors], warnings: byKind.warnings };
}

/**
 * Checks an update: the new object's rules, plus fields that may not change (see update.ts). Like kube's
 * validation ratcheting, an error on a value that the old object already had unchanged is downgraded to a warning,
 * so objects stored under older rules can still be updated (e.g. their status).
 */
export function validateUpdate(oldObj: unknown, newObj: unknown, context: ValidationContext = {}): ValidationResult {
  const result = ratchet(oldObj, newObj, validateResource(newObj, context));
  if (isRecord(oldObj) && isRecord(newObj) && oldObj.kind === newObj.kind) {
    result.errors.push(...validateImmutableFields(oldObj, newObj));
  }
  return result;
}
