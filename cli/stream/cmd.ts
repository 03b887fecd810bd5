// `sr stream tail` and `sr stream publish`: a Stream's data without broker tools, through the binding its
// processors use (see README.md here).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sideChannelBinding, streamBinding, type BindingFlags, type StreamBinding } from './binding';
import { RecordPrinter, type Format } from './format';
import { buildMessages, publishAll } from './publish';
import { openCluster } from './resources';
import { KafkaTail, RabbitTail, type Tail } from './tail';

const USAGE = `Usage: sr stream tail <stream> [-n NS] [--from-beginning] [--max N] [--format json|raw]
       sr stream tail --dead-letters <processor> [-n NS] [--max N] [--format json|raw]
       sr stream tail --late <processor> [-n NS] [--max N] [--format json|raw]
       sr stream publish <stream> [-n NS] [--key K] [--header k=v]... [VALUE | -f FILE | < lines]

tail: prints what passes through a Stream, one JSON line per message (partition, offset, key, headers, value; Avro
  in the Confluent wire format decoded through the schema registry), without taking anything from its processors:
  Kafka, a consumer group of its own that commits nothing; RabbitMQ, an exclusive queue of its own bound to the
  Stream's exchange. --dead-letters / --late: a Processor's dead-letter or late destination, its existing contents
  first (left where they are), then what arrives.
publish: sends VALUE, or each line of FILE (or of standard input) as one message, through the Stream's binding and
  with its partitioning, and waits until the broker confirmed every one.

  -n, --namespace NS          namespace of the Stream or Processor (default default)
  --dir DIR                   sr up's state directory: kubeconfig, schema registry (default .sr)
  --kubeconfig FILE           the API server (default DIR/kubeconfig)
  --rabbitmq-url URL          RabbitMQ credentials when neither a binding Secret nor the ClusterStream has them
                              (default amqp://guest:guest@127.0.0.1:5672, as sr up)
  --schema-registry-url URL   registry decoding Avro (default: the Stream's, else sr up's)
  tail:
  --from-beginning            Kafka: from the oldest record kept (default: only what arrives from now on)
  --max N                     stop after N messages
  --format json|raw           raw: the value alone, one per line
  publish:
  --key K                     Kafka record key
  --header k=v                a header (repeatable); contentType defaults to application/json for JSON values
  -f, --file FILE             one message per non-empty line (e.g. a .jsonl file); - for standard input
`;

function flagsOf(values: { dir: string; kubeconfig?: string; 'rabbitmq-url': string; 'schema-registry-url'?: string }): BindingFlags & { kubeconfig?: string } {
  return {
    dir: values.dir,
    rabbitmqUrl: values['rabbitmq-url'],
    ...(values['schema-registry-url'] ? { schemaRegistryUrl: values['schema-registry-url'] } : {}),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
  };
}

