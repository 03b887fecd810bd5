// `sr processor --config FILE` (or the JSON in $SR_PROCESSOR_CONFIG): one SRP processor instance.
// Exits 0 after a graceful shutdown on SIGTERM/SIGINT, 2 on a bad configuration.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { applyCredentialsFromEnv, parseProcessorConfig, PROCESSOR_CONFIG_ENV, type ProcessorConfig } from './config';
import { ProcessorRuntime } from './pipeline/runtime';
import { SqlProcessorRuntime } from './sql-runtime/runtime';

const USAGE = `Usage: sr processor [--config FILE] [--log-level LEVEL] [--http-port PORT] [--state-dir DIR]

Runs one processor instance: the SRP pipeline, or streaming SQL when the configuration has "sql". The configuration (JSON, see processor/README.md) comes from --config FILE or
the ${PROCESSOR_CONFIG_ENV} environment variable. SIGTERM drains in-flight messages, then exits.
--state-dir DIR: this replica's directory for state on disk (srp.window.state: ROCKSDB: SRP windows, SQL joins and GROUP BY); overrides the
configuration's stateDir; default .sr-state/<namespace>.<name>-<index> in the working directory.
`;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'log-level': { type: 'string', default: process.env.SR_LOG_LEVEL ?? 'info' },
      'http-port': { type: 'string' },
      'drain-timeout': { type: 'string', default: '10000' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const log = pino({ level: values['log-level'], base: { component: 'processor' } }, pino.destination(2));
  let config: ProcessorConfig;
  try {
    const text = values.config ? readFileSync(values.config, 'utf8') : process.env[PROCESSOR_CONFIG_ENV];
    if (!text) throw new Error(`no configuration: pass --config FILE or set ${PROCESSOR_CONFIG_ENV}\n\n${USAGE}`);
    config = parseProcessorConfig(text);
    applyCredentialsFromEnv(config, process.env);
    if (values['http-port'] !== undefined) config.http.port = Number(values['http-port']);
    if (values['state-dir'] !== undefined) config.stateDir = resolve(values['state-dir']);
  } catch (err) {
    process.stderr.write(`sr processor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const processorLog = log.child({ processor: `${config.namespace}/${config.name}`, instance: config.instanceIndex });
  // Start-up timeline (bench/controlplane.ts reads it): when the process began and how long node took to load
  // the code and read the configuration. Later steps log their own lines (listening, binders, first messages).
  processorLog.info({ processStart: Math.round(performance.timeOrigin), loadedMs: Math.round(performance.now()) }, 'processor process started');
  let runtime: ProcessorRuntime | SqlProcessorRuntime;
  try {
    // Streaming SQL (FSQL) runs its statements over the same binders, debug port and ack model as the SRP pipeline.
    runtime = config.sql
      ? new SqlProcessorRuntime(config, processorLog, { defaultMetrics: true })
      : new ProcessorRuntime(config, processorLog, { defaultMetrics: true });
  } catch (err) {
    process.stderr.write(`sr processor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const address = await runtime.listen();
  processorLog.info({ debug: `http://${address.host}:${address.port}` }, 'debug port listening');
  // Machine-readable line on stdout so supervisors (and tests) learn the port when it was 0.
  process.stdout.write(JSON.stringify({ event: 'listening', debugPort: address.port }) + '\n');

  const drainTimeout = Number(values['drain-timeout']);
  let exiting = false;
  const shutdown = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    processorLog.info({ signal }, 'shutting down');
    runtime.stop(drainTimeout).then(
      () => process.exit(0),
      (err: unknown) => {
        processorLog.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await runtime.start();
  } catch (err) {
    // Binders retry connections forever, so this is a programming or configuration error: exit, the supervisor
    // (local runtime or Kubernetes) restarts the instance.
    processorLog.error({ err: err instanceof Error ? err.message : String(err) }, 'processor failed to start');
    await runtime.stop(1000).catch(() => undefined);
    process.exit(1);
  }
}
