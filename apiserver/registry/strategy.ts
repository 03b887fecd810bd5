// Per-kind rules applied on every write (like apiextensions-apiserver's customResourceStrategy): defaulting,
// pruning, structural + semantic validation from crds/, object-meta validation, and which fields a write may touch.
import type { ResourceDefinition } from '../../crds/loader';
import { applyDefaults, pruneUnknownFields, structuralValidate, unknownFieldMessage } from '../../crds/schema';
import { validateResource, validateUpdate, type ValidationContext } from '../../crds/validation';
import { mergeIssues, required, type FieldIssue } from '../../crds/validation/field-issue';
import type { JsonObject } from '../storage/interface';

export interface Checked {
  errors: FieldIssue[];
  warnings: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ObjectMeta rule only the server applies: a namespaced object has its namespace (the request path gives it; an
 *  editor's document may leave it to kubectl's context). Every other ObjectMeta rule — names, labels, annotations,
 *  finalizers, no namespace on ClusterStreams — is crds/validation/metadata.ts, shared with the editor so that both
 *  give the same answer (validateResource applies it). */
export function validateObjectMeta(obj: JsonObject, namespaced: boolean): FieldIssue[] {
  const meta = obj.metadata;
  if (!isRecord(meta)) return [required('metadata')];
  if (namespaced && (typeof meta.namespace !== 'string' || meta.namespace === '')) return [required('metadata.namespace')];
  return [];
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
