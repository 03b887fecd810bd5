// How a released window travels to a UDF and back, compatible with the original's protocol:
//   request:  GrpcMessage.payload = serialized GrpcPayloadCollection { repeated bytes payload = 1 } of the events'
//             payloads; headers contentType multipart/<subtype> (application/json → multipart/json),
//             windowStartTime, windowEndTime, partial.
//   reply:    multipart/<x> → each payload of the collection becomes a message with contentType application/<x>;
//             anything else is one message. Every output carries eventtime = window end, watermark = current, and
//             keeps the window headers (the original lost them).
// The protobuf encoding of GrpcPayloadCollection is written by hand: one repeated bytes field, no library needed.

import type { Message } from '../message';
import type { WindowRelease } from './operator';

export const WINDOW_START_HEADER = 'windowStartTime';
export const WINDOW_END_HEADER = 'windowEndTime';
export const WINDOW_PARTIAL_HEADER = 'partial';
/** Ours (new): the window key of per-key windows, and whether this emission updates an earlier one (UPSERT). */
export const WINDOW_KEY_HEADER = 'windowKey';
export const WINDOW_UPDATE_HEADER = 'windowUpdate';

/** Serializes `GrpcPayloadCollection { repeated bytes payload = 1; }`. */
export function encodePayloadCollection(payloads: readonly Buffer[]): Buffer {
  let size = 0;
  for (const payload of payloads) size += 1 + varintLength(payload.length) + payload.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const payload of payloads) {
    out[pos++] = 0x0a; // field 1, wire type 2 (length-delimited)
    let length = payload.length;
    while (length > 0x7f) {
      out[pos++] = (length & 0x7f) | 0x80;
      length >>>= 7;
    }
    out[pos++] = length;
    payload.copy(out, pos);
    pos += payload.length;
  }
  return out;
}

function varintLength(value: number): number {
  let length = 1;
  while (value > 0x7f) {
    value >>>= 7;
    length++;
  }
  return length;
}

/** Parses a GrpcPayloadCollection; unknown fields are skipped. Throws on malformed bytes. */
export function decodePayloadCollection(bytes: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  let pos = 0;
  const readVarint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new Error('malformed GrpcPayloadCollection: truncated varint');
      const byte = bytes[pos++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('malformed GrpcPayloadCollection: varint too long');
    }
  };
  while (pos < bytes.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 2) {
      const length = readVarint();
      if (pos + length > bytes.length) throw new Error('malformed GrpcPayloadCollection: field longer than the message');
      if (field === 1) payloads.push(bytes.subarray(pos, pos + length));
      pos += length;
    } else if (wireType === 0) {
      readVarint();
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 5) {
      pos += 4;
    } else {
      throw new Error(`malformed GrpcPayloadCollection: unsupported wire type ${wireType}`);
    }
  }
  if (pos > bytes.length) throw new Error('malformed GrpcPayloadCollection: truncated field');
  return payloads;
}

/** `application/json` → `json`; defaults to json (the aggregator helper accepts only multipart/json). */
export function contentSubtype(contentType: string | undefined): string {
  if (!contentType) return 'json';
  const base = contentType.split(';')[0].trim();
  const slash = base.indexOf('/');
  const subtype = slash >= 0 ? base.slice(slash + 1) : base;
  return subtype || 'json';
}

/** The headers every message produced from a window carries. */
export function windowHeaders(release: WindowRelease<unknown>): Record<string, string> {
  const headers: Record<string, string> = {
    [WINDOW_START_HEADER]: String(release.start),
    [WINDOW_END_HEADER]: String(release.end),
    [WINDOW_PARTIAL_HEADER]: String(release.partial),
  };
  if (release.key !== undefined) headers[WINDOW_KEY_HEADER] = release.key;
  if (release.update) headers[WINDOW_UPDATE_HEADER] = 'true';
  return headers;
}

/** The UDF request for a released window (GrpcMessage fields). */
export function encodeWindowRequest(release: WindowRelease<unknown>): Message {
  const subtype = contentSubtype(release.events[0]?.headers.contentType);
  return {
    payload: encodePayloadCollection(release.events.map((event) => event.payload)),
    headers: { ...windowHeaders(release), contentType: `multipart/${subtype}` },
  };
}

function outputHeaders(release: WindowRelease<unknown>, watermark: number, extra: Record<string, string>, contentType: string): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...windowHeaders(release), contentType, eventtime: String(release.end) };
  if (Number.isFinite(watermark)) headers.watermark = String(watermark);
  else delete headers.watermark;
  return headers;
}

/** The output messages of a UDF reply to a window request. Throws on a malformed multipart collection. */
export function decodeWindowReply(reply: Message, release: WindowRelease<unknown>, watermark: number): Message[] {
  const { contentType: replyType, ...replyHeaders } = reply.headers;
  if (replyType?.startsWith('multipart/')) {
    const contentType = `application/${contentSubtype(replyType)}`;
    return decodePayloadCollection(reply.payload).map((payload) => ({
      payload,
      headers: outputHeaders(release, watermark, replyHeaders, contentType),
    }));
  }
  return [{ payload: reply.payload, headers: outputHeaders(release, watermark, replyHeaders, replyType ?? 'application/json') }];
}

/**
 * Without a UDF: one message per window whose payload is a JSON array of the events' payloads (JSON payloads
 * embedded as values, others as strings), with the window headers.
 */
export function windowAsJsonArray(release: WindowRelease<unknown>, watermark: number): Message {
  const parts: string[] = [];
  for (const event of release.events) {
    const text = event.payload.toString('utf8');
    const json = /json/i.test(event.headers.contentType ?? 'application/json');
    let valid = false;
    if (json) {
      try {
        JSON.parse(text);
        valid = true;
      } catch {
        valid = false;
      }
    }
    parts.push(valid ? text : JSON.stringify(text));
  }
  return { payload: Buffer.from(`[${parts.join(',')}]`, 'utf8'), headers: outputHeaders(release, watermark, {}, 'application/json') };
}
