// Structural validation, defaulting and pruning derived from the CRD schemas (crds/*.yaml), with Kubernetes'
// semantics: the API server runs, in kube-apiserver's order, pruneUnknownFields → applyDefaults → structuralValidate,
// then the semantic rules of crds/validation. Problems are FieldIssues worded like kube-apiserver's.
//
// ajv does not know the OpenAPI/Kubernetes dialect (nullable, x-kubernetes-int-or-string, boolean
// exclusiveMinimum, x-kubernetes-* extensions), so schemas are translated to plain JSON Schema first (toJsonSchema).
// Unknown fields are not a validation error here: like kube, they are pruned (and reported by pruneUnknownFields).

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { OTHER_KNOWN_ATTRIBUTES, SRP_ATTRIBUTES } from './attributes';
import { definitionFor, type OpenApiSchema } from './loader';
import { API_VERSION, type KindName } from './types';
import { child, duplicate, index, invalid, key, notSupported, required, type FieldIssue } from './validation/field-issue';
import { upgradeLegacyShapes } from './validation/legacy';

export type JsonSchema = Record<string, unknown>;

/** The openAPIV3Schema of a kind, as written in its CRD (shared: do not mutate). */
export function schemaFor(kind: KindName): OpenApiSchema {
  const definition = definitionFor(kind);
  if (!definition) throw new Error(`crds: no definition for kind ${kind}`);
  return definition.schema;
}

// ------------------------------------------------------------------------------------------------ translation

export interface JsonSchemaOptions {
  /** Add `additionalProperties: false` where the schema is closed, so editors flag unknown fields. */
  rejectUnknownFields?: boolean;
}

/** Translates an OpenAPI v3 schema with Kubernetes extensions into a JSON Schema (draft-07) that ajv and editors accept. */
export function toJsonSchema(schema: OpenApiSchema, options: JsonSchemaOptions = {}): JsonSchema {
  const out: JsonSchema = {};
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  for (const [name, value] of Object.entries(schema)) {
    switch (name) {
      case 'properties': {
        const properties: Record<string, JsonSchema> = {};
        for (const [property, sub] of Object.entries(value as Record<string, OpenApiSchema>)) {
          properties[property] = toJsonSchema(sub, options);
        }
        out.properties = properties;
        break;
      }
      case 'additionalProperties':
        out.additionalProperties = typeof value === 'boolean' ? value : toJsonSchema(value as OpenApiSchema, options);
        break;
      case 'items':
        out.items = toJsonSchema(value as OpenApiSchema, options);
        break;
      case 'oneOf':
      case 'allOf':
        out[name] = (value as OpenApiSchema[]).map((s) => toJsonSchema(s, options));
        break;
      case 'anyOf':
        // The int-or-string idiom (anyOf integer|string) becomes a type list below.
        if (!intOrString) out.anyOf = (value as OpenApiSchema[]).map((s) => toJsonSchema(s, options));
        break;
      case 'not':
        out.not = toJsonSchema(value as OpenApiSchema, options);
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'nullable':
      case 'format': // Kubernetes formats (int32, int64...) are descriptive here; ajv would reject unknown ones.
        break;
      default:
        if (!name.startsWith('x-kubernetes-')) out[name] = value;
    }
  }
  // OpenAPI 3.0's boolean exclusive bounds are numeric in JSON Schema draft-06+.
  if (schema.exclusiveMinimum === true && schema.minimum !== undefined) {
    delete out.minimum;
    out.exclusiveMinimum = schema.minimum;
  }
  if (schema.exclusiveMaximum === true && schema.maximum !== undefined) {
    delete out.maximum;
    out.exclusiveMaximum = schema.maximum;
  }
  if (intOrString) out.type = ['integer', 'string'];
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (
    options.rejectUnknownFields &&
    schema.type === 'object' &&
    schema.properties &&
    schema.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * A JSON Schema of a whole manifest of `kind` for editors (yaml-language-server) and docs: the CRD schema with
 * apiVersion/kind pinned and the common metadata fields described.
 */
export function editorJsonSchema(kind: KindName, options: JsonSchemaOptions = { rejectUnknownFields: true }): JsonSchema {
  const root = toJsonSchema(schemaFor(kind), options);
  const properties = { ...(root.properties as Record<string, JsonSchema>) };
  properties.apiVersion = { ...properties.apiVersion, enum: [API_VERSION] };
  properties.kind = { ...properties.kind, enum: [kind] };
  properties.metadata = {
    type: 'object',
    description: 'Standard object metadata.',
    required: ['name'],
    properties: {
      name: { type: 'string', description: 'Name of the object: a lowercase RFC 1123 subdomain, unique in its namespace.' },
      ...(definitionFor(kind)?.scope === 'Namespaced'
        ? { namespace: { type: 'string', description: 'Namespace of the object (default: the current namespace).' } }
        : {}),
      labels: { type: 'object', description: 'Labels for selecting the object.', additionalProperties: { type: 'string' } },
      annotations: { type: 'object', description: 'Free-form annotations.', additionalProperties: { type: 'string' } },
    },
  };
  if (kind === 'Processor') properties.spec = withAttributeCatalogue(properties.spec);
  return { $schema: 'http://json-schema.org/draft-07/schema#', title: kind, ...root, properties, required: ['apiVersion', 'kind', 'metadata'] };
}

/** Describes the known keys of Processor spec.attributes (hover, completion, enum values) — the map stays open. */
function withAttributeCatalogue(spec: JsonSchema): JsonSchema {
  const specProperties = { ...(spec.properties as Record<string, JsonSchema>) };
  const known: Record<string, JsonSchema> = {};
  for (const attribute of SRP_ATTRIBUTES) {
    known[attribute.name] = {
      type: 'string',
      description: `${attribute.description} Value: ${attribute.valueHint}.${attribute.default ? ` Default: ${attribute.default}.` : ''}`,
      ...(attribute.allowedValues ? { enum: [...attribute.allowedValues] } : {}),
      examples: [attribute.example],
    };
  }
  for (const attribute of OTHER_KNOWN_ATTRIBUTES) {
    known[attribute.name] = { type: 'string', description: `${attribute.description} Value: ${attribute.valueHint}.`, examples: [attribute.example] };
  }
  specProperties.attributes = { ...specProperties.attributes, properties: known };
  return { ...spec, properties: specProperties };
}

// ------------------------------------------------------------------------------------------------ validation

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validators = new Map<KindName, ValidateFunction>();

function validatorFor(kind: KindName): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(schemaFor(kind)));
    validators.set(kind, validate);
  }
  return validate;
}

