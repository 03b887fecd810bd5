// `sr logs <processor> [-n NS] [-f] [--dir DIR] [--container NAME]`: the logs of a Processor run by `sr up`
// (local runtime): every replica's processor and UDF/SCS container logs under DIR/logs, each line prefixed with
// `[<replica>/<container>]`. -f follows, including replicas that start later.
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `Usage: sr logs <processor> [-n NAMESPACE] [-f] [--dir DIR] [--container NAME]

  -n, --namespace NS   the Processor's namespace (default default)
  -f, --follow         keep printing new lines
  --dir DIR            the state directory of sr up (default .sr)
  --container NAME     only this container (processor = the SRP process)
`;

interface Source { file: string; label: string; offset: number; partial: string }

export function logSources(logDir: string, namespace: string, name: string, container?: string): { file: string; label: string }[] {
  if (!existsSync(logDir)) return [];
  const prefix = `${namespace}_${name}-`;
  const out: { file: string; label: string; order: [number, string] }[] = [];
  for (const f of readdirSync(logDir).sort()) {
    if (!f.startsWith(prefix) || !f.endsWith('.log')) continue;
    const m = /^(\d+)(?:-(.+))?\.log$/.exec(f.slice(prefix.length));
    if (!m) continue;
    const c = m[2] ?? 'processor';
    if (container && container !== c) continue;
    out.push({ file: join(logDir, f), label: `${m[1]}/${c}`, order: [Number(m[1]), c === 'processor' ? '' : c] });
  }
  // Replica by replica, the processor before its containers.
  out.sort((a, b) => a.order[0] - b.order[0] || String(a.order[1]).localeCompare(String(b.order[1])));
  return out.map(({ file, label }) => ({ file, label }));
}

function readNew(source: Source, write: (line: string) => void): void {
  if (!existsSync(source.file)) return;
  const size = statSync(source.file).size;
  if (size < source.offset) source.offset = 0; // truncated
  if (size === source.offset) return;
  const fd = openSync(source.file, 'r');
  try {
    const buf = Buffer.alloc(size - source.offset);
    readSync(fd, buf, 0, buf.length, source.offset);
    source.offset = size;
    const text = source.partial + buf.toString('utf8');
    const lines = text.split('\n');
    source.partial = lines.pop() ?? '';
    for (const l of lines) write(`[${source.label}] ${l}\n`);
  } finally { closeSync(fd); }
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n', default: 'default' },
      follow: { type: 'boolean', short: 'f', default: false },
      dir: { type: 'string', default: '.sr' },
      container: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const name = positionals[0];
  const logDir = join(resolve(values.dir), 'logs');
  const sources = new Map<string, Source>();
  const write = (l: string): void => { process.stdout.write(l); };
  const scan = (): void => {
    for (const s of logSources(logDir, values.namespace, name, values.container)) {
      if (!sources.has(s.file)) sources.set(s.file, { ...s, offset: 0, partial: '' });
    }
    for (const s of sources.values()) readNew(s, write);
  };
  scan();
  if (!values.follow) {
    if (sources.size === 0) {
      process.stderr.write(`sr logs: no logs for Processor ${values.namespace}/${name} in ${logDir} (is it running under sr up --dir ${values.dir}?)\n`);
      process.exitCode = 1;
    }
    return;
  }
  const timer = setInterval(scan, 250);
  await new Promise<void>((r) => { process.once('SIGINT', () => r()); process.once('SIGTERM', () => r()); });
  clearInterval(timer);
}
