// `sr schema-registry`: the development schema registry alone (`sr up` runs it as one of its components).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { serveRegistry } from './server';
import { RegistryStore } from './store';

export const DEFAULT_REGISTRY_PORT = 8081;

const USAGE = `Usage: sr schema-registry [flags]

A development Confluent-compatible schema registry (REST API: subjects, versions, schemas by id, compatibility).

  --port PORT   port to listen on (default ${DEFAULT_REGISTRY_PORT}; 0 = any free port)
  --host HOST   address to listen on (default 127.0.0.1)
  --dir DIR     where schema-registry.json is kept (default .sr/schema-registry)
`;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: String(DEFAULT_REGISTRY_PORT) },
      host: { type: 'string', default: '127.0.0.1' },
      dir: { type: 'string', default: '.sr/schema-registry' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return; }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not "${values.port}"`);
  const store = new RegistryStore(resolve(values.dir));
  const running = await serveRegistry(store, { host: values.host, port, instance: String(process.pid) });
  process.stdout.write(`schema registry listening on ${running.url} (state ${store.path})\n`);
  const stop = (): void => { void running.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise<never>(() => undefined);
}
