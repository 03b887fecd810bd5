// Values as the original's serializers write them. AVRO: Confluent's wire format — magic byte 0, the schema id
// (4 bytes, big-endian), the Avro binary body — with the schema registered under the topic's value subject
// (`<topic>-value`, Confluent's TopicNameStrategy), as GenericAvroSerializer does. JSON: the record as JSON text.
import { Type, type Schema } from 'avsc';
import type { AvroJson } from './records';

export interface ValueEncoder {
  readonly contentType: string | undefined;
  encode(record: Record<string, unknown>): Buffer;
}

export function jsonEncoder(): ValueEncoder {
  return {
    contentType: 'application/json',
    encode: (record) => Buffer.from(JSON.stringify(record, (_k, v: unknown) => (isBufferJson(v) ? Buffer.from(v.data).toString('base64') : v))),
  };
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

/** Registers the schema under `subject` (an identical schema keeps its id) and returns the id. */
export async function registerSchema(registryUrl: string, subject: string, schema: AvroJson): Promise<number> {
  const url = new URL(`subjects/${encodeURIComponent(subject)}/versions`, registryUrl.endsWith('/') ? registryUrl : `${registryUrl}/`);
  const headers: Record<string, string> = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
  if (url.username) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ schema: JSON.stringify(schema) }), signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`schema registry ${url.origin} cannot be reached: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => ({}))) as { id?: number; message?: string; error_code?: number };
  if (!res.ok || typeof body.id !== 'number') {
    throw new Error(`schema registry ${url.origin} refused the schema for ${subject}: ${body.message ?? `HTTP ${res.status}`}`);
  }
  return body.id;
}

/** An encoder for the Confluent wire format with a registered schema id. */
export function avroEncoder(schema: AvroJson, schemaId: number): ValueEncoder {
  // Unwrapped union values (the generator makes plain values, as the original's GenericData does); the binary is the
  // same either way.
  const type = Type.forSchema(schema as Schema, { wrapUnions: false });
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(schemaId, 1);
  return {
    contentType: undefined,
    encode: (record) => Buffer.concat([header, type.toBuffer(record)]),
  };
}

/** The encoder of a generator stream writing to `topic`: JSON, or AVRO with the schema registered under
 *  `<topic>-value` in `registryUrl`; `detail` says which, for the start-up lines. */
export async function encoderFor(valueFormat: 'AVRO' | 'JSON', schema: AvroJson, topic: string, registryUrl: string | undefined): Promise<{ encoder: ValueEncoder; detail: string }> {
  if (valueFormat === 'JSON') return { encoder: jsonEncoder(), detail: 'JSON' };
  if (!registryUrl) throw new Error('valueFormat AVRO needs a schema registry: run sr up (its registry) or pass --schema-registry-url');
  const subject = `${topic}-value`;
  const id = await registerSchema(registryUrl, subject, schema);
  return { encoder: avroEncoder(schema, id), detail: `AVRO (subject ${subject}, schema id ${id}, ${registryUrl.replace(/\/\/[^/@]*@/, '//***@')})` };
}
