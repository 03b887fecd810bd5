// Object metadata rules shared by the three kinds: names are RFC 1123 subdomains (like CRDs' own objects),
// namespaces RFC 1123 labels, and cluster-scoped ClusterStreams carry no namespace.

import type { KindName } from '../types';
import { forbidden, invalid, required, type FieldIssue } from './field-issue';
import { dns1123LabelProblems, dns1123SubdomainProblems } from './names';
import { isRecord, stringOf, type JsonObject } from './values';

export function validateMetadata(kind: KindName, obj: JsonObject): FieldIssue[] {
  const errors: FieldIssue[] = [];
  if (!isRecord(obj.metadata)) {
    errors.push(required('metadata'));
    return errors;
  }
  const metadata = obj.metadata;
  const name = stringOf(metadata.name);
  const generateName = stringOf(metadata.generateName);
  if (name === undefined || name === '') {
    if (generateName === undefined || generateName === '') errors.push(required('metadata.name', 'name or generateName is required'));
  } else {
    for (const problem of dns1123SubdomainProblems(name)) errors.push(invalid('metadata.name', name, problem));
  }
  if (generateName !== undefined && generateName !== '' && (name === undefined || name === '')) {
    // A prefix: kube checks it with its trailing dashes removed, leaving room for the random suffix.
    const prefix = generateName.replace(/-+$/, '');
    for (const problem of dns1123SubdomainProblems(prefix === '' ? generateName : prefix)) {
      errors.push(invalid('metadata.generateName', generateName, problem));
    }
  }
  const namespace = stringOf(metadata.namespace);
  if (namespace !== undefined && namespace !== '') {
    if (kind === 'ClusterStream') errors.push(forbidden('metadata.namespace', 'not allowed on this type'));
    else for (const problem of dns1123LabelProblems(namespace)) errors.push(invalid('metadata.namespace', namespace, problem));
  }
  return errors;
}
