// `srp.output.headers`: "name=header.X;name2=payload.a.b". Applied last, to the OUTBOUND message (after transforms
// and the UDF, once eventtime/watermark are set): `header.X` copies header X of that message (which carries the
// inbound headers), `payload.a.b` reads the outbound payload. A missing source leaves the header unset.

import { parseOutputHeaders, type OutputHeader } from '../../crds/expressions/output-headers';
import { payloadView } from '../expressions/payload';
import type { Message } from '../message';

export class OutputHeaders {
  private readonly headers: OutputHeader[];
  private readonly readsPayload: boolean;

  /** Throws on invalid text (validation normally caught it earlier). */
  constructor(source: string) {
    const parsed = parseOutputHeaders(source);
    if (!parsed.ok) throw new Error(`srp.output.headers is invalid: ${parsed.error} (at offset ${parsed.offset})`);
    this.headers = parsed.value;
    this.readsPayload = this.headers.some((h) => h.source.kind === 'payload');
  }

  get definitions(): readonly OutputHeader[] {
    return this.headers;
  }

  /** Returns the message with the configured headers added (a new headers object; the payload is shared). */
  apply(message: Message): Message {
    if (this.headers.length === 0) return message;
    const payload = this.readsPayload ? payloadView(message.payload, message.headers.contentType) : undefined;
    const headers = { ...message.headers };
    for (const header of this.headers) {
      const value =
        header.source.kind === 'header' ? message.headers[header.source.name] : readPath(payload, header.source.path);
      if (value !== undefined) headers[header.name] = value;
    }
    const out: Message = { payload: message.payload, headers };
    if (message.key) out.key = message.key;
    return out;
  }
}

function readPath(root: unknown, path: readonly string[]): string | undefined {
  let current = root;
  for (const step of path) {
    if (Array.isArray(current) && /^\d+$/.test(step)) current = current[Number(step)];
    else if (typeof current === 'object' && current !== null && Object.prototype.hasOwnProperty.call(current, step)) {
      current = (current as Record<string, unknown>)[step];
    } else return undefined;
  }
  if (current === undefined || current === null) return undefined;
  return typeof current === 'string' ? current : JSON.stringify(current);
}
