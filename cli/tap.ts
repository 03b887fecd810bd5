// `sr tap <processor | url-of-debug-port>`: streams a sample of the messages passing through a processor (its
// /debug/tap) to stdout, one JSON object per line, or one readable line per message with --pretty.
// By name, every replica is tapped at once (their debug ports come from the Processor's metrics-url annotation, kept
// up to date by `sr up`'s local runtime) and each line says which replica it came from; a replica that restarts is
// re-attached, and replicas that come or go with scaling are followed. In a cluster, `kubectl port-forward
// pod/<processor-pod> 8080` first and pass the URL.
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Processor } from '../crds/types';
import { getNamed, instanceBases, openCluster, type Cluster } from './stream/resources';

const USAGE = `Usage: sr tap <processor> [-n NAMESPACE] [--dir DIR | --kubeconfig FILE] [flags]
       sr tap <url-of-debug-port> [flags]

Streams a sample of the messages passing through a processor; by name, from every replica (each line labelled with
its replica: "replica" in JSON, [n] with --pretty), re-attaching replicas that restart. E.g.
  sr tap inline-transformation --point out --pretty
  sr tap http://127.0.0.1:8080 --sample 0.1 --limit 20

  --sample F      share of the messages to show, in (0, 1] (default 1)
  --limit N       stop after N lines (default 0 = never)
  --point P       in | out | late | dead-letter | filtered | debug
  --pretty        one readable line per message
  -n, --namespace NS, --dir DIR (sr up's, default .sr), --kubeconfig FILE: where the Processor is
`;

interface TapLine {
  time?: string;
  point?: string;
  stream?: string;
  partition?: number;
  headers?: Record<string, string>;
  payload?: string;
  payloadEncoding?: string;
  replica?: number;
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
  const replica = line.replica !== undefined ? `[${line.replica}] ` : '';
  return `${replica}${line.time ?? ''} ${(line.point ?? '').padEnd(11)} ${where}  ${headers}\n    ${payload}`;
}

/** Streams one debug port's tap lines to `onLine` until the stream ends or `signal` aborts. Throws when the port
 *  cannot be reached or answers with an error. */
async function follow(url: string, signal: AbortSignal, onLine: (line: TapLine) => void, onOpen?: () => void): Promise<void> {
  const response = await fetch(url, { signal });
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  onOpen?.();
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  // Aborting (limit reached, Ctrl-C) errors the body stream; that is the normal end here.
  body.on('error', () => undefined);
  const lines = createInterface({ input: body });
  lines.on('error', () => undefined);
  try {
    for await (const text of lines) {
      if (!text.trim()) continue;
      try {
        onLine(JSON.parse(text) as TapLine);
      } catch {
        // A partial line of a replica that went away.
      }
    }
  } finally {
    body.destroy();
  }
}

interface Output {
  /** false once the limit is reached. */
  show(line: TapLine): boolean;
}

function output(point: string | undefined, pretty: boolean, limit: number, done: () => void): Output {
  let shown = 0;
  return {
    show(line) {
      if (limit > 0 && shown >= limit) return false;
      // --point filters here (the server samples every point); --limit then counts what is shown.
      if (point && line.point !== point) return true;
      process.stdout.write(pretty ? `${prettyLine(line)}\n` : `${JSON.stringify(line)}\n`);
      if (limit > 0 && ++shown >= limit) { done(); return false; }
      return true;
    },
  };
}

async function tapOne(base: string, sample: number, limit: number, point: string | undefined, pretty: boolean): Promise<void> {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const url = tapUrl(base, sample, point ? 0 : limit);
  const out = output(point, pretty, limit, () => controller.abort());
  try {
    await follow(url, controller.signal, (line) => { out.show(line); });
  } catch (err) {
    if (controller.signal.aborted) return;
    process.stderr.write(`sr tap: cannot tap ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

const REREAD_MS = 2000;
const REATTACH_MS = 500;

/** Every replica of a Processor, followed as replicas restart, come and go, until the limit or Ctrl-C. */
async function tapProcessor(cluster: Cluster, namespace: string, name: string, sample: number, limit: number, point: string | undefined, pretty: boolean): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out = output(point, pretty, limit, () => stop.abort());
  const say = (text: string): void => { process.stderr.write(`▸ ${text}\n`); };
  // One attachment per replica index; replaced when that replica's address changes.
  const attached = new Map<number, { base: string; controller: AbortController }>();
  const attach = (replica: number, base: string): void => {
    const controller = new AbortController();
    attached.set(replica, { base, controller });
    const signal = AbortSignal.any([controller.signal, stop.signal]);
    void (async () => {
      let announced = false;
      while (!signal.aborted) {
        try {
          await follow(tapUrl(base, sample, 0), signal, (line) => { out.show({ ...line, replica }); }, () => {
            say(`replica ${replica} attached (${base})`);
            announced = false;
          });
        } catch {
          // Restarting, or not listening yet: try again below.
        }
        if (signal.aborted) break;
        if (!announced) say(`replica ${replica} (${base}) is gone; re-attaching when it answers`);
        announced = true;
        await new Promise((r) => setTimeout(r, REATTACH_MS));
      }
    })();
  };
  try {
    while (!stop.signal.aborted) {
      let bases: string[] = [];
      try {
        bases = instanceBases(await getNamed<Processor>(cluster, 'Processor', namespace, name));
      } catch (err) {
        // Gone or never there: say so and stop; no instances yet: wait for them.
        if (attached.size === 0 || /not found/.test(String(err))) throw err;
      }
      bases.forEach((base, replica) => {
        const current = attached.get(replica);
        if (current?.base === base) return;
        current?.controller.abort();
        attach(replica, base);
      });
      for (const [replica, { controller }] of attached) {
        if (replica < bases.length) continue;
        controller.abort();
        attached.delete(replica);
        say(`replica ${replica} scaled away`);
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, REREAD_MS);
        stop.signal.addEventListener('abort', () => { clearTimeout(timer); r(); }, { once: true });
      });
    }
  } finally {
    stop.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
      namespace: { type: 'string', short: 'n', default: 'default' },
      dir: { type: 'string', default: '.sr' },
      kubeconfig: { type: 'string' },
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
  const [target] = positionals;
  // A URL (or host:port) is one debug port; anything else names a Processor.
  if (/^https?:\/\//.test(target) || /^[^/]+:\d+$/.test(target)) return tapOne(target, sample, limit, values.point, values.pretty);
  const cluster = openCluster({ dir: values.dir, ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
  await tapProcessor(cluster, values.namespace, target, sample, limit, values.point, values.pretty);
}
