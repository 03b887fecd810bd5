// Event time of a message. Where it comes from (in precedence order):
//   1. `srp.input.timestampExpression`: `proc` (wall clock), `header.X`, `payload.a.b` / `a.b` / `$.a.b` (JSON field;
//      Avro payloads reach this stage already decoded to JSON by processor/codec);
//   2. the input Stream's time attribute (`timeAttributes[0]`), its watermark expression giving the field and the
//      out-of-orderness (`` `f` - INTERVAL '2' SECOND ``);
//   3. nothing configured: the `eventtime` header when present, else the wall clock.
// `srp.maxOutOfOrderness` overrides the out-of-orderness. Values are epoch milliseconds (number or decimal string) or
// ISO-8601 / `yyyy-MM-dd HH:mm:ss[.SSS]` (UTC) strings. A missing or unparseable timestamp is an EventTimeError,
// which the runtime dead-letters (the original silently used Long.MIN_VALUE).

import { parseDuration } from '../../crds/expressions/duration';
import { parseWatermarkExpression } from '../../crds/expressions/watermark';
import type { TimeAttributeConfig } from '../config';
import { payloadView } from '../expressions/payload';
import type { Message } from '../message';

export type TimestampSource =
  /** Nothing configured: the `eventtime` header, else the wall clock. */
  | { kind: 'default' }
  | { kind: 'processing' }
  | { kind: 'header'; name: string }
  | { kind: 'payload'; path: string[] };

export interface EventTimeSettings {
  source: TimestampSource;
  maxOutOfOrdernessMs: number;
  /** Where the settings came from, for /debug/state and logs. */
  origin: 'srp.input.timestampExpression' | 'timeAttribute' | 'default';
}

export class EventTimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventTimeError';
  }
}

export const ATTRIBUTE_TIMESTAMP = 'srp.input.timestampExpression';
export const ATTRIBUTE_MAX_OUT_OF_ORDERNESS = 'srp.maxOutOfOrderness';
export const EVENT_TIME_HEADER = 'eventtime';
/** Spring Messaging's MessageHeaders.TIMESTAMP: the message's creation time, set by Spring on every message. */
export const SPRING_TIMESTAMP_HEADER = 'timestamp';

/** Parses a timestamp expression (`proc`, `header.X`, `payload.a.b`, `a.b`, `$.a.b`). Throws on invalid text. */
export function parseTimestampSource(expression: string): TimestampSource {
  const text = expression.trim();
  if (text === '') return { kind: 'default' };
  if (text === 'proc') return { kind: 'processing' };
  if (text.startsWith('header.') || text.startsWith('headers.')) {
    const name = text.slice(text.indexOf('.') + 1);
    if (name === '') throw new Error(`invalid timestamp expression '${expression}': header name missing`);
    return { kind: 'header', name };
  }
  let pathText = text;
  if (pathText.startsWith('payload.')) pathText = pathText.slice('payload.'.length);
  else if (pathText.startsWith('$.')) pathText = pathText.slice(2);
  const path = pathText.split('.');
  if (path.some((step) => !/^[A-Za-z0-9_$@-]+$/.test(step))) {
    throw new Error(`invalid timestamp expression '${expression}': expected proc, header.<name> or payload.<field.path>`);
  }
  return { kind: 'payload', path };
}

/**
 * Resolves the event-time settings of one input from the Processor's attributes and the input's time attribute.
 * Throws (with the attribute named) when an attribute is invalid.
 */
