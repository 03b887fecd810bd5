// A watch client for the API server tests: streams the JSON event lines of one watch over HTTP/1.1 or over a shared
// HTTP/2 session (as client-go multiplexes them), and says how it ended.
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { ApiServerHandle } from '../support/apiserver-server';

export interface WatchEvent {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string; message?: string };
}

export interface WatchStream {
  events: WatchEvent[];
  /** The response's status code, once the headers arrived (0 before). */
  status(): number;
  /** The body when the answer was not a stream of events (e.g. a 429 or 503 Status). */
  body(): string;
  /** Resolves when the server ended the stream or the connection broke; `aborted` tells which. */
  ended: Promise<{ aborted: boolean }>;
  close(): void;
  /** Starts reading a watch opened `paused`. */
  resume(): void;
}

function collect(events: WatchEvent[], rawBody: { text: string }, stream: Readable, onLine: () => void): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    rawBody.text += chunk.toString();
    buffer += chunk.toString();
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) {
        try { events.push(JSON.parse(line) as WatchEvent); } catch { /* a Status body is not an event line */ }
        onLine();
      }
    }
  });
}

/** A watch over its own HTTP/1.1 connection. `paused` reads nothing (a slow client) until close. */
export function watchHttp1(api: ApiServerHandle, path: string, options: { token?: string; paused?: boolean; onEvent?: () => void } = {}): WatchStream {
  const events: WatchEvent[] = [];
  const rawBody = { text: '' };
  let status = 0;
  let close = (): void => undefined;
  let resume = (): void => undefined;
  const ended = new Promise<{ aborted: boolean }>((resolve) => {
    const req = httpsRequest(new URL(path, api.url), { headers: { authorization: `Bearer ${options.token ?? api.token}` }, ca: api.caPem, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      resume = () => { collect(events, rawBody, res, options.onEvent ?? (() => undefined)); res.resume(); };
      if (options.paused) res.pause(); else resume();
      res.on('end', () => resolve({ aborted: false }));
      res.on('aborted', () => resolve({ aborted: true }));
      res.on('error', () => resolve({ aborted: true }));
      res.on('close', () => resolve({ aborted: !res.complete }));
    });
    req.on('error', () => resolve({ aborted: true }));
    req.end();
    close = () => req.destroy();
  });
  return { events, status: () => status, body: () => rawBody.text, ended, close, resume: () => resume() };
}

/** One HTTP/2 connection to the server (ALPN h2), for several requests at once. */
export function http2Session(api: ApiServerHandle): ClientHttp2Session {
  return connect(api.url, { ca: api.caPem });
}

/** A watch as one stream of `session`. */
export function watchHttp2(session: ClientHttp2Session, path: string, token: string): WatchStream {
  const events: WatchEvent[] = [];
  const rawBody = { text: '' };
  let status = 0;
  const stream = session.request({ [constants.HTTP2_HEADER_PATH]: path, authorization: `Bearer ${token}` });
  stream.on('response', (headers) => { status = Number(headers[constants.HTTP2_HEADER_STATUS]); });
  collect(events, rawBody, stream, () => undefined);
  const ended = new Promise<{ aborted: boolean }>((resolve) => {
    stream.on('end', () => resolve({ aborted: false }));
    stream.on('error', () => resolve({ aborted: true }));
    stream.on('close', () => resolve({ aborted: stream.rstCode !== constants.NGHTTP2_NO_ERROR }));
  });
  return { events, status: () => status, body: () => rawBody.text, ended, close: () => stream.close(constants.NGHTTP2_CANCEL), resume: () => undefined };
}
