// Shared by the UDF images: where to listen, how to stop, and the original's two UDF shapes over the gRPC protocol
// (sr-compat.md, "UDF protocol"): a raw request/reply handler and the `streaming-runtime-udf-aggregator` npm helper's
// Aggregator (a released window in as a multipart/json GrpcPayloadCollection, one JSON result per entry out).
import { decodePayloadCollection, encodePayloadCollection } from '../../../processor/window/encoding';
import { serveMessages, UdfInputError, type MessageHandler, type RunningUdf } from '../../../processor/udf/kit';

/**
 * The port to listen on: the one the runtime reserved (GRPC_PORT / SR_UDF_PORT, set by the local runtime; the
 * processor calls 127.0.0.1:<it>), else the port the original image listened on.
 */
export function udfPort(originalPort: number): number {
  const given = Number(process.env.GRPC_PORT ?? process.env.SR_UDF_PORT);
  return Number.isInteger(given) && given > 0 ? given : originalPort;
}

/** Loopback unless UDF_HOST says otherwise (0.0.0.0 in a container, where the processor is another process). */
function host(): string {
  return process.env.UDF_HOST ?? '127.0.0.1';
}

function stopOnSignal(udf: RunningUdf): void {
  const stop = (): void => { void udf.close().finally(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Serves a request/reply handler until SIGTERM; logs where it listens (the runtime keeps it in the container log). */
export async function serve(name: string, originalPort: number, handler: MessageHandler): Promise<void> {
  const udf = await serveMessages(handler, { port: udfPort(originalPort), host: host() });
  stopOnSignal(udf);
  console.log(`${name}: gRPC MessagingService listening on ${host()}:${udf.port}`);
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Headers = Readonly<Record<string, string>>;

/**
 * The npm helper's `new Aggregator(aggregate, release = identity, port = 55554)`: rejects a contentType other than
 * multipart/json; calls `aggregate(headers, json, results)` for every event of the window; `release(results)` returns
 * the map (or any iterable of values) whose entries become the results, each JSON-encoded; the reply's only header
 * is contentType multipart/json.
 */
export function serveAggregator<R>(
  name: string,
  aggregate: (headers: Headers, event: Json, results: Map<string, R>) => void,
  release: (results: Map<string, R>) => Map<string, R> | Iterable<R> = (results) => results,
  originalPort = 55554,
): Promise<void> {
  return serve(name, originalPort, (message) => {
    const contentType = message.headers.contentType ?? '';
    if (!/^multipart\/json\b/i.test(contentType)) {
      throw new UdfInputError('Invalid Content Type! The contentType header is compulsory and must be set to multipart/json');
    }
    const results = new Map<string, R>();
    for (const item of decodePayloadCollection(message.payload)) {
      let event: Json;
      try { event = JSON.parse(item.toString('utf8')) as Json; } catch { throw new UdfInputError('a window event is not JSON'); }
      aggregate(message.headers, event, results);
    }
    const released = release(results);
    const values = released instanceof Map ? [...released.values()] : [...released];
    console.log(`${name}: window ${message.headers.windowStartTime ?? '?'}..${message.headers.windowEndTime ?? '?'}: ${results.size} aggregate(s), ${values.length} released`);
    return {
      payload: encodePayloadCollection(values.map((v) => Buffer.from(JSON.stringify(v), 'utf8'))),
      headers: { contentType: 'multipart/json' },
    };
  });
}

/** A JSON object's field (events are JSON objects; anything else has no fields). */
export function fieldOf(event: Json, name: string): Json | undefined {
  return typeof event === 'object' && event !== null && !Array.isArray(event) ? event[name] : undefined;
}

/** JavaScript's Number.parseInt as the original aggregators used it on scores (strings or numbers). */
export function parseIntLike(value: Json | undefined): number {
  return Number.parseInt(String(value), 10);
}
