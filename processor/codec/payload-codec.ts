// The payload codec seam: an Avro payload in the Confluent wire format is decoded, with its writer schema from the
// registry, into JSON that every stage reads (timestamps `payload.X`, SpEL, JSONata, filters, key expressions,
// srp.output.headers, UDFs, windows). The bytes it arrived in are remembered for its decoded payload, so a message
// whose payload no stage replaced leaves in its original encoding (see OriginalEncodings).
import type { Message } from '../message';
import { avroToJson } from './avro-json';
import { SchemaFetchError, type SchemaRegistryClient, type WriterSchema } from './registry-client';
import { isUntyped, readWireFrame, saysAvro, type WireFrame } from './wire-format';

/** contentType of a decoded payload, as the stages see it. */
export const DECODED_CONTENT_TYPE = 'application/json';
/** contentType given back to a passed-through Avro payload that arrived without one. */
export const AVRO_CONTENT_TYPE = 'avro/binary';

/** The payload says it is Avro (or is a Confluent frame) and cannot be decoded: the pipeline dead-letters it with
 *  `x-exception-stage: decode`. `permanent` is false when the registry could not be reached. */
export class PayloadDecodeError extends Error {
  readonly stage = 'decode';
  constructor(
    message: string,
    readonly permanent = true,
  ) {
    super(message);
    this.name = 'PayloadDecodeError';
  }
}

/**
 * Decoded payload -> the bytes and content type it was decoded from. Keyed by the decoded Buffer's identity: every
 * stage that keeps a payload keeps the same Buffer, every stage that changes it (a transform, a UDF reply, a window)
 * makes a new one. So "this payload is still the decoded one" needs no bookkeeping in the stages.
 */
export class OriginalEncodings {
  private readonly originals = new WeakMap<Buffer, { payload: Buffer; contentType: string }>();

  remember(decoded: Buffer, payload: Buffer, contentType: string): void {
    this.originals.set(decoded, { payload, contentType });
  }

  /** The message with its original bytes and content type when its payload is still a decoded one, else itself. */
  restore(message: Message): Message {
    const original = this.originals.get(message.payload);
    if (!original) return message;
    const out: Message = { payload: original.payload, headers: { ...message.headers, contentType: original.contentType } };
    if (message.key) out.key = message.key;
    return out;
  }
}

export class AvroPayloadDecoder {
  constructor(
    private readonly registry: SchemaRegistryClient,
    private readonly originals: OriginalEncodings,
  ) {}

  /**
   * The message with its payload decoded to JSON (contentType application/json), or the message itself when it is
   * not Avro: its contentType says something else (JSON, text...), or it is untyped and not a Confluent frame.
   * Synchronous when the schema is known; throws (or rejects with) PayloadDecodeError.
   */
  decode(message: Message): Message | Promise<Message> {
    const contentType = message.headers.contentType;
    const typedAvro = saysAvro(contentType);
    if (!typedAvro && !isUntyped(contentType)) return message;
    const frame = readWireFrame(message.payload);
    if (!frame) {
      if (!typedAvro) return message;
      throw new PayloadDecodeError(
        `contentType '${contentType}' says Avro but the payload is not in the Confluent wire format ` +
          '(magic byte 0, 4-byte schema id, Avro binary)',
      );
    }
    if (frame.schemaId <= 0) throw new PayloadDecodeError(`invalid schema id ${frame.schemaId} in the Confluent wire-format header`);
    const schema = this.registry.cached(frame.schemaId);
    if (schema) return this.toJson(message, frame, schema);
    return this.registry.schema(frame.schemaId).then(
      (fetched) => this.toJson(message, frame, fetched),
      (err: unknown) => {
        const permanent = !(err instanceof SchemaFetchError) || err.permanent;
        throw new PayloadDecodeError(err instanceof Error ? err.message : String(err), permanent);
      },
    );
  }

  private toJson(message: Message, frame: WireFrame, schema: WriterSchema): Message {
    let value: unknown;
    try {
      value = schema.decode(frame.body);
    } catch (err) {
      throw new PayloadDecodeError(`Avro payload does not decode with its writer schema (id ${frame.schemaId}): ${err instanceof Error ? err.message : String(err)}`);
    }
    const payload = Buffer.from(JSON.stringify(avroToJson(value)), 'utf8');
    this.originals.remember(payload, message.payload, message.headers.contentType || AVRO_CONTENT_TYPE);
    const out: Message = { payload, headers: { ...message.headers, contentType: DECODED_CONTENT_TYPE } };
    if (message.key) out.key = message.key;
    return out;
  }
}
