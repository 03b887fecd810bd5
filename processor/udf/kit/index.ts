// The TypeScript UDF kit: write a mapper or a window aggregator in a few lines, speaking the original protocol
// (same semantics as the `streaming-runtime-udf-aggregator` npm helper), e.g.
//
//   import { serveMapper, serveAggregator } from 'streaming-runtime/dist/processor/udf/kit';
//   serveMapper((headers, user) => ({ name: user.fullName.toUpperCase() }), { port: 55554 });
//   serveAggregator({
//     aggregate: (headers, user, results) => results.set(user.team, (results.get(user.team) ?? 0) + 1),
//     release: (results) => [...results].map(([team, count]) => ({ team, count })),
//   }, { port: 55554 });

import { decodePayloadCollection, encodePayloadCollection } from '../../window/encoding';
import type { Message } from '../../message';
import { serveMessages, UdfInputError, type RunningUdf, type ServeOptions } from './server';

export { serveMessages, UdfInputError, type RunningUdf, type ServeOptions, type MessageHandler } from './server';

export type Headers = Readonly<Record<string, string>>;

/** A JSON value as a mapper or aggregator receives it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function parseJson(bytes: Buffer, what: string): Json {
  try {
    return JSON.parse(bytes.toString('utf8')) as Json;
  } catch {
    throw new UdfInputError(`${what} is not JSON`);
  }
}

function toBytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(JSON.stringify(value ?? null), 'utf8');
}

/**
 * Mapper: one message in, one out. `fn(headers, json)` returns the new payload (JSON-encoded, contentType
 * application/json); a non-JSON inbound payload is passed as its text.
 */
export function serveMapper(
  fn: (headers: Headers, payload: Json) => unknown,
  options: ServeOptions = {},
): Promise<RunningUdf> {
  return serveMessages(async (message: Message) => {
    const text = message.payload.toString('utf8');
    let payload: Json;
    try {
      payload = JSON.parse(text) as Json;
    } catch {
      payload = text;
    }
    const result = await fn(message.headers, payload);
    return { payload: toBytes(result), headers: { ...message.headers, contentType: 'application/json' } };
  }, options);
}

export interface AggregatorFunctions<R> {
  /** Called for every event of the window, in order; accumulate into `results`. */
  aggregate(headers: Headers, payload: Json, results: Map<string, R>): void;
  /** Called once per window; each returned item becomes one output message (JSON). */
  release(results: Map<string, R>, headers: Headers): unknown[] | Promise<unknown[]>;
}

/**
 * Aggregator: a released window arrives as a multipart/json GrpcPayloadCollection (anything else is refused with
 * INVALID_ARGUMENT, as the npm helper does); the reply is a multipart/json collection of `release`'s items.
 */
export function serveAggregator<R = unknown>(functions: AggregatorFunctions<R>, options: ServeOptions = {}): Promise<RunningUdf> {
  return serveMessages(async (message: Message) => {
    const contentType = message.headers.contentType ?? '';
    if (!contentType.startsWith('multipart/json')) {
      throw new UdfInputError(`the aggregator accepts contentType multipart/json, got '${contentType}'`);
    }
    const results = new Map<string, R>();
    for (const item of decodePayloadCollection(message.payload)) {
      functions.aggregate(message.headers, parseJson(item, 'a window event'), results);
    }
    const released = await functions.release(results, message.headers);
    return {
      payload: encodePayloadCollection(released.map(toBytes)),
      headers: { ...message.headers, contentType: 'multipart/json' },
    };
  }, options);
}
