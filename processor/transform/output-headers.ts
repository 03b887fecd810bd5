// `srp.output.headers`: "name=header.X;name2=payload.a.b". Applied last, to the OUTBOUND message (after transforms
// and the UDF, once eventtime/watermark are set), with values from the INBOUND message, as the original documents
// ("a new outbound header named `user` with value computed from the inbound payload field `fullName`"; tutorial 3
// sets `user=payload.fullName` although its SpEL transform drops `fullName` — the original's code read the outbound
// payload, so that header never appeared: sr-compat.md §3):
//   `payload.a.b` reads the inbound payload (decoded: Avro arrives here as JSON) when the caller gives it, else the
//     outbound one — the windowed path, where a result stands for many inbound messages (`team=payload.team` after
//     the gaming user-score UDF reads the window's result);
//   `header.X` reads header X of the outbound message (which carries the inbound headers plus eventtime/watermark),
//     else of the inbound one (a UDF reply may drop the request's headers, as the Go uppercase sample does).
// A missing source leaves the header unset.

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

  /**
   * Returns the outbound `message` with the configured headers added (a new headers object; the payload is shared).
   * `inbound`: the message as it arrived (decoded), the source of `payload.X`; absent, the outbound payload is read.
   */
  apply(message: Message, inbound?: Message): Message {
    if (this.headers.length === 0) return message;
    const source = inbound ?? message;
    const payload = this.readsPayload ? payloadView(source.payload, source.headers.contentType) : undefined;
    const headers = { ...message.headers };
    for (const header of this.headers) {
      const value = header.source.kind === 'header'
        ? message.headers[header.source.name] ?? inbound?.headers[header.source.name]
        : readPath(payload, header.source.path);
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
