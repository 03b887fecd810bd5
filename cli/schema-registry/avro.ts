// What the registry needs to know about a schema text: is it valid, what is its identity (two registrations of
// the same schema get the same id), and can one version read data written with another. Avro is parsed by avsc (the
// library @kafkajs/confluent-schema-registry itself uses); JSON Schema and Protobuf are stored, not interpreted.
import { Type, type Schema } from 'avsc';

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';
export const SCHEMA_TYPES: readonly SchemaType[] = ['AVRO', 'JSON', 'PROTOBUF'];

/** A reference to a schema registered elsewhere (`references` of a registration: the type name it defines). */
export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

/** Looks a referenced schema up (subject + version) and gives its text and own references. */
export type ReferenceResolver = (ref: SchemaReference) => { schema: string; references?: SchemaReference[] } | undefined;

export class InvalidSchemaError extends Error {}

/** Parses an Avro schema text (with its references registered first) into an avsc Type; throws InvalidSchemaError. */
export function parseAvro(text: string, references: SchemaReference[] = [], resolve?: ReferenceResolver): Type {
  const registry: Record<string, Type> = {};
  const seen = new Set<string>();
  const load = (refs: SchemaReference[]): void => {
    for (const ref of refs) {
      const key = `${ref.subject}/${ref.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const found = resolve?.(ref);
      if (!found) throw new InvalidSchemaError(`reference ${ref.name} (subject ${ref.subject} version ${ref.version}) is not registered`);
      load(found.references ?? []);
      Type.forSchema(jsonOf(found.schema) as Schema, { registry });
    }
  };
  load(references);
  try {
    return Type.forSchema(jsonOf(text) as Schema, { registry });
  } catch (err) {
    throw new InvalidSchemaError(`Invalid schema: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Validates a schema of any type; returns the text to store (Avro and JSON compacted, Protobuf as given). */
export function validate(type: SchemaType, text: string, references: SchemaReference[] = [], resolve?: ReferenceResolver): string {
  if (type === 'AVRO') {
    parseAvro(text, references, resolve);
    return JSON.stringify(jsonOf(text));
  }
  if (type === 'JSON') return JSON.stringify(jsonOf(text));
  if (text.trim() === '') throw new InvalidSchemaError('Invalid schema: empty Protobuf schema');
  return text;
}

/** The identity of a schema: the same schema written with other whitespace or another key order is the same
 *  schema (Confluent compares the parsed schema's canonical string, which fixes the key order too). */
export function identity(type: SchemaType, text: string, references: SchemaReference[] = []): string {
  let body: string;
  try {
    body = type === 'PROTOBUF' ? text.trim() : sortedJson(JSON.parse(text) as unknown);
  } catch {
    body = text.trim();
  }
  return JSON.stringify([type, body, references.map((r) => [r.name, r.subject, r.version])]);
}

/** Why `reader` cannot read data written with `writer`, or undefined when it can (Avro schema resolution). */
export function readError(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidSchemaError(`Invalid schema: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
