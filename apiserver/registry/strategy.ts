// Per-kind rules applied on every write (like apiextensions-apiserver's customResourceStrategy): defaulting,
// pruning, structural + semantic validation from crds/, object-meta validation, and which fields a write may touch.
import type { ResourceDefinition } from '../../crds/loader';
import { applyDefaults, pruneUnknownFields, structuralValidate, unknownFieldMessage } from '../../crds/schema';
import { validateResource, validateUpdate, type ValidationContext } from '../../crds/validation';
import { dns1123SubdomainProblems, dns1123LabelProblems } from '../../crds/validation/names';
import { forbidden, invalid, mergeIssues, required, type FieldIssue } from '../../crds/validation/field-issue';
import type { JsonObject } from '../storage/interface';

export interface Checked {
  errors: FieldIssue[];
  warnings: string[];
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE_MESSAGE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MESSAGE = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function qualifiedKeyProblems(key: string): string[] {
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

function stringMap(meta: Record<string, unknown>, field: 'labels' | 'annotations', issues: FieldIssue[]): void {
  const value = meta[field];
  if (value === undefined || value === null) return;
  if (!isRecord(value)) { issues.push(invalid(`metadata.${field}`, value, 'must be a map of string keys to string values')); return; }
  let size = 0;
  for (const [k, v] of Object.entries(value)) {
    for (const p of qualifiedKeyProblems(k)) issues.push(invalid(`metadata.${field}`, k, p));
    if (typeof v !== 'string') { issues.push(invalid(`metadata.${field}`, v, 'must be a string')); continue; }
    size += k.length + v.length;
    if (field === 'labels') {
      if (v.length > 63) issues.push(invalid(`metadata.labels`, v, 'must be no more than 63 characters'));
      if (!LABEL_VALUE.test(v)) issues.push(invalid('metadata.labels', v, LABEL_VALUE_MESSAGE));
    }
  }
  if (field === 'annotations' && size > MAX_ANNOTATIONS_BYTES) issues.push({ field: 'metadata.annotations', type: 'FieldValueTooLong' as FieldIssue['type'], message: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes` });
}

/** ObjectMeta rules kube-apiserver applies to every custom resource. */
export function validateObjectMeta(obj: JsonObject, namespaced: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const meta = obj.metadata;
  if (!isRecord(meta)) return [required('metadata')];
  const name = meta.name;
  if (typeof name !== 'string' || name === '') issues.push(required('metadata.name', 'name or generateName is required'));
  else for (const p of dns1123SubdomainProblems(name)) issues.push(invalid('metadata.name', name, p));
  if (namespaced) {
    const ns = meta.namespace;
    if (typeof ns !== 'string' || ns === '') issues.push(required('metadata.namespace'));
    else for (const p of dns1123LabelProblems(ns)) issues.push(invalid('metadata.namespace', ns, p));
  } else if (meta.namespace !== undefined && meta.namespace !== '') {
    issues.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  stringMap(meta, 'labels', issues);
  stringMap(meta, 'annotations', issues);
  const finalizers = meta.finalizers;
  if (finalizers !== undefined && finalizers !== null) {
    if (!Array.isArray(finalizers)) issues.push(invalid('metadata.finalizers', finalizers, 'must be a list of strings'));
    else finalizers.forEach((f, i) => {
      if (typeof f !== 'string') issues.push(invalid(`metadata.finalizers[${i}]`, f, 'must be a string'));
      else for (const p of qualifiedKeyProblems(f)) issues.push(invalid(`metadata.finalizers[${i}]`, f, p));
    });
  }
  return issues;
}

export class KindStrategy {
  constructor(readonly definition: ResourceDefinition) {}

  get namespaced(): boolean {
    return this.definition.scope === 'Namespaced';
  }

  get hasStatus(): boolean {
    return this.definition.subresources.status !== undefined;
  }

  /** Drops unknown fields; returns their paths. */
  prune(obj: JsonObject): string[] {
    return pruneUnknownFields(this.definition.kind, obj);
  }

  unknownFieldMessage(path: string): string {
    return unknownFieldMessage(path);
  }

  defaults(obj: JsonObject): void {
    applyDefaults(this.definition.kind, obj);
  }

  /** Structural + semantic + metadata validation (with `old`, the update rules: immutable fields, ratcheting). */
  validate(obj: JsonObject, old?: JsonObject, context: ValidationContext = {}): Checked {
    const structural = [...validateObjectMeta(obj, this.namespaced), ...structuralValidate(this.definition.kind, obj)];
    const semantic = old ? validateUpdate(old, obj, context) : validateResource(obj, context);
    const errors = dedupe(mergeIssues(structural, semantic.errors));
    const warnings = semantic.warnings.map((w) => (w.field ? `${w.field}: ${w.message}` : w.message));
    return { errors, warnings };
  }

  /** True when anything but metadata and status differs (then metadata.generation moves). */
  specChanged(oldObj: JsonObject, newObj: JsonObject): boolean {
    const strip = (o: JsonObject): JsonObject => {
      const rest: JsonObject = {};
      for (const [k, v] of Object.entries(o)) if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') rest[k] = v;
      return rest;
    };
    return JSON.stringify(canonical(strip(oldObj))) !== JSON.stringify(canonical(strip(newObj)));
  }
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.field}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A copy with object keys sorted (for order-insensitive comparison). */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical(value[k]);
    return out;
  }
  return value;
}
