// Semantic rules of a Stream: the destination name for its protocol, partitioning (keys xor keyExpression, a
// keyExpression that parses), and the data schema (one form only, parsable inline schemas, watermark expressions
// that parse and name a declared field).

import { parse as parseYaml, YAMLError } from 'yaml';
import { parseSpel, parseWatermarkExpression } from '../expressions';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  required,
  type FieldIssue,
  type ValidationResult,
} from './field-issue';
import { destinationProblems, dns1123SubdomainProblems } from './names';
import { arrayOf, isAbsoluteUrl, isHttpUrl, isRecord, recordOf, stringOf, type JsonObject } from './values';

export function validateStream(obj: JsonObject): ValidationResult {
  const result: ValidationResult = { errors: [], warnings: [] };
  if (!isRecord(obj.spec)) {
    result.errors.push(required('spec'));
    return result;
  }
  const spec = obj.spec;
  const name = stringOf(spec.name);
  if (name !== undefined) {
    for (const problem of destinationProblems(spec.protocol, name)) result.errors.push(invalid('spec.name', name, problem));
  }
  validatePartitioning(spec, result.errors);
  const clusterStream = stringOf(recordOf(spec.storage).clusterStream);
  if (clusterStream !== undefined) {
    for (const problem of dns1123SubdomainProblems(clusterStream)) {
      result.errors.push(invalid('spec.storage.clusterStream', clusterStream, problem));
    }
  }
  const binding = stringOf(spec.binding);
  if (binding !== undefined) {
    for (const problem of dns1123SubdomainProblems(binding)) result.errors.push(invalid('spec.binding', binding, `must name a Secret: ${problem}`));
  }
  if (isRecord(spec.dataSchemaContext)) validateDataSchema(spec.dataSchemaContext, 'spec.dataSchemaContext', result);
  return result;
}

function validatePartitioning(spec: JsonObject, errors: FieldIssue[]): void {
  const keys = spec.keys;
  const keyExpression = stringOf(spec.keyExpression);
  if (Array.isArray(keys) && keys.length > 0 && keyExpression !== undefined) {
    errors.push(forbidden('spec.keyExpression', 'may not be set together with spec.keys: partition by header keys or by an expression, not both'));
  }
  const seen = new Set<string>();
  arrayOf(keys).forEach((entry, i) => {
    if (typeof entry !== 'string') return;
    if (entry.trim() === '') errors.push(invalid(index('spec.keys', i), entry, 'must be a header name'));
    else if (seen.has(entry)) errors.push(duplicate(index('spec.keys', i), entry));
    seen.add(entry);
  });
  if (keyExpression !== undefined) {
    const parsed = parseSpel(keyExpression);
    if (!parsed.ok) {
      errors.push(invalid('spec.keyExpression', keyExpression, `${parsed.error} (at offset ${parsed.offset})`, parsed.offset));
    }
  }
  const partitionCount = spec.partitionCount;
  if (typeof partitionCount === 'number' && (!Number.isInteger(partitionCount) || partitionCount < 1)) {
    errors.push(invalid('spec.partitionCount', partitionCount, 'must be greater than or equal to 1'));
  }
}

const SCHEMA_FORMS = ['inline', 'schema', 'schemaless'] as const;