/** The flags both verbs take: where the Stream is and how to reach its broker and registry. */
const COMMON_OPTIONS = {
  namespace: { type: 'string', short: 'n', default: 'default' },
  dir: { type: 'string', default: '.sr' },
  kubeconfig: { type: 'string' },
  'rabbitmq-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
  'schema-registry-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const say = (line: string): void => { process.stderr.write(`${line}\n`); };

function credentialsNote(binding: StreamBinding): string {
  return binding.credentialsFrom ? ` (credentials from ${binding.credentialsFrom})` : '';
}

async function tail(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      'from-beginning': { type: 'boolean', default: false },
      'dead-letters': { type: 'boolean', default: false },
      late: { type: 'boolean', default: false },
      max: { type: 'string' },
      format: { type: 'string', default: 'json' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return; }
  if (positionals.length !== 1) throw new UsageError('sr stream tail needs one Stream (or, with --dead-letters/--late, one Processor)');
  if (values['dead-letters'] && values.late) throw new UsageError('--dead-letters and --late exclude each other');
  if (values.format !== 'json' && values.format !== 'raw') throw new UsageError(`--format must be json or raw, not "${values.format}"`);
  const max = values.max === undefined ? Infinity : Number(values.max);
  if (!(Number.isInteger(max) && max > 0) && max !== Infinity) throw new UsageError(`--max must be a positive integer, not "${values.max}"`);
  const flags = flagsOf(values);
  const cluster = openCluster(flags);
  const [name] = positionals;
  const namespace = values.namespace;
  const side = values['dead-letters'] ? 'dead-letters' : values.late ? 'late' : undefined;
  const binding = side
    ? await sideChannelBinding(cluster, namespace, name, side, flags)
    : await streamBinding(cluster, namespace, name, flags);
  const { output } = binding;
  if (output.protocol === 'rabbitmq' && values['from-beginning'] && !side) {
    throw new UsageError('--from-beginning: a RabbitMQ exchange keeps no history (only its consumers\' queues do, and reading those would take their messages); tail shows what arrives from now on');
  }
  // A side channel is read from its start: what is kept there is the point (RabbitMQ: its durable queue, named after
  // the destination; Kafka: the topic from the beginning).
  const source: Tail = output.protocol === 'kafka'
    ? new KafkaTail(output, side !== undefined || values['from-beginning'])
    : new RabbitTail(output, side ? output.destination : undefined, max);

  let shown = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => { finish = r; });
  const printer = new RecordPrinter(values.format as Format, (line) => { process.stdout.write(line); }, binding.schemaRegistry);
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  try {
    const what = await source.start((record) => {
      if (shown >= max) return;
      shown++;
      void printer.print(record).then(() => { if (shown >= max) finish(); });
    });
    const subject = side ? `the ${side === 'late' ? 'late' : 'dead-letter'} destination of Processor ${namespace}/${name}` : `Stream ${namespace}/${name}`;
    say(`▸ tailing ${subject}: ${what}${credentialsNote(binding)}; Ctrl-C stops`);
    await finished;
    await printer.flush();
  } finally {
    process.off('SIGINT', finish);
    process.off('SIGTERM', finish);
    await source.close();
  }
}

class UsageError extends Error {}

async function readLines(file: string): Promise<string> {
  if (file !== '-') return readFileSync(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function publish(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      key: { type: 'string' },
      header: { type: 'string', multiple: true, default: [] },
      file: { type: 'string', short: 'f' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return; }
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError('sr stream publish needs one Stream, then a VALUE, -f FILE, or lines on standard input');
  if (positionals.length === 2 && values.file) throw new UsageError('give either a VALUE or -f FILE, not both');
  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const eq = h.indexOf('=');
    if (eq <= 0) throw new UsageError(`--header must be name=value, not "${h}"`);
    headers[h.slice(0, eq)] = h.slice(eq + 1);
  }
  const [name, value] = positionals;
  const source = value !== undefined ? undefined : (values.file ?? '-');
  if (source === '-' && process.stdin.isTTY) say('▸ reading messages from standard input, one per line (Ctrl-D ends)');
  const inputs = value !== undefined
    ? [{ value, origin: 'VALUE' }]
    : (await readLines(source!)).split('\n').map((line, i) => ({ value: line.replace(/\r$/, ''), origin: `line ${i + 1} of ${source === '-' ? 'standard input' : source}` })).filter((l) => l.value.trim() !== '');
  if (inputs.length === 0) throw new UsageError('nothing to publish: no VALUE and no non-empty line');

  const flags = flagsOf(values);
  const cluster = openCluster(flags);
  const binding = await streamBinding(cluster, values.namespace, name, flags);
  const { output } = binding;
  if (values.key !== undefined && output.protocol === 'rabbitmq') {
    throw new UsageError('--key: RabbitMQ messages have no key (a partitioned Stream is partitioned by its keys headers or keyExpression: pass --header)');
  }
  const messages = buildMessages(output, inputs, { ...(values.key !== undefined ? { key: values.key } : {}), headers });
  const counts = await publishAll(output, binding.config, messages);
  const spread = [...counts].filter(([p]) => p !== undefined).sort(([a], [b]) => (a ?? 0) - (b ?? 0)).map(([p, n]) => `${n}→${p}`).join(' ');
  say(`▸ published ${messages.length} message(s) to Stream ${values.namespace}/${name} (${output.protocol === 'kafka' ? 'topic' : 'exchange'} ${output.destination}${spread ? `, by partition ${spread}` : ''})${credentialsNote(binding)}`);
}

export async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  try {
    if (verb === 'tail') return await tail(rest);
    if (verb === 'publish') return await publish(rest);
    if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') { process.stdout.write(USAGE); return; }
    throw new UsageError(`unknown subcommand "${verb}" (tail or publish)`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sr stream: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  }
}
