// The protobuf form of the OpenAPI v2 document (gnostic's openapi.v2.Document), which is the only form kubectl
// fetches from /openapi/v2 (for `kubectl explain --output=plaintext-openapiv2` and client-side validation).
// A small hand-written encoder: definitions with their schemas and vendor extensions; paths are left out
// (kubectl reads only definitions).
import { stringify as toYaml } from 'yaml';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

type Json = unknown;

class Writer {
  private readonly parts: Buffer[] = [];

  private varint(n: number | bigint): void {
    let v = BigInt(n);
    if (v < 0n) v = (1n << 64n) + v;
    const bytes: number[] = [];
    while (v >= 0x80n) { bytes.push(Number((v & 0x7fn) | 0x80n)); v >>= 7n; }
    bytes.push(Number(v));
    this.parts.push(Buffer.from(bytes));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  string(field: number, value: string | undefined): void {
    if (value === undefined || value === '') return;
    this.bytes(field, Buffer.from(value, 'utf8'));
  }

  bytes(field: number, value: Buffer): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.parts.push(value);
  }

  message(field: number, build: (w: Writer) => void): void {
    const inner = new Writer();
    build(inner);
    this.bytes(field, inner.finish());
  }

  bool(field: number, value: unknown): void {
    if (value !== true) return;
    this.tag(field, 0);
    this.varint(1);
  }

  int64(field: number, value: unknown): void {
    if (typeof value !== 'number' || !Number.isInteger(value)) return;
    this.tag(field, 0);
    this.varint(value);
  }

  double(field: number, value: unknown): void {
    if (typeof value !== 'number') return;
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function isRecord(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** openapi.v2.Any: the value as YAML text. */
function anyValue(w: Writer, field: number, value: Json): void {
  w.message(field, (a) => a.string(2, toYaml(value).trimEnd() || 'null'));
}

function schema(w: Writer, s: Json): void {
  if (!isRecord(s)) return;
  w.string(1, typeof s.$ref === 'string' ? s.$ref : undefined);
  w.string(2, typeof s.format === 'string' ? s.format : undefined);
  w.string(3, typeof s.title === 'string' ? s.title : undefined);
  w.string(4, typeof s.description === 'string' ? s.description : undefined);
  if (s.default !== undefined) anyValue(w, 5, s.default);
  w.double(6, s.multipleOf);
  w.double(7, s.maximum);
  w.bool(8, s.exclusiveMaximum);
  w.double(9, s.minimum);
  w.bool(10, s.exclusiveMinimum);
  w.int64(11, s.maxLength);
  w.int64(12, s.minLength);
  w.string(13, typeof s.pattern === 'string' ? s.pattern : undefined);
  w.int64(14, s.maxItems);
  w.int64(15, s.minItems);
  w.bool(16, s.uniqueItems);
  w.int64(17, s.maxProperties);
  w.int64(18, s.minProperties);
  if (Array.isArray(s.required)) for (const r of s.required) if (typeof r === 'string') w.string(19, r);
  if (Array.isArray(s.enum)) for (const e of s.enum) anyValue(w, 20, e);
  if (isRecord(s.additionalProperties)) w.message(21, (a) => a.message(1, (x) => schema(x, s.additionalProperties)));
  else if (typeof s.additionalProperties === 'boolean') w.message(21, (a) => { a.bool(2, s.additionalProperties); });
  if (typeof s.type === 'string') w.message(22, (t) => t.string(1, s.type as string));
  if (isRecord(s.items)) w.message(23, (i) => i.message(1, (x) => schema(x, s.items)));
  if (Array.isArray(s.allOf)) for (const a of s.allOf) w.message(24, (x) => schema(x, a));
  if (isRecord(s.properties)) {
    const props = s.properties;
    w.message(25, (p) => {
      for (const [name, value] of Object.entries(props)) p.message(1, (n) => { n.string(1, name); n.message(2, (x) => schema(x, value)); });
    });
  }
  w.bool(27, s.readOnly);
  if (s.example !== undefined) anyValue(w, 30, s.example);
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-')) w.message(31, (n) => { n.string(1, k); anyValue(n, 2, v); });
  }
}

/** Encodes a swagger 2.0 JSON document (swagger, info, definitions). */
export function encodeOpenApiV2(doc: { swagger?: string; info?: { title?: string; version?: string }; definitions?: Record<string, Json> }): Buffer {
  const w = new Writer();
  w.string(1, doc.swagger ?? '2.0');
  w.message(2, (i) => { i.string(1, doc.info?.title); i.string(2, doc.info?.version); });
  const definitions = doc.definitions ?? {};
  w.message(9, (d) => {
    for (const [name, value] of Object.entries(definitions)) d.message(1, (n) => { n.string(1, name); n.message(2, (x) => schema(x, value)); });
  });
  return w.finish();
}
