#!/usr/bin/env node
// `sr`: the one entry point. Each subcommand lives with the part that owns it and is loaded lazily, so
// `sr processor` never loads the control plane (and the reverse).

interface Subcommand {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<void> }>;
}

const subcommands: Record<string, Subcommand> = {
  up: { summary: 'run everything on this machine: etcd, API server, controllers, processors', load: () => import('./up') },
  apiserver: { summary: 'the aggregated API server (kube-apiserver flags)', load: () => import('../apiserver/cmd') },
  controllers: { summary: 'the reconcilers for ClusterStream, Stream and Processor', load: () => import('../controllers/cmd') },
  processor: { summary: 'one processor instance (the data plane: SRP pipeline or streaming SQL)', load: () => import('../processor/cmd') },
  logs: { summary: 'show the logs of a Processor run by `sr up`', load: () => import('./logs') },
  tap: { summary: 'stream a sample of the messages passing through a processor (every replica)', load: () => import('./tap') },
  stream: { summary: "tail or publish to a Stream through its processors' binding (Kafka or RabbitMQ)", load: () => import('./stream/cmd') },
  explain: { summary: 'the plan (and with --state, watermarks and windows) of a streaming SQL processor', load: () => import('./explain') },
  'schema-registry': { summary: 'a development Confluent-compatible schema registry', load: () => import('./schema-registry/cmd') },
  generate: { summary: "run the original's data-generator manifests against `sr up`", load: () => import('./generate/cmd') },
};

function usage(): string {
  const width = Math.max(...Object.keys(subcommands).map((n) => n.length));
  const lines = Object.entries(subcommands).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`);
  return `Usage: sr <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'sr <command> --help' for a command's flags.\n`;
}

async function run(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  const sub = subcommands[name];
  if (!sub) {
    process.stderr.write(`sr: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  // Under `sr up`: stop when it is gone, even if it was killed with -9 (cli/lifeline.ts).
  (await import('./lifeline')).watchLifeline();
  const mod = await sub.load();
  await mod.main(rest);
}

run().catch((err: unknown) => {
  process.stderr.write(`sr: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
