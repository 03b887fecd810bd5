// Update rules. Immutable fields (decided here, documented in crds/README.md):
//   - Stream spec.name and spec.protocol: the destination and its broker type identify the data; changing them
//     would silently re-point consumers at another topic/exchange. Delete and recreate the Stream instead.
//   - ClusterStream spec.name and spec.storage.server.protocol: same reason, for the provisioned destination.
// Processors are fully mutable (the controllers roll their workloads).
// Ratcheting: errors on values unchanged since the old object are downgraded to warnings.

import { invalid, type FieldIssue, type ValidationResult } from './field-issue';
import { deepEqual, isRecord, recordOf, stringOf, type JsonObject } from './values';

export function validateImmutableFields(oldObj: JsonObject, newObj: JsonObject): FieldIssue[] {
  const errors: FieldIssue[] = [];
  const immutable = (field: string, before: unknown, after: unknown): void => {
    if (before !== undefined && !deepEqual(before, after)) errors.push(invalid(field, after, 'field is immutable'));
  };
  const oldSpec = recordOf(oldObj.spec);
  const newSpec = recordOf(newObj.spec);
  if (newObj.kind === 'Stream') {
    immutable('spec.name', destinationName(oldObj), destinationName(newObj));
    immutable('spec.protocol', oldSpec.protocol, newSpec.protocol);
  } else if (newObj.kind === 'ClusterStream') {
    immutable('spec.name', destinationName(oldObj), destinationName(newObj));
    immutable(
      'spec.storage.server.protocol',
      recordOf(recordOf(oldSpec.storage).server).protocol,
      recordOf(recordOf(newSpec.storage).server).protocol,
    );
  }
  return errors;
}

/** The effective destination: spec.name, which defaults to metadata.name. */
function destinationName(obj: JsonObject): string | undefined {
  return stringOf(recordOf(obj.spec).name) ?? stringOf(recordOf(obj.metadata).name);
}

export function ratchet(oldObj: unknown, newObj: unknown, result: ValidationResult): ValidationResult {
  const errors: FieldIssue[] = [];
  const warnings = [...result.warnings];
  for (const issue of result.errors) {
    const before = valueAtPath(oldObj, issue.field);
    const after = valueAtPath(newObj, issue.field);
    if (before.found && after.found && deepEqual(before.value, after.value)) {
      warnings.push({ ...issue, message: `${issue.message} (kept: the value is unchanged since it was stored)` });
    } else {
      errors.push(issue);
    }
  }
  return { errors, warnings };
}

/**
 * The value at a Kubernetes field path (`spec.inputs[0].name`, `spec.attributes[srp.window]`) in `obj`.
 * Brackets index arrays or key maps, depending on the value found.
 */
export function valueAtPath(obj: unknown, field: string): { found: boolean; value?: unknown } {
  if (field === '') return { found: true, value: obj };
  let current: unknown = obj;
  let rest = field;
  while (rest !== '') {
    let segment: string;
    if (rest.startsWith('[')) {
      const close = rest.indexOf(']');
      if (close < 0) return { found: false };
      segment = rest.slice(1, close);
      rest = rest.slice(close + 1);
    } else {
      if (rest.startsWith('.')) rest = rest.slice(1);
      const end = rest.search(/[.[]/);
      segment = end < 0 ? rest : rest.slice(0, end);
      rest = end < 0 ? '' : rest.slice(end);
    }
    if (Array.isArray(current)) {
      const position = Number(segment);
      if (!Number.isInteger(position) || position < 0 || position >= current.length) return { found: false };
      current = current[position];
    } else if (isRecord(current) && segment in current) {
      current = current[segment];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}
