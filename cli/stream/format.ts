// How `sr stream tail` prints a record: one JSON object per line (key, headers, partition, offset, value), or the
// value alone (`raw`). Avro in the Confluent wire format is decoded with the processors' own codec (the writer schema
// from the registry), so what is shown is what a processor's stages would read.
import { AvroPayloadDecoder, OriginalEncodings, SchemaRegistryClient, readWireFrame } from '../../processor/codec';
import type { TailRecord } from './tail';

export type Format = 'json' | 'raw';

export interface PrintedRecord {
  partition?: number;
  offset?: string;
  timestamp?: string;
  routingKey?: string;
  key?: string;
  keyEncoding?: 'base64';
  headers: Record<string, string>;
  /** Parsed JSON, or text, or base64 (`valueEncoding`). */
  value: unknown;
  valueEncoding?: 'base64';
  /** Avro payloads: decoded with this writer schema. */
  schemaId?: number;
  /** Why an Avro-looking payload was not decoded (then `value` is its bytes). */
  decodeError?: string;
  /** Read from a durable queue's existing contents, and left there. */
  kept?: boolean;
  redelivered?: boolean;
}

function text(bytes: Buffer): { text: string } | undefined {
  const s = bytes.toString('utf8');
  return Buffer.byteLength(s) === bytes.length && !s.includes('\uFFFD') ? { text: s } : undefined;
}

function valueOf(payload: Buffer): { value: unknown; valueEncoding?: 'base64' } {
  const t = text(payload);
  if (!t) return { value: payload.toString('base64'), valueEncoding: 'base64' };
  try {
    return { value: JSON.parse(t.text) as unknown };
  } catch {
    return { value: t.text };
  }
}

export class RecordPrinter {
  private readonly decoder: AvroPayloadDecoder | undefined;
  /** Records are printed in the order they came, even when a schema has to be fetched first. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly format: Format, private readonly write: (line: string) => void, registryUrl?: string) {
    this.decoder = registryUrl ? new AvroPayloadDecoder(new SchemaRegistryClient({ url: registryUrl, maxAttempts: 2 }), new OriginalEncodings()) : undefined;
  }

  print(record: TailRecord): Promise<void> {
    this.chain = this.chain.then(async () => this.write(await this.line(record)));
    return this.chain;
  }

  /** Resolves once everything given to print() is written. */
  flush(): Promise<void> {
    return this.chain;
  }

  /** The payload to show: Avro decoded to JSON when a registry is known, else as it is. */
  private async payloadOf(record: TailRecord): Promise<{ payload: Buffer; schemaId?: number; decodeError?: string }> {
    const { message } = record;
    if (!this.decoder) return { payload: message.payload };
    try {
      const decoded = await this.decoder.decode(message);
      if (decoded === message) return { payload: message.payload };
      const schemaId = readWireFrame(message.payload)?.schemaId;
      return { payload: decoded.payload, ...(schemaId !== undefined ? { schemaId } : {}) };
    } catch (err) {
      return { payload: message.payload, decodeError: err instanceof Error ? err.message : String(err) };
    }
  }

  async describe(record: TailRecord): Promise<PrintedRecord> {
    const { message } = record;
    const { payload, ...decoding } = await this.payloadOf(record);
    // Where it is first (partition, offset, key), then what it says.
    const out = {} as PrintedRecord;
    if (record.partition !== undefined) out.partition = record.partition;
    if (record.offset !== undefined) out.offset = record.offset;
    if (record.timestamp !== undefined && Number.isFinite(record.timestamp)) out.timestamp = new Date(record.timestamp).toISOString();
    if (record.routingKey !== undefined) out.routingKey = record.routingKey;
    if (message.key) {
      const key = text(message.key);
      if (key) out.key = key.text;
      else { out.key = message.key.toString('base64'); out.keyEncoding = 'base64'; }
    }
    out.headers = message.headers;
    Object.assign(out, message.tombstone ? { value: null } : valueOf(payload), decoding);
    if (record.kept) out.kept = true;
    if (record.redelivered) out.redelivered = true;
    return out;
  }

  private async line(record: TailRecord): Promise<string> {
    if (this.format === 'json') return `${JSON.stringify(await this.describe(record))}\n`;
    // The bytes as they are (Avro: its JSON), one record per line.
    const { payload } = await this.payloadOf(record);
    return `${text(payload)?.text ?? payload.toString('base64')}\n`;
  }
}
