// The on-disk form of a window event (ROCKSDB state): everything but the token, which stays in memory.
//   key:   segment id (6 bytes, big-endian) + sequence number in the segment (4 bytes, big-endian), so a segment's
//          events sort in push order;
//   value: flags (1 byte: bit 0 = has key) | event time (float64 LE) | [key length (u32 LE) | key UTF-8]
//          | headers JSON length (u32 LE) | headers JSON | payload.
// Encoding goes through one reusable scratch buffer: RocksDB copies keys and values into its write batch at once.

import type { TimedEvent } from '../message';

export const KEY_BYTES = 10;
const MAX_SEGMENT = 2 ** 48 - 1;

let scratch = Buffer.allocUnsafe(64 * 1024);
const scratchKey = Buffer.allocUnsafe(KEY_BYTES);

function writeKey(target: Buffer, offset: number, segment: number, seq: number): void {
  if (segment > MAX_SEGMENT) throw new Error('window state segment ids exhausted');
  target.writeUIntBE(segment, offset, 6);
  target.writeUInt32BE(seq, offset + 6);
}

/** The key of event `seq` of `segment`, in a shared scratch buffer: valid until the next call. */
export function scratchEventKey(segment: number, seq: number): Buffer {
  writeKey(scratchKey, 0, segment, seq);
  return scratchKey;
}

/** Keys of the given (segment, count) runs: one allocation, each key a view of it. */
export function eventKeys(runs: ReadonlyArray<{ id: number; length: number }>, limit: number): Buffer[] {
  let total = 0;
  for (const run of runs) total += run.length;
  total = Math.min(total, limit);
  const block = Buffer.allocUnsafe(total * KEY_BYTES);
  const keys: Buffer[] = new Array<Buffer>(total);
  let n = 0;
  for (const run of runs) {
    for (let seq = 0; seq < run.length && n < total; seq++, n++) {
      writeKey(block, n * KEY_BYTES, run.id, seq);
      keys[n] = block.subarray(n * KEY_BYTES, (n + 1) * KEY_BYTES);
    }
  }
  return keys;
}

/** Encodes an event's body into a shared scratch buffer: the view is valid until the next call. */
export function encodeEventBody(event: TimedEvent<unknown>): Buffer {
  const headers = JSON.stringify(event.headers);
  const headerBytes = Buffer.byteLength(headers);
  const keyBytes = event.key === undefined ? 0 : Buffer.byteLength(event.key);
  const size = 1 + 8 + (event.key === undefined ? 0 : 4 + keyBytes) + 4 + headerBytes + event.payload.length;
  if (size > scratch.length) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  const out = scratch;
  let pos = 0;
  out[pos++] = event.key === undefined ? 0 : 1;
  out.writeDoubleLE(event.timestamp, pos);
  pos += 8;
  if (event.key !== undefined) {
    out.writeUInt32LE(keyBytes, pos);
    pos += 4;
    pos += out.write(event.key, pos, 'utf8');
  }
  out.writeUInt32LE(headerBytes, pos);
  pos += 4;
  pos += out.write(headers, pos, 'utf8');
  pos += event.payload.copy(out, pos);
  return out.subarray(0, pos);
}

/** The event stored by `encodeEventBody`, with its token back. The payload is a view of `body`. */
export function decodeEventBody<T>(body: Buffer, token: T): TimedEvent<T> {
  let pos = 0;
  const flags = body[pos++];
  const timestamp = body.readDoubleLE(pos);
  pos += 8;
  let key: string | undefined;
  if (flags & 1) {
    const keyBytes = body.readUInt32LE(pos);
    pos += 4;
    key = body.toString('utf8', pos, pos + keyBytes);
    pos += keyBytes;
  }
  const headerBytes = body.readUInt32LE(pos);
  pos += 4;
  const headers = JSON.parse(body.toString('utf8', pos, pos + headerBytes)) as Record<string, string>;
  pos += headerBytes;
  const event: TimedEvent<T> = { timestamp, payload: body.subarray(pos), headers, token };
  if (key !== undefined) event.key = key;
  return event;
}
