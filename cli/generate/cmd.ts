// `sr generate -f <data-generator manifest>`: runs the original's data generator configuration against the Streams
// of a running `sr up` (or any API server through --kubeconfig). See cli/generate/README.md.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../../crds/expressions/duration';
import type { Stream } from '../../crds/types';
import { mapInClusterAddress } from '../../controllers/in-cluster';
import { schemaRegistryOf } from '../../controllers/workload';
import { avroEncoder, encoderFor, jsonEncoder } from './avro';
import { readGeneratorConfig } from './config';
import { KafkaSink, RabbitSink, StdoutSink, type Sink } from './producer';
import { RecordGenerator } from './records';
import { GeneratorRun, type StreamTarget } from './run';
import { boundDestination, isReady, listStreams, rabbitUrlFor, readKubeconfig, serverUrl, streamFor, type KubeAccess } from './streams';

const USAGE = `Usage: sr generate -f FILE [flags]

Runs an original data-generator manifest (*data-generator*.yaml: the ConfigMap's application.yaml configuring
stream-data-generator) against the Streams of a running \`sr up\`: each generator stream's binding destination is
the spec.name of a Stream in the namespace; records go to its Kafka topic or RabbitMQ exchange (the bound ClusterStream's spec.name).

  -f, --file FILE              the manifest (or a bare application.yaml)
  --dir DIR                    sr up's state directory: kubeconfig, schema registry (default .sr)
  --kubeconfig FILE            API server to read Streams from (default DIR/kubeconfig)
  -n, --namespace NS           namespace of the Streams (default: the kubeconfig context's, else default)
  --seed N                     reproducible records (the same seed gives the same records)
  --duration D                 stop after D (e.g. 30s), before the manifest's terminateAfter
  --schema-registry-url URL    registry for valueFormat AVRO (default: the Stream's, an in-cluster one served
                               by sr up's registry, else sr up's)
  --rabbitmq-url URL           credentials for RabbitMQ Streams (default amqp://guest:guest@127.0.0.1:5672)
  --wait D                     how long to wait for the Streams to be Ready (default 60s)
  --dry-run                    print the records as JSON lines instead of producing them (no sr up needed)
  --quiet                      no progress line
`;

function durationFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const r = parseDuration(text);
  if (!r.ok) throw new Error(`--${name}: ${r.error}`);
  return r.value;
}

/** 260000 → "4m20s", 720000000 → "200h". */
function humanDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const units: Array<[string, number]> = [['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const [unit, size] of units) {
    if (rest >= size) { out += `${Math.floor(rest / size)}${unit}`; rest %= size; }
  }
  return out;
}

function stateRegistry(dir: string): string | undefined {
  const file = join(dir, 'run', 'schema-registry.json');
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { url?: string }).url;
  } catch {
    return undefined;
  }
}

