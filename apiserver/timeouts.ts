// Deadlines for ordinary requests, as kube-apiserver's WithTimeoutForNonLongRunningRequests: a request that has not
// been answered within `--request-timeout` (60 s; a smaller `?timeout=` from the client wins) gets 504 Timeout. Like
// kube, the work already under way is not undone: the answer only stops waiting for it. Watches are long-running
// and end by their own `timeoutSeconds` instead (endpoints/watch.ts).
//
// And a deadline for request bodies: a client that sends its headers and then dribbles the body (a slow writer)
// holds a seat of the fair queue and memory; if the body has not fully arrived within `--request-body-timeout` (30 s)
// the answer is 408 and the connection (HTTP/1.1) or stream (HTTP/2) is closed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLongRunning, parseRequestInfo } from './auth/index';
import { parseGoDuration } from './duration';
import { badRequest, timeout, type Status } from './errors';

export interface TimeoutOptions {
  requestTimeoutMs: number;
  bodyTimeoutMs: number;
}

function requestDeadlineMs(request: FastifyRequest, defaultMs: number): number {
  const query = request.query as Record<string, unknown> | undefined;
  const asked = query?.timeout;
  if (typeof asked !== 'string' || asked === '') return defaultMs;
  let ms: number;
  try { ms = parseGoDuration(asked); } catch { throw badRequest(`invalid timeout ${JSON.stringify(asked)}: must be a duration such as 30s`); }
  return ms > 0 ? Math.min(ms, defaultMs) : defaultMs;
}

export function registerTimeouts(app: FastifyInstance, options: TimeoutOptions, sendStatus: (reply: FastifyReply, status: Status) => void): void {
  app.addHook('onRequest', async (request, reply) => {
    const info = request.requestInfo ?? parseRequestInfo(request.method, request.url);
    if (isLongRunning(info) || options.requestTimeoutMs <= 0) return;
    const ms = requestDeadlineMs(request, options.requestTimeoutMs);
    const timer = setTimeout(() => {
      if (reply.sent) return;
      sendStatus(reply, timeout('Timeout: request did not complete within requested timeout - context deadline exceeded').status);
    }, ms);
    reply.raw.once('close', () => clearTimeout(timer));
  });

  // From the start of body reading (preParsing) to its end (preValidation runs once the body is parsed).
  const bodyTimers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  app.addHook('preParsing', async (request, reply, payload) => {
    if (options.bodyTimeoutMs <= 0 || request.method === 'GET' || request.method === 'HEAD') return payload;
    const timer = setTimeout(() => {
      if (reply.sent) return;
      // HTTP/1.1 cannot answer and keep the connection while unread body bytes are still coming.
      if (request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
      // Once answered, stop reading: the connection (HTTP/1.1) or the stream (HTTP/2) goes, and its buffers with it.
      reply.raw.once('finish', () => request.raw.destroy());
      sendStatus(reply, {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 408, reason: 'Timeout',
        message: `the request body was not received within ${options.bodyTimeoutMs / 1000}s`,
      });
    }, options.bodyTimeoutMs);
    bodyTimers.set(request, timer);
    reply.raw.once('close', () => clearTimeout(timer));
    return payload;
  });
  app.addHook('preValidation', async (request) => {
    clearTimeout(bodyTimers.get(request));
  });
}
