// The Confluent wire format of a schema-registry-encoded payload: magic byte 0, the writer schema's registry id as a
// 4-byte big-endian integer, then the Avro binary body. Confluent's serializers (Java, librdkafka clients,
// kafkajs' @kafkajs/confluent-schema-registry) all write it, and they set no content-type header: the frame is how
// such a payload is recognised.

export const CONFLUENT_MAGIC_BYTE = 0;
export const CONFLUENT_HEADER_LENGTH = 5;

export interface WireFrame {
  schemaId: number;
  body: Buffer;
}

/** The frame of a payload, or undefined when it does not start with the magic byte and a schema id. */
export function readWireFrame(payload: Buffer): WireFrame | undefined {
  if (payload.length < CONFLUENT_HEADER_LENGTH || payload[0] !== CONFLUENT_MAGIC_BYTE) return undefined;
  return { schemaId: payload.readInt32BE(1), body: payload.subarray(CONFLUENT_HEADER_LENGTH) };
}

/** A payload in the wire format (tests and tools; the processor never re-encodes). */
export function writeWireFrame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(CONFLUENT_HEADER_LENGTH);
  header[0] = CONFLUENT_MAGIC_BYTE;
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** The content type says Avro: `application/*+avro`, `application/vnd.x.v1+avro`, `avro/binary`, `avro/bytes`... */
export function saysAvro(contentType: string | undefined): boolean {
  return contentType !== undefined && /avro/i.test(contentType);
}

/** No content type, or one that only says "bytes": the payload may be a Confluent frame without saying so. */
export function isUntyped(contentType: string | undefined): boolean {
  return contentType === undefined || contentType.trim() === '' || /^application\/octet-stream\b/i.test(contentType.trim());
}