/**
 * Checks `obj` against the kind's schema (types, enums, bounds, required fields, one-of, list-map keys).
 * Unknown fields are ignored (prune them first). Never throws on bad input.
 */
export function structuralValidate(kind: KindName, obj: unknown): FieldIssue[] {
  const schema = schemaFor(kind);
  if (!isRecord(obj)) return [invalid('', obj, `must be of type object: ${JSON.stringify(jsonType(obj))}`)];
  const validate = validatorFor(kind);
  const issues: FieldIssue[] = [];
  if (!validate(obj)) {
    for (const error of validate.errors ?? []) {
      const issue = issueFromAjv(error, schema, obj);
      if (issue) issues.push(issue);
    }
  }
  issues.push(...listKeyDuplicates(schema, obj, ''));
  return dedupe(issues);
}

function issueFromAjv(error: ErrorObject, root: OpenApiSchema, obj: unknown): FieldIssue | undefined {
  // Errors inside one-of branches only explain why a branch did not match; the one-of error itself says it.
  if (/\/(oneOf|anyOf)\/\d+\//.test(error.schemaPath)) return undefined;
  const { field, schema, value } = locate(root, obj, error.instancePath);
  const params = error.params as Record<string, unknown>;
  const inBody = `${field || '<root>'} in body`;
  switch (error.keyword) {
    case 'required':
      return required(child(field, String(params.missingProperty)));
    case 'type': {
      const expected = Array.isArray(params.type) ? params.type.join(',') : String(params.type);
      return invalid(field, jsonType(value), `${inBody} must be of type ${expected}: ${JSON.stringify(jsonType(value))}`);
    }
    case 'enum':
      return notSupported(field, value, (schema?.enum ?? []).map((v) => String(v)));
    case 'minimum':
      return invalid(field, value, `${inBody} should be greater than or equal to ${String(params.limit)}`);
    case 'exclusiveMinimum':
      return invalid(field, value, `${inBody} should be greater than ${String(params.limit)}`);
    case 'maximum':
      return invalid(field, value, `${inBody} should be less than or equal to ${String(params.limit)}`);
    case 'exclusiveMaximum':
      return invalid(field, value, `${inBody} should be less than ${String(params.limit)}`);
    case 'minLength':
      return invalid(field, value, `${inBody} should be at least ${String(params.limit)} chars long`);
    case 'maxLength':
      return invalid(field, value, `${inBody} should be at most ${String(params.limit)} chars long`);
    case 'pattern':
      return invalid(field, value, `${inBody} should match '${String(params.pattern)}'`);
    case 'minItems':
      return invalid(field, value, `${inBody} should have at least ${String(params.limit)} items`);
    case 'maxItems':
      return invalid(field, value, `${inBody} should have at most ${String(params.limit)} items`);
    case 'uniqueItems':
      return duplicate(index(field, Number(params.i)), Array.isArray(value) ? value[Number(params.i)] : value);
    case 'minProperties':
      return invalid(field, value, `${inBody} should have at least ${String(params.limit)} properties`);
    case 'maxProperties':
      return invalid(field, value, `${inBody} should have at most ${String(params.limit)} properties`);
    case 'oneOf': {
      const passing = params.passingSchemas;
      const found = Array.isArray(passing) ? `Found ${passing.length} valid alternatives` : 'Found none valid';
      return invalid(field, value, `must validate one and only one schema (oneOf)${oneOfHint(schema)}. ${found}`);
    }
    default:
      return invalid(field, value, error.message ?? `failed ${error.keyword}`);
  }
}

/** For one-of schemas whose branches each require one field: ": set exactly one of a, b or c". */
function oneOfHint(schema: OpenApiSchema | undefined): string {
  const names = (schema?.oneOf ?? []).map((branch) => (branch.required?.length === 1 ? branch.required[0] : undefined));
  if (names.length < 2 || names.some((n) => n === undefined)) return '';
  return `: set exactly one of ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

/** Follows a JSON pointer through the data and schema, building the Kubernetes field path on the way. */
function locate(
  root: OpenApiSchema,
  obj: unknown,
  pointer: string,
): { field: string; schema: OpenApiSchema | undefined; value: unknown } {
  let field = '';
  let schema: OpenApiSchema | undefined = root;
  let value: unknown = obj;
  const segments = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const segment of segments) {
    if (Array.isArray(value)) {
      field = index(field, Number(segment));
      value = value[Number(segment)];
      schema = schema?.items;
    } else {
      const declared: OpenApiSchema | undefined = schema?.properties?.[segment];
      if (declared) {
        field = child(field, segment);
        schema = declared;
      } else {
        field = key(field, segment);
        schema = typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined;
      }
      value = isRecord(value) ? value[segment] : undefined;
    }
  }
  return { field, schema, value };
}

/** Kubernetes' list-type map/set rule: no two items may share their key fields (map) or value (set). */
function listKeyDuplicates(schema: OpenApiSchema | undefined, value: unknown, field: string): FieldIssue[] {
  if (!schema) return [];
  const issues: FieldIssue[] = [];
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      let identity: string | undefined;
      if (listType === 'map' && isRecord(item)) {
        identity = JSON.stringify(Object.fromEntries(keys.map((k) => [k, item[k] ?? mapKeyDefault(schema.items, k)])));
      } else if (listType === 'set') {
        identity = JSON.stringify(item);
      }
      if (identity !== undefined) {
        if (seen.has(identity)) issues.push(duplicate(index(field, i), listType === 'map' ? JSON.parse(identity) : item));
        seen.add(identity);
      }
      issues.push(...listKeyDuplicates(schema.items, item, index(field, i)));
    });
  } else if (isRecord(value)) {
    for (const [name, sub] of Object.entries(value)) {
      const declared = schema.properties?.[name];
      if (declared) issues.push(...listKeyDuplicates(declared, sub, child(field, name)));
      else if (typeof schema.additionalProperties === 'object') {
        issues.push(...listKeyDuplicates(schema.additionalProperties, sub, key(field, name)));
      }
    }
  }
  return issues;
}

function mapKeyDefault(items: OpenApiSchema | undefined, name: string): unknown {
  return items?.properties?.[name]?.default ?? null;
}

// ------------------------------------------------------------------------------------------------ defaulting

/**
 * Fills in schema `default`s for absent fields (recursively, also inside list items and map values) and drops
 * `null`s of non-nullable fields without a default (`replicas: ~`), like kube-apiserver. Before that it upgrades shapes the original Streaming Runtime's manifests used
 * (see validation/legacy.ts: Processor `inputs.sources`, Stream/ClusterStream `spec.name` from metadata.name).
 * Mutates `obj`. Never throws on bad input.
 */
export function applyDefaults(kind: KindName, obj: unknown): void {
  if (!isRecord(obj)) return;
  upgradeLegacyShapes(kind, obj);
  defaultNode(schemaFor(kind), obj);
}

function defaultNode(schema: OpenApiSchema | undefined, value: unknown): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const item of value) defaultNode(schema.items, item);
    return;
  }
  if (!isRecord(value)) return;
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const absent = !(name in value) || (value[name] === null && sub.nullable !== true);
    if (absent && sub.default !== undefined) value[name] = structuredClone(sub.default);
    else if (name in value && value[name] === null && sub.nullable !== true) delete value[name];
    if (name in value) defaultNode(sub, value[name]);
  }
  const additional = schema.additionalProperties;
  if (typeof additional === 'object') {
    for (const [name, sub] of Object.entries(value)) {
      if (schema.properties?.[name]) continue;
      if (sub === null && additional.nullable !== true) delete value[name];
      else defaultNode(additional, sub);
    }
  }
}

// ------------------------------------------------------------------------------------------------ pruning

/** The fields of ObjectMeta; anything else under metadata is unknown (as kube's strict decoding says). */
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
]);

/**
 * Removes fields the schema does not declare (except under x-kubernetes-preserve-unknown-fields) and returns their
 * paths, e.g. ["spec.foo", "spec.inputs[0].bar"], for fieldValidation=Warn/Strict (see unknownFieldMessage).
 * A value of the wrong type is left alone for structuralValidate to report. Mutates `obj`.
 */
export function pruneUnknownFields(kind: KindName, obj: unknown): string[] {
  if (!isRecord(obj)) return [];
  const dropped: string[] = [];
  const schema = schemaFor(kind);
  for (const name of Object.keys(obj)) {
    if (name === 'apiVersion' || name === 'kind') continue;
    if (name === 'metadata') {
      const metadata = obj.metadata;
      if (isRecord(metadata)) {
        for (const field of Object.keys(metadata)) {
          if (!OBJECT_META_FIELDS.has(field)) {
            delete metadata[field];
            dropped.push(`metadata.${field}`);
          }
        }
      }
      continue;
    }
    const declared = schema.properties?.[name];
    if (!declared) {
      delete obj[name];
      dropped.push(name);
    } else {
      pruneNode(declared, obj[name], name, dropped);
    }
  }
  return dropped;
}

function pruneNode(schema: OpenApiSchema, value: unknown, field: string, dropped: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => pruneNode(schema.items as OpenApiSchema, item, index(field, i), dropped));
    return;
  }
  if (!isRecord(value) || (schema.type !== 'object' && schema.type !== undefined)) return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const name of Object.keys(value)) {
    const declared = schema.properties?.[name];
    if (declared) {
      pruneNode(declared, value[name], child(field, name), dropped);
    } else if (typeof schema.additionalProperties === 'object') {
      pruneNode(schema.additionalProperties, value[name], key(field, name), dropped);
    } else if (!preserve && schema.additionalProperties !== true && schema.type === 'object') {
      delete value[name];
      dropped.push(child(field, name));
    }
  }
}

/** kube-apiserver's wording for a pruned field, e.g. `unknown field "spec.foo"`. */
export function unknownFieldMessage(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

// ------------------------------------------------------------------------------------------------ helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const id = `${issue.field}\u0000${issue.type}\u0000${issue.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

