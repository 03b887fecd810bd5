// `sr tap <url-of-debug-port>`: streams a sample of the messages passing through a processor (its /debug/tap) to
// stdout, one JSON object per line, or one readable line per message with --pretty.
// Reach a processor in a cluster with `kubectl port-forward pod/<processor-pod> 8080` first.
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

const USAGE = `Usage: sr tap <url-of-debug-port> [--sample 0.1] [--limit N] [--point in|out|late|dead-letter|filtered|debug] [--pretty]

Streams a sample of the messages passing through a processor, e.g.
  sr tap http://127.0.0.1:8080 --sample 0.1 --limit 20
`;

interface TapLine {
  time?: string;
  point?: string;
  stream?: string;
  partition?: number;
  headers?: Record<string, string>;
  payload?: string;
  payloadEncoding?: string;
}

export function tapUrl(base: string, sample: number, limit: number): string {
  const url = new URL(base.includes('://') ? base : `http://${base}`);
  if (!url.pathname.endsWith('/debug/tap')) url.pathname = `${url.pathname.replace(/\/$/, '')}/debug/tap`;
  url.searchParams.set('sample', String(sample));
  if (limit > 0) url.searchParams.set('limit', String(limit));
  return url.toString();
}

export function prettyLine(line: TapLine): string {
  const headers = Object.entries(line.headers ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
  const where = `${line.stream ?? '?'}${line.partition !== undefined ? `[${line.partition}]` : ''}`;
  const payload = line.payloadEncoding === 'base64' ? `base64:${line.payload ?? ''}` : (line.payload ?? '');
  return `${line.time ?? ''} ${(line.point ?? '').padEnd(11)} ${where}  ${headers}\n    ${payload}`;
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sample: { type: 'string', default: '1' },
      limit: { type: 'string', default: '0' },
      point: { type: 'string' },
      pretty: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const sample = Number(values.sample);
  const limit = Number(values.limit);
  if (!(sample > 0 && sample <= 1) || !Number.isInteger(limit) || limit < 0) {
    process.stderr.write('sr tap: --sample must be in (0, 1] and --limit a non-negative integer\n');
    process.exitCode = 2;
    return;
  }
  const url = tapUrl(positionals[0], sample, values.point ? 0 : limit);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal });
  } catch (err) {
    process.stderr.write(`sr tap: cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    return;
  }
  if (!response.ok || !response.body) {
    process.stderr.write(`sr tap: ${url}: HTTP ${response.status} ${await response.text()}\n`);
    process.exitCode = 1;
    return;
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  // Aborting (limit reached, Ctrl-C) errors the body stream; that is the normal end here.
  body.on('error', () => undefined);
  const lines = createInterface({ input: body });
  lines.on('error', () => undefined);
  let shown = 0;
  try {
    for await (const text of lines) {
      if (!text.trim()) continue;
      let line: TapLine;
      try {
        line = JSON.parse(text) as TapLine;
      } catch {
        continue;
      }
      // --point filters here (the server samples every point); --limit then counts what is shown.
      if (values.point && line.point !== values.point) continue;
      process.stdout.write(values.pretty ? `${prettyLine(line)}\n` : `${text}\n`);
      if (limit > 0 && ++shown >= limit) break;
    }
    body.destroy();
  } catch (err) {
    if (!controller.signal.aborted) {
      process.stderr.write(`sr tap: stream ended: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