async function waitForStreams(access: KubeAccess, destinations: string[], waitMs: number, say: (line: string) => void): Promise<Map<string, Stream>> {
  const deadline = Date.now() + waitMs;
  let announced = false;
  while (true) {
    const streams = await listStreams(access);
    const found = new Map<string, Stream>();
    const missing: string[] = [];
    const notReady: string[] = [];
    for (const d of destinations) {
      const s = streamFor(streams, d);
      if (!s) missing.push(d);
      else if (!isReady(s) || !serverUrl(s)) notReady.push(`${s.metadata.name} (${d})`);
      else found.set(d, s);
    }
    if (missing.length === 0 && notReady.length === 0) return found;
    if (Date.now() >= deadline) {
      const have = streams.map((s) => `${s.metadata.name} (${s.spec.name})`).join(', ') || 'none';
      if (missing.length) {
        throw new Error(`no Stream in namespace "${access.namespace}" has spec.name ${missing.map((m) => `"${m}"`).join(', ')} — apply the pipeline first (Streams there: ${have})`);
      }
      throw new Error(`Stream(s) ${notReady.join(', ')} in namespace "${access.namespace}" not Ready after ${waitMs / 1000} s`);
    }
    if (!announced) {
      say(`▸ waiting for Stream(s) of ${[...missing, ...notReady].join(', ')} in namespace "${access.namespace}"`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string', short: 'f' },
      dir: { type: 'string', default: '.sr' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      seed: { type: 'string' },
      duration: { type: 'string' },
      'schema-registry-url': { type: 'string' },
      'rabbitmq-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
      wait: { type: 'string', default: '60s' },
      'dry-run': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return; }
  if (!values.file) throw new Error('-f FILE is required (a data-generator manifest); see sr generate --help');
  const say = (line: string): void => { process.stderr.write(`${line}\n`); };
  const seed = values.seed !== undefined ? Number(values.seed) : undefined;
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, not "${values.seed}"`);
  const durationMs = durationFlag('duration', values.duration);
  const waitMs = durationFlag('wait', values.wait) ?? 60_000;

  const config = readGeneratorConfig(values.file);
  // Every expression is compiled before anything connects: an unknown one fails here, naming its field.
  for (const s of config.streams) new RecordGenerator(s.schema, `${values.file}: stream ${s.name}`);
  const limits = [config.terminateAfterMs, durationMs].filter((v): v is number => v !== undefined);
  const stopAfterMs = limits.length ? Math.min(...limits) : undefined;

  const targets: StreamTarget[] = [];
  const sinks: Sink[] = [];
  if (values['dry-run']) {
    const sink = new StdoutSink((line) => process.stdout.write(line));
    sinks.push(sink);
    // Encoded all the same (schema id 0), so that a record the schema cannot carry fails here as it would there.
    for (const s of config.streams) targets.push({ stream: s, destination: s.destination, sink, encoder: s.valueFormat === 'AVRO' ? avroEncoder(s.schema, 0) : jsonEncoder() });
  } else {
    const dir = resolve(values.dir);
    const kubeconfig = values.kubeconfig ?? join(dir, 'kubeconfig');
    if (!existsSync(kubeconfig)) throw new Error(`${kubeconfig} does not exist: is \`sr up --dir ${values.dir}\` running? (or pass --kubeconfig)`);
    const access = readKubeconfig(kubeconfig, values.namespace);
    const destinations = [...new Set(config.streams.map((s) => s.destination))];
    const streams = await waitForStreams(access, destinations, waitMs, say);
    const localRegistry = stateRegistry(dir);
    const kafkaSinks = new Map<string, Sink>();
    const rabbitSinks = new Map<string, Sink>();
    for (const s of config.streams) {
      const stream = streams.get(s.destination)!;
      const address = serverUrl(stream)!;
      let sink: Sink;
      if (stream.spec.protocol === 'rabbitmq') {
        const url = rabbitUrlFor(address, values['rabbitmq-url']);
        sink = rabbitSinks.get(url) ?? new RabbitSink(url);
        rabbitSinks.set(url, sink);
      } else {
        sink = kafkaSinks.get(address) ?? new KafkaSink(address);
        kafkaSinks.set(address, sink);
      }
      if (!sinks.includes(sink)) sinks.push(sink);
      const named = schemaRegistryOf(stream);
      const registry = values['schema-registry-url']
        ?? (named ? mapInClusterAddress('schema-registry', named, localRegistry, true).address : undefined)
        ?? localRegistry;
      const destination = await boundDestination(access, stream);
      const { encoder, detail } = await encoderFor(s.valueFormat, s.schema, destination, registry)
        .catch((err: unknown) => { throw new Error(`stream ${s.name}: ${err instanceof Error ? err.message : String(err)}`); });
      targets.push({ stream: s, destination, sink, encoder });
      say(`▸ ${s.name} → Stream ${access.namespace}/${stream.metadata.name} (${sink.description}, ${stream.spec.protocol === 'rabbitmq' ? 'exchange' : 'topic'} ${destination}), ${detail}`);
    }
  }

  const run = new GeneratorRun(targets, { ...(seed !== undefined ? { seed } : {}), ...(stopAfterMs !== undefined ? { stopAfterMs } : {}) });
  say(`▸ generating${stopAfterMs !== undefined ? ` for up to ${humanDuration(stopAfterMs)}` : ''}${seed !== undefined ? ` (seed ${seed})` : ''}; Ctrl-C stops`);
  let interrupted = 0;
  const onSignal = (): void => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    say('\n▸ stopping (Ctrl-C again to quit at once)');
    run.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = process.stderr.isTTY && !values.quiet;
  let ticks = 0;
  const progress = values.quiet ? undefined : setInterval(() => {
    ticks++;
    if (tty) process.stderr.write(`\r${run.progress()}\x1b[K`);
    else if (ticks % 5 === 0) say(run.progress());
  }, 1000);
  try {
    await run.run();
  } finally {
    if (progress) clearInterval(progress);
    if (tty) process.stderr.write('\n');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(sinks.map((s) => s.close()));
  }
  say(`▸ done: ${run.progress()}`);
  for (const s of run.stats) if (s.lastSkip) say(`  ${s.name}: ${s.skipped} record(s) skipped, the last because ${s.lastSkip}`);
}
