// The processors' broker clients log through pino; on the command line their retries are noise, but the last error
// they saw is what a user needs when a broker cannot be reached. This logger keeps only that.
import { connect } from 'node:net';
import pino, { type Logger } from 'pino';

export interface BrokerLog {
  log: Logger;
  /** The last error any client logged (kafkajs `error`, a binder's `err`), if any. */
  lastError(): string | undefined;
}

export function brokerLog(): BrokerLog {
  let last: string | undefined;
  const log = pino({ level: 'debug' }, {
    write(line: string): void {
      try {
        const entry = JSON.parse(line) as { error?: unknown; err?: unknown; stack?: unknown; message?: unknown };
        // kafkajs logs a failure as its message with a stack; the binders log `err`.
        const error = entry.error ?? entry.err ?? (entry.stack !== undefined ? entry.message : undefined);
        if (error !== undefined) last = typeof error === 'string' ? error : JSON.stringify(error);
      } catch {
        // Not JSON: nothing to keep.
      }
    },
  });
  return { log, lastError: () => last };
}

/** Waits for `work` at most `ms`; then throws `what` with the last error the clients saw. */
export async function within<T>(work: Promise<T>, ms: number, what: string, log: BrokerLog): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = log.lastError();
      reject(new Error(`${what}: no answer within ${Math.round(ms / 1000)} s${last ? ` (last error: ${last})` : ''}`));
    }, ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Throws unless one of the `host:port` addresses accepts a TCP connection within `ms`: a client library that
 *  retries for a minute is not started against a broker that is not there (and would keep the process alive). */
export async function anyListening(addresses: string[], ms: number, what: string): Promise<void> {
  const errors: string[] = [];
  const attempt = (address: string): Promise<boolean> => new Promise((resolve) => {
    const at = address.lastIndexOf(':');
    const socket = connect({ host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)), timeout: ms });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { errors.push(`${address}: no answer within ${ms} ms`); socket.destroy(); resolve(false); });
    socket.once('error', (err) => { errors.push(err.message); resolve(false); });
  });
  const results = await Promise.all(addresses.map(attempt));
  if (!results.some(Boolean)) throw new Error(`cannot reach ${what}: ${errors.join('; ')}`);
}