export function resolveEventTime(
  attributes: Readonly<Record<string, string>>,
  timeAttribute?: TimeAttributeConfig,
): EventTimeSettings {
  let source: TimestampSource = { kind: 'default' };
  let origin: EventTimeSettings['origin'] = 'default';
  let maxOutOfOrdernessMs = 0;
  if (timeAttribute) {
    let field = timeAttribute.field;
    if (timeAttribute.watermark?.trim()) {
      const parsed = parseWatermarkExpression(timeAttribute.watermark);
      if (!parsed.ok) throw new Error(`invalid watermark expression '${timeAttribute.watermark}': ${parsed.error}`);
      field = parsed.value.field;
      maxOutOfOrdernessMs = parsed.value.delayMs;
    }
    source = parseTimestampSource(field);
    origin = 'timeAttribute';
  }
  const expression = attributes[ATTRIBUTE_TIMESTAMP];
  if (expression !== undefined && expression.trim() !== '') {
    source = parseTimestampSource(expression);
    origin = ATTRIBUTE_TIMESTAMP;
  }
  const outOfOrderness = attributes[ATTRIBUTE_MAX_OUT_OF_ORDERNESS];
  if (outOfOrderness !== undefined && outOfOrderness.trim() !== '') {
    const parsed = parseDuration(outOfOrderness);
    if (!parsed.ok) throw new Error(`${ATTRIBUTE_MAX_OUT_OF_ORDERNESS}: ${parsed.error}`);
    maxOutOfOrdernessMs = parsed.value;
  }
  return { source, maxOutOfOrdernessMs, origin };
}

const SQL_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Epoch ms from a timestamp value, or undefined when it is not one. */
export function parseTimestampValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d+$/.test(text)) {
    const ms = Number(text);
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  const sql = SQL_TIMESTAMP.exec(text);
  if (sql) {
    // Flink SQL TIMESTAMP text has no zone: read it as UTC; keep milliseconds only.
    const [, date, time] = sql;
    const ms = Date.parse(`${date}T${time.replace(/(\.\d{3})\d+$/, '$1')}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (!ISO_DATE_TIME.test(text)) return undefined;
  const iso = Date.parse(/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(text) ? `${text}Z` : text);
  return Number.isNaN(iso) ? undefined : iso;
}

/** Extracts event time per message. Construct once per input; `extract` is on the hot path. */
export class EventTimeExtractor {
  constructor(
    readonly settings: EventTimeSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Event time of a message in epoch ms. `parsedPayload` avoids a second JSON parse when the caller already has the
   * payload as expressions see it. Throws EventTimeError when the configured timestamp is missing or unparseable.
   */
  extract(message: Message, parsedPayload?: unknown): number {
    const source = this.settings.source;
    switch (source.kind) {
      case 'processing':
        return this.now();
      case 'default': {
        const header = message.headers[EVENT_TIME_HEADER];
        if (header === undefined) return this.now();
        const ms = parseTimestampValue(header);
        if (ms === undefined) throw new EventTimeError(`header '${EVENT_TIME_HEADER}' is not a timestamp: '${header}'`);
        return ms;
      }
      case 'header': {
        const header = message.headers[source.name];
        if (header === undefined) {
          // `header.timestamp` (anomaly detection light): the original read Spring Messaging's `timestamp` header,
          // which Spring stamps on every message it builds (System.currentTimeMillis()) — when the processor took
          // the message in. Brokers carry no such header, so it is that same moment here.
          if (source.name === SPRING_TIMESTAMP_HEADER) return this.now();
          throw new EventTimeError(`no event time: the message has no header '${source.name}'`);
        }
        const ms = parseTimestampValue(header);
        if (ms === undefined) throw new EventTimeError(`header '${source.name}' is not a timestamp: '${header}'`);
        return ms;
      }
      case 'payload': {
        const payload = parsedPayload === undefined ? payloadView(message.payload, message.headers.contentType) : parsedPayload;
        let value: unknown = payload;
        const path = source.path;
        for (let i = 0; i < path.length; i++) {
          if (typeof value !== 'object' || value === null) {
            value = undefined;
            break;
          }
          value = (value as Record<string, unknown>)[path[i]];
        }
        if (value === undefined || value === null) {
          const why = typeof payload === 'object' && payload !== null ? '' : ' (the payload is not a JSON object)';
          throw new EventTimeError(`no event time: the payload has no field '${path.join('.')}'${why}`);
        }
        const ms = parseTimestampValue(value);
        if (ms === undefined) {
          throw new EventTimeError(`payload field '${path.join('.')}' is not a timestamp: ${JSON.stringify(value)}`);
        }
        return ms;
      }
    }
  }
}
