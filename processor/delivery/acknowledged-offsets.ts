// What a committed Kafka offset cannot say: which records ABOVE it were already acknowledged. Completion is out of
// order (a fired window's records are acknowledged while an earlier record of an open window is not), so the
// committed offset stays at the lowest unacknowledged record and everything after it would be redelivered after a
// restart or rebalance — re-opening fired windows with part of their records. As Confluent's parallel consumer does,
// the acknowledged offsets above the committed one travel in the OffsetCommit's `metadata` string, which the broker
// stores with the offset and returns with it; the partition's next owner skips them.
//
// Format: `sr-acked1:<base>:<kind>:<payload>`, `base` the committed offset it is relative to (a commit whose offset
// differs is someone else's — e.g. an operator's offset reset — and is ignored), payload base64url (no padding):
// - kind `r`, run lengths: unsigned LEB128 varints alternating "not acknowledged" and "acknowledged" run lengths,
//   starting at `base` with a not-acknowledged run (0 when `base` itself is acknowledged); cheap for long runs;
// - kind `b`, a bitset: bit i (least significant first in each byte) set when `base + i` is acknowledged; trailing
//   zero bytes dropped; 1 bit per offset whatever the pattern.
// The shorter of the two is written. The whole string is bounded (Kafka's default `offset.metadata.max.bytes` is
// 4096; a longer one fails the whole commit): beyond the bound only a prefix is kept — the acknowledged offsets
// closest to `base` — and the rest counts as not acknowledged, i.e. is redelivered as it was before this encoding.
// Absent, empty, foreign or malformed metadata decodes to nothing: the old behaviour, everything above the committed
// offset is redelivered.

/** A half-open range of offsets [from, to). Lists of ranges are sorted, disjoint and not adjacent. */
export interface OffsetRange {
  from: number;
  to: number;
}

/** Kafka's default `offset.metadata.max.bytes`; the encoding is ASCII, so characters are bytes. */
export const MAX_METADATA_LENGTH = 4096;

const PREFIX = 'sr-acked1';

/** The metadata string for acknowledged `ranges` above the committed offset `base` ('' when there are none). */
export function encodeAcknowledged(base: number, ranges: readonly OffsetRange[], maxLength = MAX_METADATA_LENGTH): string {
  const above = clip(base, ranges);
  if (above.length === 0) return '';
  const header = `${PREFIX}:${base}:`;
  // A header plus one kind letter and ':' leave this many payload characters; base64 packs 3 bytes in 4 characters.
  const budgetBytes = Math.floor(((maxLength - header.length - 2) * 3) / 4);
  if (budgetBytes <= 0) return '';
  const candidates = [runLengths(base, above, budgetBytes), bitset(base, above, budgetBytes)]
    .filter((c) => c.covered > 0)
    // More acknowledged offsets kept wins; then the shorter string.
    .sort((a, b) => b.covered - a.covered || a.bytes.length - b.bytes.length);
  const best = candidates[0];
  return best ? `${header}${best.kind}:${best.bytes.toString('base64url')}` : '';
}

/** The acknowledged ranges a commit of offset `base` carried in `metadata`; [] for anything not ours or not for `base`. */
export function decodeAcknowledged(base: number, metadata: string | null | undefined): OffsetRange[] {
  if (!metadata) return [];
  const parts = metadata.split(':');
  if (parts.length !== 4 || parts[0] !== PREFIX || parts[1] !== String(base)) return [];
  if (!/^[A-Za-z0-9_-]*$/.test(parts[3])) return [];
  const bytes = Buffer.from(parts[3], 'base64url');
  const ranges = parts[2] === 'r' ? decodeRunLengths(base, bytes) : parts[2] === 'b' ? decodeBitset(base, bytes) : undefined;
  return ranges ?? [];
}

/** Whether `offset` lies in one of the sorted `ranges`. */
export function inRanges(ranges: readonly OffsetRange[], offset: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (offset < ranges[mid].from) hi = mid - 1;
    else if (offset >= ranges[mid].to) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The union of two sorted range lists, adjacent ranges joined. */
export function mergeRanges(a: readonly OffsetRange[], b: readonly OffsetRange[]): OffsetRange[] {
  const all = [...a, ...b].sort((x, y) => x.from - y.from);
  const out: OffsetRange[] = [];
  for (const range of all) {
    const last = out[out.length - 1];
    if (last && range.from <= last.to) last.to = Math.max(last.to, range.to);
    else out.push({ from: range.from, to: range.to });
  }
  return out;
}

interface Encoding {
  kind: 'r' | 'b';
  bytes: Buffer;
  /** Acknowledged offsets it keeps. */
  covered: number;
}

function clip(base: number, ranges: readonly OffsetRange[]): OffsetRange[] {
  const out: OffsetRange[] = [];
  for (const range of ranges) {
    const from = Math.max(range.from, base);
    if (range.to > from) out.push({ from, to: range.to });
  }
  return out;
}

function runLengths(base: number, ranges: readonly OffsetRange[], budgetBytes: number): Encoding {
  const bytes: number[] = [];
  let position = base;
  let covered = 0;
  for (const range of ranges) {
    const pair = [...varint(range.from - position), ...varint(range.to - range.from)];
    if (bytes.length + pair.length > budgetBytes) break;
    bytes.push(...pair);
    covered += range.to - range.from;
    position = range.to;
  }
  return { kind: 'r', bytes: Buffer.from(bytes), covered };
}

function bitset(base: number, ranges: readonly OffsetRange[], budgetBytes: number): Encoding {
  const limit = base + budgetBytes * 8;
  const last = Math.min(ranges[ranges.length - 1].to, limit);
  const bytes = Buffer.alloc(Math.max(0, Math.ceil((last - base) / 8)));
  let covered = 0;
  for (const range of ranges) {
    for (let offset = range.from; offset < Math.min(range.to, limit); offset++) {
      const bit = offset - base;
      bytes[bit >> 3] |= 1 << (bit & 7);
      covered++;
    }
  }
  return { kind: 'b', bytes, covered };
}

function varint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

function decodeRunLengths(base: number, bytes: Buffer): OffsetRange[] | undefined {
  const ranges: OffsetRange[] = [];
  let position = base;
  let index = 0;
  const next = (): number | undefined => {
    let value = 0;
    let scale = 1;
    while (index < bytes.length) {
      const byte = bytes[index++];
      value += (byte & 0x7f) * scale;
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
      if ((byte & 0x80) === 0) return value;
      scale *= 0x80;
    }
    return undefined; // a varint cut short
  };
  while (index < bytes.length) {
    const gap = next();
    const run = next();
    if (gap === undefined || run === undefined || run === 0) return undefined;
    const from = position + gap;
    const to = from + run;
    if (!Number.isSafeInteger(to)) return undefined;
    if (gap === 0 && ranges.length > 0) return undefined; // runs alternate: a 0 gap only at the start
    ranges.push({ from, to });
    position = to;
  }
  return ranges;
}

function decodeBitset(base: number, bytes: Buffer): OffsetRange[] {
  const ranges: OffsetRange[] = [];
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3] & (1 << (bit & 7))) === 0) continue;
    const offset = base + bit;
    const last = ranges[ranges.length - 1];
    if (last && last.to === offset) last.to++;
    else ranges.push({ from: offset, to: offset + 1 });
  }
  return ranges;
}
