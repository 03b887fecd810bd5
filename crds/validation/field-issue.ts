// The shape every validation problem is reported in, and constructors that word messages the way Kubernetes does
// (k8s.io/apimachinery field.Error), so a 422 from our server reads like one from kube-apiserver.

export type FieldIssueType =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong';

export interface FieldIssue {
  /** Kubernetes field path: `spec.inputs[0].name`, map keys in brackets: `spec.attributes[srp.window]`. */
  field: string;
  type: FieldIssueType;
  /** The Status cause message, e.g. `Unsupported value: "x": supported values: "kafka", "rabbitmq"`. */
  message: string;
  value?: unknown;
  /** 0-based character offset of the problem within the field's string value, when known (editor ranges). */
  offset?: number;
}

export interface ValidationResult {
  errors: FieldIssue[];
  warnings: FieldIssue[];
}

/** A value as kube prints it in messages: strings quoted, numbers and booleans bare, anything else by type. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return Array.isArray(value) ? '"array"' : '"object"';
}

export function invalid(field: string, value: unknown, detail: string, offset?: number): FieldIssue {
  return {
    field,
    type: 'FieldValueInvalid',
    message: `Invalid value: ${formatValue(value)}: ${detail}`,
    value,
    ...(offset !== undefined ? { offset } : {}),
  };
}

export function required(field: string, detail?: string): FieldIssue {
  return { field, type: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value' };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldIssue {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return { field, type: 'FieldValueNotSupported', message: `Unsupported value: ${formatValue(value)}: supported values: ${list}`, value };
}

export function duplicate(field: string, value: unknown): FieldIssue {
  // Objects (list-map keys) are shown as JSON, e.g. Duplicate value: {"name":"in"}.
  const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : formatValue(value);
  return { field, type: 'FieldValueDuplicate', message: `Duplicate value: ${shown}`, value };
}

export function forbidden(field: string, detail: string): FieldIssue {
  return { field, type: 'FieldValueForbidden', message: `Forbidden: ${detail}` };
}

/** `parent` + property name: `spec` + `name` → `spec.name`. */
export function child(parent: string, name: string): string {
  return parent ? `${parent}.${name}` : name;
}

/** `parent` + array index: `spec.inputs` + 0 → `spec.inputs[0]`. */
export function index(parent: string, position: number): string {
  return `${parent}[${position}]`;
}

/** `parent` + map key: `spec.attributes` + `srp.window` → `spec.attributes[srp.window]`. */
export function key(parent: string, mapKey: string): string {
  return `${parent}[${mapKey}]`;
}

/**
 * Combines structural (schema) and semantic issues for one response: a semantic issue is dropped when the schema
 * already reported a problem at the same field or one of its parents, so users see each problem once.
 */
export function mergeIssues(structural: FieldIssue[], semantic: FieldIssue[]): FieldIssue[] {
  const covered = (field: string): boolean =>
    structural.some((s) => field === s.field || field.startsWith(`${s.field}.`) || field.startsWith(`${s.field}[`));
  return [...structural, ...semantic.filter((issue) => !covered(issue.field))];
}
