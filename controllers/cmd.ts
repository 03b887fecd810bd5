// `sr controllers`: the reconcilers for ClusterStream, Stream and Processor, with the local or kubernetes runtime.
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { parseDuration } from '../crds/expressions/duration';
import { loadKubeConfig } from './kube/client';
import { FileLeaderLock, LeaseLeaderLock, type LeaderLock } from './leader';
import { ControllerManager } from './manager';
import { LocalRuntime } from './runtime/local/local-runtime';
import { ensureDefaultImageMap, ImageMap } from './runtime/local/images';
import type { Runtime } from './runtime/types';

/** The processor's variable naming the dev Kafka's brokers (processor/binders/kafka-group-timing.ts; the control
 *  plane imports nothing from processor/ but config.ts, so the name is repeated here). */
const KAFKA_MOCK_BROKERS_ENV = 'SR_KAFKA_MOCK_BROKERS';

const USAGE = `Usage: sr controllers [flags]

  --kubeconfig FILE                     API server to reconcile against (default: in-cluster, then ~/.kube/config)
  --runtime local|kubernetes            where processors run (default local)
  --state-dir DIR                       local runtime: config, pid and log files (default .sr)
  --namespace NS                        kubernetes runtime: namespace of the Lease (default: default)
  --auto-provision-cluster-streams[=B]  create <stream>-cluster-stream for Streams without one (default true)
  --auto-provision-streams[=B]          create missing Streams named by Processors (default true)
  --leader-elect[=B]                    kubernetes: coordination.k8s.io Lease; local: a lock file in --state-dir
                                        (default: true for kubernetes, true for local)
  --resync-period DURATION              re-reconcile everything this often (default 5m; 0 = never)
  --workers N                           concurrent reconciles per kind (default 4)
  --kafka-brokers HOST:PORT,...         default Kafka for auto-provisioned ClusterStreams
  --rabbitmq-url URL                    default RabbitMQ (default amqp://guest:guest@127.0.0.1:5672)
  --kafka-mock-control HOST:PORT        the dev kafka-mock's control port (topics are pre-created through it)
  --schema-registry-url URL             the default schema registry (sr up: its development registry); local
                                        runtime: in-cluster registry addresses (*.svc[.cluster.local]) use it
  --keep-workloads-on-exit              local: leave processes running on SIGTERM (adopted by the next run)
  --images FILE                         local: image map (image pattern -> local command) for containers without a
                                        command; repeatable, first match wins, before DIR/images.yaml
  --log-level LEVEL                     pino level (default info)
`;

const BOOLEAN_FLAGS = ['auto-provision-cluster-streams', 'auto-provision-streams', 'leader-elect', 'keep-workloads-on-exit'];

/** `--flag`, `--flag=true|false` and `--no-flag` for boolean flags (node 20's parseArgs has no negation). */
export function normalizeBooleans(argv: string[]): { argv: string[]; booleans: Record<string, boolean> } {
  const booleans: Record<string, boolean> = {};
  const rest: string[] = [];
  for (const arg of argv) {
    const m = /^--(no-)?([a-z-]+)(?:=(true|false))?$/.exec(arg);
    if (m && BOOLEAN_FLAGS.includes(m[2])) booleans[m[2]] = m[1] ? false : m[3] !== 'false';
    else rest.push(arg);
  }
  return { argv: rest, booleans };
}

export async function main(argv: string[]): Promise<void> {
  const { argv: rest, booleans } = normalizeBooleans(argv);
  const { values } = parseArgs({
    args: rest,
    options: {
      kubeconfig: { type: 'string' },
      runtime: { type: 'string', default: 'local' },
      'state-dir': { type: 'string', default: '.sr' },
      namespace: { type: 'string', default: 'default' },
      'resync-period': { type: 'string', default: '5m' },
      workers: { type: 'string', default: '4' },
      'kafka-brokers': { type: 'string' },
      'rabbitmq-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
      'kafka-mock-control': { type: 'string' },
      'schema-registry-url': { type: 'string' },
      images: { type: 'string', multiple: true },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return; }
  const runtimeName = values.runtime;
  if (runtimeName !== 'local' && runtimeName !== 'kubernetes') throw new Error(`--runtime must be local or kubernetes, not "${runtimeName}"`);
  const resync = parseDuration(values['resync-period']);
  if (!resync.ok) throw new Error(`--resync-period: ${resync.error}`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be a positive integer');

  const log = pino({ level: values['log-level'], base: { component: 'controllers' } }, pino.destination(2));
  const kubeConfig = loadKubeConfig(values.kubeconfig);
  const stateDir = resolve(values['state-dir']);

  let runtime: Runtime;
  if (runtimeName === 'local') {
    // Consumer groups on the dev Kafka (librdkafka's mock) need their own timing: processor/binders/kafka-group-timing.ts.
    const devKafka: Record<string, string> = {};
    if (values['kafka-mock-control'] && values['kafka-brokers']) devKafka[KAFKA_MOCK_BROKERS_ENV] = values['kafka-brokers'];
    // Image map: every --images file, then DIR/images.yaml (created from the shipped default on first run).
    const stateMap = ensureDefaultImageMap(stateDir);
    const images = new ImageMap([...(values.images ?? []).map((f) => resolve(f)), stateMap], new Set([stateMap]),
      (file, err) => log.warn({ file, err: err instanceof Error ? err.message : String(err) }, 'image map not reloaded; keeping the previous contents'));
    runtime = new LocalRuntime({ dir: stateDir, log: log.child({ runtime: 'local' }), processorEnv: devKafka, images });
  } else {
    const { KubernetesRuntime } = await import('./runtime/kubernetes/kubernetes-runtime');
    runtime = new KubernetesRuntime(kubeConfig, log.child({ runtime: 'kubernetes' }));
  }

  let lock: LeaderLock | undefined;
  if (booleans['leader-elect'] ?? true) {
    lock = runtimeName === 'kubernetes'
      ? new LeaseLeaderLock(kubeConfig, { namespace: values.namespace, name: 'sr-controllers' }, log)
      : new FileLeaderLock(join(stateDir, 'run', 'controllers.lock'), log);
  }

  const manager = new ControllerManager({
    kubeConfig, runtime, log,
    brokers: {
      ...(values['kafka-brokers'] ? { kafka: values['kafka-brokers'] } : {}),
      rabbitmq: values['rabbitmq-url'],
      ...(values['kafka-mock-control'] ? { kafkaMockControl: values['kafka-mock-control'] } : {}),
      ...(values['schema-registry-url'] ? { schemaRegistry: values['schema-registry-url'] } : {}),
      // In-cluster addresses (*.svc) only resolve in a cluster: on this machine the defaults serve them.
      mapInClusterAddresses: runtimeName === 'local',
    },
    autoProvisionClusterStreams: booleans['auto-provision-cluster-streams'] ?? true,
    autoProvisionStreams: booleans['auto-provision-streams'] ?? true,
    retryDelayMs: 5000,
    resyncPeriodMs: resync.value,
    workers,
  });

  let stopping = false;
  const keepWorkloads = booleans['keep-workloads-on-exit'] ?? false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping');
    await manager.stop({ stopWorkloads: runtimeName === 'local' && !keepWorkloads });
    await lock?.release();
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));

  if (lock) {
    try {
      await lock.acquire();
    } catch (err) {
      if (stopping) return; // released by a signal while waiting to lead: shutdown() exits
      throw err;
    }
    lock.onLost(() => { log.error('lost leadership; exiting'); void shutdown(1); });
  }
  await manager.start();
  // Keep running until a signal arrives.
  await new Promise<never>(() => undefined);
}
