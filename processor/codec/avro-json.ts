// An Avro value, as avsc decodes it, as plain JSON for the pipeline's stages (JSON path, SpEL, JSONata, UDFs).
// Records, maps and arrays become objects and arrays; enums are their symbol; unions are unwrapped when avsc can
// (`["null","string"]` gives the string or null), else `{ "type": value }` as in Avro's JSON encoding; `bytes` and
// `fixed` become strings whose code points are the byte values (ISO-8859-1), as in Avro's JSON encoding (and
// Confluent's JSON rendering); `long` is a number (avsc rejects longs beyond 2^53 as corrupt); logical types keep
// their underlying value (a `timestamp-millis` is epoch milliseconds, which event time reads directly).

export function avroToJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (Array.isArray(value)) return value.map(avroToJson);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = avroToJson(field);
  return out;
}
