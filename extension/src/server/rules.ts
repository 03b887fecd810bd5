// The one place the editor reaches into crds/: the API server's own validation (structural schema + semantic rules),
// the CRD schemas (for completion and hover) and the srp.* attribute catalogue. Never a second copy of any rule.
import { OTHER_KNOWN_ATTRIBUTES, SRP_ATTRIBUTES } from '../../../crds/attributes';
import { applyDefaults, pruneUnknownFields, schemaFor, structuralValidate, unknownFieldMessage } from '../../../crds/schema';
import { validateResource, type ValidationContext } from '../../../crds/validation';
import type { OpenApiSchema } from '../model/schema-walk';
import type { OurKind } from '../model/yaml-documents';

export interface EditorIssue {
  field: string;
  message: string;
  type: string;
  offset?: number;
  severity: 'error' | 'warning';
}

export interface AttributeInfo {
  name: string;
  description: string;
  /** Allowed values, when the attribute is an enumeration. */
  values?: string[];
  /** Default value as documented, for completion details. */
  defaultValue?: string;
}

export interface Rules {
  /** `context`: what the API server would also know, e.g. the Streams an FSQL Processor's statements name. */
  validate(kind: OurKind, object: unknown, context?: ValidationContext): EditorIssue[];
  schema(kind: OurKind): OpenApiSchema | undefined;
  attributes(): AttributeInfo[];
}

/**
 * The API server's checks in the order it runs them on a create/update: prune unknown fields (an error under
 * kubectl's default fieldValidation=Strict), apply defaults, structural validation, then the semantic rules.
 * Runs on a copy; duplicates are dropped.
 */
export const crdRules: Rules = {
  validate(kind, input, context = {}) {
    const object: unknown = structuredClone(input);
    const issues: EditorIssue[] = [];
    const seen = new Set<string>();
    const add = (issue: EditorIssue): void => {
      const key = `${issue.severity}|${issue.field}|${issue.message}`;
      if (seen.has(key)) return;
      seen.add(key);
      issues.push(issue);
    };
    for (const path of safely(() => pruneUnknownFields(kind, object), [])) {
      add({ field: path, message: unknownFieldMessage(path), type: 'FieldValueForbidden', severity: 'error' });
    }
    safely(() => applyDefaults(kind, object), undefined);
    for (const issue of safely(() => structuralValidate(kind, object), [])) {
      add({ field: issue.field, message: issue.message, type: issue.type, offset: issue.offset, severity: 'error' });
    }
    const semantic = safely(() => validateResource(object, context), { errors: [], warnings: [] });
    for (const issue of semantic.errors) {
      add({ field: issue.field, message: issue.message, type: issue.type, offset: issue.offset, severity: 'error' });
    }
    for (const issue of semantic.warnings) {
      add({ field: issue.field, message: issue.message, type: issue.type, offset: issue.offset, severity: 'warning' });
    }
    return issues;
  },
  schema(kind) {
    return safely(() => schemaFor(kind) as OpenApiSchema, undefined);
  },
  attributes() {
    const srp = SRP_ATTRIBUTES.map((attribute) => ({
      name: attribute.name,
      description: `${attribute.description}\n\nValue: ${attribute.valueHint}. Example: \`${attribute.example}\``,
      ...(attribute.allowedValues ? { values: [...attribute.allowedValues] } : {}),
      ...(attribute.syntax === 'boolean' ? { values: ['true', 'false'] } : {}),
      ...(attribute.default !== undefined ? { defaultValue: attribute.default } : {}),
    }));
    const others = OTHER_KNOWN_ATTRIBUTES.map((attribute) => ({
      name: attribute.name,
      description: `${attribute.description}\n\nValue: ${attribute.valueHint}. Example: \`${attribute.example}\``,
    }));
    return [...srp, ...others];
  },
};

/** Bad input must never take the language server down: a rule that throws counts as "no findings". */
function safely<T>(run: () => T, fallback: T): T {
  try {
    return run();
  } catch {
    return fallback;
  }
}
