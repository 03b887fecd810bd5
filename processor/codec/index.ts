// Payload codecs of one processor: which inputs decode Avro through which schema registry (the attribute
// `srp.input.schemaRegistryUri` for every input, else each input Stream's `schemaRegistryUri`), one registry client
// per distinct URL, and the pass-through of payloads no stage changed.
import type { BindingConfig, ProcessorConfig } from '../config';
import type { Message } from '../message';
import { AvroPayloadDecoder, OriginalEncodings } from './payload-codec';
import { SchemaRegistryClient, type RegistryClientOptions, type RegistryStatus } from './registry-client';

export { AvroPayloadDecoder, OriginalEncodings, PayloadDecodeError, AVRO_CONTENT_TYPE, DECODED_CONTENT_TYPE } from './payload-codec';
export { SchemaRegistryClient, SchemaFetchError, parseRegistryUrl, type RegistryStatus, type WriterSchema } from './registry-client';
export { readWireFrame, writeWireFrame, saysAvro, isUntyped, CONFLUENT_MAGIC_BYTE } from './wire-format';
export { avroToJson } from './avro-json';

export const ATTRIBUTE_SCHEMA_REGISTRY = 'srp.input.schemaRegistryUri';

/** A registry whose last answer is older than this is asked again by the readiness check. */
const READINESS_FRESH_MS = 5000;

/** The registry an input decodes with: the attribute (overrides every input's), else the input Stream's. */
export function schemaRegistryUrlFor(attributes: Readonly<Record<string, string>>, input: BindingConfig): string | undefined {
  const fromAttribute = attributes[ATTRIBUTE_SCHEMA_REGISTRY]?.trim();
  if (fromAttribute) return fromAttribute;
  const fromStream = input.schemaRegistryUri?.trim();
  return fromStream || undefined;
}

export class PayloadCodecs {
  private readonly decoders = new Map<string, AvroPayloadDecoder>();
  private readonly clients = new Map<string, { client: SchemaRegistryClient; inputs: string[] }>();
  private readonly originals = new OriginalEncodings();

  /** Throws (naming the setting) when a registry URL is not an http(s) URL. */
  constructor(config: ProcessorConfig, options: Omit<RegistryClientOptions, 'url'> = {}) {
    config.inputs.forEach((input, i) => {
      const url = schemaRegistryUrlFor(config.attributes, input);
      if (!url) return;
      let entry = this.clients.get(url);
      if (!entry) {
        try {
          entry = { client: new SchemaRegistryClient({ ...options, url }), inputs: [] };
        } catch (err) {
          const setting = config.attributes[ATTRIBUTE_SCHEMA_REGISTRY]?.trim() ? ATTRIBUTE_SCHEMA_REGISTRY : `inputs[${i}].schemaRegistryUri`;
          throw new Error(`${setting}: ${err instanceof Error ? err.message : String(err)}`);
        }
        this.clients.set(url, entry);
      }
      entry.inputs.push(input.stream);
      this.decoders.set(input.stream, new AvroPayloadDecoder(entry.client, this.originals));
    });
  }

  /** Some input has a registry. */
  get active(): boolean {
    return this.decoders.size > 0;
  }

  /** See AvroPayloadDecoder.decode; messages of inputs without a registry are returned as they are. */
  decode(input: BindingConfig, message: Message): Message | Promise<Message> {
    const decoder = this.decoders.get(input.stream);
    return decoder ? decoder.decode(message) : message;
  }

  /** An outbound message whose payload is still a decoded one gets its original bytes and content type back. */
  restore(message: Message): Message {
    return this.originals.restore(message);
  }

  /** One line per registry that does not answer (asked again when its last answer is not recent). */
  async readiness(timeoutMs: number): Promise<string[]> {
    const reasons: string[] = [];
    await Promise.all([...this.clients.values()].map(async ({ client }) => {
      let status = client.status();
      const fresh = status.state === 'reachable' && Date.now() - (status.lastContactAt ?? 0) < READINESS_FRESH_MS;
      if (!fresh) status = await client.probe(timeoutMs);
      if (status.state !== 'reachable') reasons.push(`schema registry ${status.url}: unreachable${status.lastError ? ` (${status.lastError})` : ''}`);
    }));
    return reasons;
  }

  /** For /debug/state: each registry's status and the inputs that decode with it. */
  describe(): Array<RegistryStatus & { inputs: string[] }> {
    return [...this.clients.values()].map(({ client, inputs }) => ({ ...client.status(), inputs }));
  }
}
