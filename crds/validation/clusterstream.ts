// Semantic rules of a ClusterStream: the destination name for the server's protocol and the binding Secret name.

import { invalid, required, type ValidationResult } from './field-issue';
import { destinationProblems, dns1123SubdomainProblems } from './names';
import { isRecord, recordOf, stringOf, type JsonObject } from './values';

export function validateClusterStream(obj: JsonObject): ValidationResult {
  const result: ValidationResult = { errors: [], warnings: [] };
  if (!isRecord(obj.spec)) {
    result.errors.push(required('spec'));
    return result;
  }
  const spec = obj.spec;
  const server = recordOf(recordOf(spec.storage).server);
  const name = stringOf(spec.name);
  if (name !== undefined) {
    for (const problem of destinationProblems(server.protocol, name)) result.errors.push(invalid('spec.name', name, problem));
  }
  const binding = stringOf(server.binding);
  if (binding !== undefined) {
    for (const problem of dns1123SubdomainProblems(binding)) {
      result.errors.push(invalid('spec.storage.server.binding', binding, `must name a Secret: ${problem}`));
    }
  }
  if (server.protocol === undefined) {
    result.warnings.push(required('spec.storage.server.protocol', 'without a protocol the ClusterStream cannot be provisioned'));
  }
  return result;
}
