// Object metadata rules shared by the three kinds: names are RFC 1123 subdomains (like CRDs' own objects),
// namespaces RFC 1123 labels, and cluster-scoped ClusterStreams carry no namespace; label and annotation keys are
// qualified names, label values kube's label values, annotations at most 256 KiB, finalizers qualified names
// (kube-apiserver's ObjectMeta validation, with its messages, so the editor shows what the server answers).

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
  errors.push(...stringMapProblems(metadata, 'labels'), ...stringMapProblems(metadata, 'annotations'));
  const finalizers = metadata.finalizers;
  if (finalizers !== undefined && finalizers !== null) {
    if (!Array.isArray(finalizers)) errors.push(invalid('metadata.finalizers', finalizers, 'must be a list of strings'));
    else finalizers.forEach((finalizer: unknown, i) => {
      if (typeof finalizer !== 'string') errors.push(invalid(`metadata.finalizers[${i}]`, finalizer, 'must be a string'));
      else for (const problem of qualifiedNameProblems(finalizer)) errors.push(invalid(`metadata.finalizers[${i}]`, finalizer, problem));
    });
  }
  return errors;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_MESSAGE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MESSAGE = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** kube's IsQualifiedName: `[prefix/]name`, the prefix an RFC 1123 subdomain (label and annotation keys, finalizers). */
export function qualifiedNameProblems(key: string): string[] {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const problems: string[] = [];
  if (prefix !== undefined) {
    if (prefix.length === 0) problems.push('prefix part must be non-empty');
    else problems.push(...dns1123SubdomainProblems(prefix).map((p) => `prefix part ${p}`));
  }
  if (name.length === 0) problems.push('name part must be non-empty');
  else {
    if (name.length > 63) problems.push('name part must be no more than 63 characters');
    if (!QUALIFIED_NAME.test(name)) problems.push(QUALIFIED_NAME_MESSAGE);
  }
  return problems;
}

function stringMapProblems(metadata: JsonObject, field: 'labels' | 'annotations'): FieldIssue[] {
  const value = metadata[field];
  if (value === undefined || value === null) return [];
  if (!isRecord(value)) return [invalid(`metadata.${field}`, value, 'must be a map of string keys to string values')];
  const issues: FieldIssue[] = [];
  let size = 0;
  for (const [key, entry] of Object.entries(value)) {
    for (const problem of qualifiedNameProblems(key)) issues.push(invalid(`metadata.${field}`, key, problem));
    if (typeof entry !== 'string') {
      issues.push(invalid(`metadata.${field}`, entry, 'must be a string'));
      continue;
    }
    size += key.length + entry.length;
    if (field === 'labels') {
      if (entry.length > 63) issues.push(invalid('metadata.labels', entry, 'must be no more than 63 characters'));
      if (!LABEL_VALUE.test(entry)) issues.push(invalid('metadata.labels', entry, LABEL_VALUE_MESSAGE));
    }
  }
  if (field === 'annotations' && size > MAX_ANNOTATIONS_BYTES) {
    issues.push({ field: 'metadata.annotations', type: 'FieldValueTooLong', message: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes` });
  }
  return issues;
}
