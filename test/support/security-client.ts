// A tiny HTTPS client for the security tests: one request per call on a fresh connection (so each request presents
// exactly the client certificate it names), the server verified against the test serving CA.
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, or undefined. */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** Headers that may repeat (e.g. X-Remote-Group), sent as separate header lines. */
  repeatedHeaders?: Array<[string, string]>;
  body?: unknown;
  cert?: { certPem: string; keyPem: string };
  token?: string;
}

export function httpsCall(baseUrl: string, caPem: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const url = new URL(path, baseUrl);
  const headers: OutgoingHttpHeaders = { accept: 'application/json', ...opts.headers };
  let payload: string | undefined;
  if (opts.body !== undefined) {
    payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: opts.method ?? 'GET',
        headers,
        ca: [caPem],
        cert: opts.cert?.certPem,
        key: opts.cert?.keyPem,
        agent: false,
        servername: 'localhost',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    for (const [name, value] of opts.repeatedHeaders ?? []) {
      const existing = req.getHeader(name);
      const values = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
      req.setHeader(name, [...values, value]);
    }
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sends a plain-HTTP request line to `port` and returns whatever came back before the connection closed. */
export function plainHttpProbe(port: number, path = '/version'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
    socket.on('close', () => { clearTimeout(timer); resolve(received); });
    socket.on('error', () => undefined);
  });
}

/** Kubernetes Status fields the tests look at. */
export interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; retryAfterSeconds?: number };
}

export function statusOf(response: Response): StatusBody {
  return (response.json ?? {}) as StatusBody;
}
