// Serving on several cores (`sr apiserver --workers N`). Node runs JavaScript on one core per process, where
// kube-apiserver uses every core, so N copies of the server share the listening port (node:cluster). Each keeps its
// own etcd client, etcd watch and watch cache, exactly like N kube-apiserver replicas behind one address: every
// resourceVersion comes from etcd, reads with resourceVersion="" are consistent reads, and a watch from a revision
// its worker has not seen yet waits for it. The primary only supervises: it forks the workers, restarts one that
// dies (with backoff), forwards SIGTERM/SIGINT, and aggregates Prometheus metrics for the worker serving /metrics.
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';

const WORKER_ID_ENV = 'SR_APISERVER_WORKER_ID';
const METRICS_TIMEOUT_MS = 5000;
const RESTART_BACKOFF_MS = { initial: 500, max: 30_000 };
/** A worker that lived this long is considered healthy again: its next crash restarts it without delay growth. */
const HEALTHY_AFTER_MS = 60_000;
const STOP_GRACE_MS = 8000;

export interface RenderedMetrics { contentType: string; body: string }

type ClusterMessage =
  | { type: 'sr:serving'; url: string }
  | { type: 'sr:metrics-request'; id: number }
  | { type: 'sr:metrics-reply'; id: number; contentType?: string; body?: string; error?: string };

function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string'
    && (message as { type: string }).type.startsWith('sr:');
}

/** This process' worker index when it is a worker of `--workers N`, else undefined. */
export function currentWorkerId(): number | undefined {
  return cluster.isWorker ? Number(process.env[WORKER_ID_ENV] ?? '0') : undefined;
}

/** Worker side: tells the primary where it serves (the primary prints the address once). */
export function announceServing(url: string): void {
  process.send?.({ type: 'sr:serving', url } satisfies ClusterMessage);
}

/**
 * Worker side: exposes this worker's registry to the primary's aggregation, and returns what /metrics serves: the
 * sum over all workers (counters, histograms, gauges), as one kube-apiserver would report.
 */
export function clusterMetrics(registry: Registry): () => Promise<RenderedMetrics> {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client installs the worker's answering listener when an AggregatorRegistry is constructed.
  new AggregatorRegistry();
  let nextId = 0;
  const pending = new Map<number, { resolve: (m: RenderedMetrics) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message) || message.type !== 'sr:metrics-reply') return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.error !== undefined || message.body === undefined) waiter.reject(new Error(`metrics aggregation failed: ${message.error ?? 'no body'}`));
    else waiter.resolve({ contentType: message.contentType ?? registry.contentType, body: message.body });
  });
  return () => new Promise<RenderedMetrics>((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error('metrics aggregation timed out')); }, METRICS_TIMEOUT_MS);
    pending.set(id, { resolve, reject, timer });
    process.send?.({ type: 'sr:metrics-request', id } satisfies ClusterMessage);
  });
}

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Called once, with the first worker's serving URL. */
  onServing: (url: string) => void;
}

/**
 * Primary side: forks and supervises the workers until SIGTERM/SIGINT; resolves with the exit code once all have
 * exited: 0 after a signal, 1 when a worker died before any served (a configuration error would only crash-loop).
 */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const { logger } = options;
  const aggregator = new AggregatorRegistry();
  const workerIndex = new Map<number, number>(); // cluster worker id -> our index
  const startedAt = new Map<number, number>();
  const backoff = new Map<number, number>();
  let announced = false;
  let stopping = false;

  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_ID_ENV]: String(index) });
    workerIndex.set(worker.id, index);
    startedAt.set(index, Date.now());
    worker.on('message', (message: unknown) => {
      if (!isClusterMessage(message)) return;
      if (message.type === 'sr:serving' && !announced) {
        announced = true;
        options.onServing(message.url);
      } else if (message.type === 'sr:metrics-request') {
        aggregator.clusterMetrics().then(
          (body) => worker.send({ type: 'sr:metrics-reply', id: message.id, contentType: aggregator.contentType, body } satisfies ClusterMessage),
          (err: unknown) => worker.send({ type: 'sr:metrics-reply', id: message.id, error: err instanceof Error ? err.message : String(err) } satisfies ClusterMessage),
        );
      }
    });
  };

  return new Promise<number>((resolve) => {
    let exitCode = 0;
    cluster.on('exit', (worker, code, signal) => {
      const index = workerIndex.get(worker.id);
      workerIndex.delete(worker.id);
      if (stopping) {
        if (workerIndex.size === 0) resolve(exitCode);
        return;
      }
      if (index === undefined) return;
      if (!announced) {
        logger.fatal({ worker: index, code, signal }, 'an apiserver worker exited before serving; stopping');
        exitCode = 1;
        stop('SIGTERM');
        return;
      }
      const lived = Date.now() - (startedAt.get(index) ?? 0);
      const delay = lived > HEALTHY_AFTER_MS ? RESTART_BACKOFF_MS.initial : Math.min(RESTART_BACKOFF_MS.max, (backoff.get(index) ?? RESTART_BACKOFF_MS.initial / 2) * 2);
      backoff.set(index, delay);
      logger.error({ worker: index, code, signal, restartInMs: delay }, 'apiserver worker exited; restarting it');
      setTimeout(() => { if (!stopping) fork(index); }, delay).unref();
    });
    function stop(signal: NodeJS.Signals): void {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down the workers');
      if (workerIndex.size === 0) { resolve(exitCode); return; }
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
      setTimeout(() => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        resolve(exitCode);
      }, STOP_GRACE_MS).unref();
    }
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    for (let i = 0; i < options.workers; i++) fork(i);
    logger.info({ workers: options.workers }, 'apiserver workers started');
  });
}