function validateDataSchema(context: JsonObject, field: string, result: ValidationResult): void {
  const present = SCHEMA_FORMS.filter((form) => context[form] !== undefined && context[form] !== null);
  if (present.length === 0) {
    result.errors.push(required(field, 'exactly one of inline, schema or schemaless must be set'));
  }
  for (const extra of present.slice(1)) {
    result.errors.push(forbidden(child(field, extra), `may not be set together with ${child(field, present[0])}: exactly one of inline, schema or schemaless`));
  }
  // Fields the data is declared to have; undefined when the schema form does not let us know (sql, schemaless).
  let declared: Set<string> | undefined;
  const addDeclared = (names: string[]): void => {
    declared = new Set([...(declared ?? []), ...names]);
  };

  const schemaless = stringOf(context.schemaless);
  if (schemaless !== undefined && !/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(schemaless.trim())) {
    result.errors.push(invalid(child(field, 'schemaless'), schemaless, 'must be a content type such as application/json'));
  }

  const inline = recordOf(context.inline);
  const inlineType = stringOf(inline.type);
  const inlineSchema = stringOf(inline.schema);
  // avro-confluent may name the schema by its registry URL instead of giving it.
  const registryReference = inlineType === 'avro-confluent' && inlineSchema !== undefined && isAbsoluteUrl(inlineSchema.trim());
  if (inlineSchema !== undefined && (inlineType === 'avro' || inlineType === 'avro-confluent') && !registryReference) {
    const avroFields = parseAvroFields(inlineSchema, child(child(field, 'inline'), 'schema'), result.errors);
    if (avroFields) addDeclared(avroFields);
  }

  const schema = recordOf(context.schema);
  if (Array.isArray(schema.fields)) {
    addDeclared(validateFields(schema.fields, child(child(field, 'schema'), 'fields'), result.errors));
  }
  if (Array.isArray(context.metadataFields)) {
    addDeclared(validateFields(context.metadataFields, child(field, 'metadataFields'), result.errors));
  }

  arrayOf(context.timeAttributes).forEach((entry, i) => {
    const path = index(child(field, 'timeAttributes'), i);
    const attribute = recordOf(entry);
    const name = stringOf(attribute.name);
    if (name !== undefined && name.trim() === '') result.errors.push(invalid(child(path, 'name'), name, 'must name a field'));
    const watermark = stringOf(attribute.watermark);
    if (watermark !== undefined) checkWatermark(watermark, child(path, 'watermark'), declared, result);
  });

  if (declared) {
    arrayOf(context.primaryKey).forEach((entry, i) => {
      if (typeof entry === 'string' && !declared?.has(entry)) {
        result.warnings.push(invalid(index(child(field, 'primaryKey'), i), entry, 'is not a declared field'));
      }
    });
  }

  const registry = stringOf(context.schemaRegistryUri);
  if (registry !== undefined && !isHttpUrl(registry.trim())) {
    result.errors.push(invalid(child(field, 'schemaRegistryUri'), registry, 'must be an http:// or https:// URL, e.g. http://registry:8081'));
  }
}

/** Checks field entries (unique names, parsable watermarks) and returns their names. */
function validateFields(fields: unknown[], field: string, errors: FieldIssue[]): string[] {
  const names: string[] = [];
  fields.forEach((entry, i) => {
    const path = index(field, i);
    const item = recordOf(entry);
    const name = stringOf(item.name);
    if (name !== undefined) {
      if (name.trim() === '') errors.push(invalid(child(path, 'name'), name, 'must not be empty'));
      else if (names.includes(name)) errors.push(duplicate(child(path, 'name'), name));
      names.push(name);
    }
    const watermark = stringOf(item.watermark);
    if (watermark !== undefined) checkWatermark(watermark, child(path, 'watermark'), undefined, { errors, warnings: [] });
  });
  return names;
}

/**
 * A watermark must parse. Naming a field that is not declared is only a warning: the original's samples use
 * fields nested in an opaque payload (declared as one bytes field).
 */
function checkWatermark(text: string, path: string, declared: Set<string> | undefined, result: ValidationResult): void {
  const parsed = parseWatermarkExpression(text);
  if (!parsed.ok) {
    result.errors.push(invalid(path, text, `${parsed.error} (at offset ${parsed.offset}; expected e.g. \`ts\` - INTERVAL '2' SECOND)`, parsed.offset));
    return;
  }
  const fieldName = parsed.value.field;
  if (declared && !fieldName.startsWith('header.') && !declared.has(fieldName)) {
    const offset = Math.max(0, text.indexOf(fieldName));
    result.warnings.push(invalid(path, text, `names ${JSON.stringify(fieldName)}, which is not a declared field (declared: ${[...declared].join(', ')})`, offset));
  }
}

/**
 * Parses an inline Avro schema, written as JSON or (as the original accepted) YAML; reports syntax errors with their
 * offset. Returns the record's field names if any.
 */
function parseAvroFields(text: string, path: string, errors: FieldIssue[]): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { prettyErrors: false });
  } catch (error: unknown) {
    const offset = error instanceof YAMLError ? error.pos[0] : 0;
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    errors.push(invalid(path, text, `an Avro schema must be JSON (or YAML): ${message}`, offset));
    return undefined;
  }
  if (!isRecord(parsed)) {
    errors.push(invalid(path, text, 'an Avro schema must be a JSON object, e.g. {"type": "record", "name": "User", "fields": [...]}'));
    return undefined;
  }
  if (!Array.isArray(parsed.fields)) return undefined;
  return parsed.fields.map((f) => stringOf(recordOf(f).name)).filter((n): n is string => n !== undefined);
}
