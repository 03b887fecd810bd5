// Wires informers -> work queues -> reconcilers (one `Reconciler` per kind), with cross-kind triggers and a periodic
// resync:
//   ClusterStream change -> its Streams (readiness), and the other ClusterStreams naming the same destination when
//   it appears, goes, or changes server or claim (which one holds the destination: claims.ts destinationHeldBy);
//   Stream change -> its ClusterStream (claims, partitions) and the Processors that use it;
//   Processor change -> the ClusterStreams of its inputs (partitions for replicas, consumer group queues) and the
//   Processors writing those inputs (their RabbitMQ `requiredGroups`).
// A runtime status change (a process died) requeues its Processor. After the first sync, workloads whose
// Processor no longer exists are removed (they were deleted while the controllers were down).
import type { Logger } from 'pino';
import type { ClusterStream, KindName, Processor, Stream } from '../crds/types';
import { BrokerDirectory, type BrokerDefaults } from './brokers';
import { claimNamespace, clusterStreamProtocol, streamClusterStreamName } from './claims';
import { errorText } from './conditions';
import type { ControllerContext, ControllerOptions, Reconciler } from './context';
import { StreamingClient } from './kube/client';
import { Informer } from './kube/informer';
import { WorkQueue } from './queue';
import { reconcileClusterStream } from './reconcilers/clusterstream';
import { reconcileProcessor } from './reconcilers/processor';
import { reconcileStream } from './reconcilers/stream';
import type { Runtime } from './runtime/types';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ManagerOptions extends ControllerOptions {
  kubeConfig: KubeConfig;
  runtime: Runtime;
  brokers: BrokerDefaults;
  resyncPeriodMs: number;
  workers: number;
  log: Logger;
}

const RECONCILERS: Record<KindName, Reconciler> = {
  ClusterStream: reconcileClusterStream,
  Stream: reconcileStream,
  Processor: reconcileProcessor,
};

export class ControllerManager {
  readonly ctx: ControllerContext;
  private readonly informers: { clusterStreams: Informer<ClusterStream>; streams: Informer<Stream>; processors: Informer<Processor> };
  private readonly brokers: BrokerDirectory;
  private readonly queues: Record<KindName, WorkQueue>;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ManagerOptions) {
    const client = new StreamingClient(opts.kubeConfig);
    const log = opts.log;
    const informers = this.informers = {
      clusterStreams: new Informer<ClusterStream>(client, 'ClusterStream', log),
      streams: new Informer<Stream>(client, 'Stream', log),
      processors: new Informer<Processor>(client, 'Processor', log),
    };
    this.brokers = new BrokerDirectory(opts.brokers);
    const queues = {} as Record<KindName, WorkQueue>;
    this.ctx = {
      client,
      ...informers,
      brokers: this.brokers,
      runtime: opts.runtime,
      options: {
        autoProvisionClusterStreams: opts.autoProvisionClusterStreams, autoProvisionStreams: opts.autoProvisionStreams, retryDelayMs: opts.retryDelayMs,
      },
      log,
      enqueue: (kind, key) => queues[kind].add(key),
    };
    const ctx = this.ctx;
    for (const kind of Object.keys(RECONCILERS) as KindName[]) {
      const onError = (key: string, err: unknown): void => log.warn({ kind, key, err: errorText(err) }, 'reconcile failed; retrying with backoff');
      queues[kind] = new WorkQueue((key) => RECONCILERS[kind](ctx, key), { workers: opts.workers }, onError);
    }
    this.queues = queues;

    informers.clusterStreams.onChange((key, cur, prev, origin) => {
      if (origin === 'watch') queues.ClusterStream.add(key);
      if (!sameReadiness(cur, prev)) for (const s of informers.streams.list()) if (streamClusterStreamName(s) === key) queues.Stream.add(streamKey(s));
      // Which ClusterStream holds a destination depends on the others naming it: one created, deleted (the later one
      // then takes the destination over), moved to another server or claimed changes the answer for the rest.
      if (holderIdentity(cur) !== holderIdentity(prev)) {
        const names = new Set([cur?.spec.name, prev?.spec.name]);
        for (const other of informers.clusterStreams.list()) if (other.metadata.name !== key && names.has(other.spec.name)) queues.ClusterStream.add(other.metadata.name ?? '');
      }
    });
    informers.streams.onChange((key, cur, prev, origin) => {
      if (origin === 'watch') queues.Stream.add(key);
      const s = cur ?? prev;
      if (!s) return;
      if (!cur || !prev || cur.metadata.generation !== prev.metadata.generation || !!cur.metadata.deletionTimestamp) {
        queues.ClusterStream.add(streamClusterStreamName(s));
      }
      if (!sameReadiness(cur, prev) || cur?.metadata.generation !== prev?.metadata.generation) {
        for (const p of informers.processors.list()) if (usesStream(p, s)) queues.Processor.add(streamKey(p));
      }
    });
    informers.processors.onChange((key, cur, prev, origin) => {
      if (origin === 'watch') queues.Processor.add(key);
      const p = cur ?? prev;
      // Replicas decide partition counts; inputs (and partitioning) decide the consumer group queues a RabbitMQ
      // ClusterStream declares: a new Processor, or one reading other Streams, must reach them too.
      const reads = (x: Processor | undefined): string => JSON.stringify([x?.spec.inputs, x?.spec.attributes?.partitionedInput, !!x?.metadata.deletionTimestamp]);
      if (!p || (cur?.spec.replicas === prev?.spec.replicas && reads(cur) === reads(prev))) return;
      for (const input of p.spec.inputs ?? []) {
        const s = informers.streams.get(`${p.metadata.namespace}/${input.name}`);
        if (s) queues.ClusterStream.add(streamClusterStreamName(s));
      }
      if (reads(cur) === reads(prev)) return;
      // The Processors writing those Streams carry their readers as RabbitMQ `requiredGroups` (workload.ts): they
      // learn about a new or departed reader now, not at some later reconcile.
      const inputs = new Set((p.spec.inputs ?? []).map((i) => i.name));
      for (const writer of informers.processors.list()) {
        if (writer.metadata.namespace === p.metadata.namespace && (writer.spec.outputs ?? []).some((o) => inputs.has(o.name))) queues.Processor.add(streamKey(writer));
      }
    });
    opts.runtime.onStatusChange((key) => queues.Processor.add(key));
  }

  async start(): Promise<void> {
    const { clusterStreams, streams, processors } = this.informers;
    clusterStreams.start();
    streams.start();
    processors.start();
    await Promise.all([clusterStreams.waitForSync(), streams.waitForSync(), processors.waitForSync()]);
    // Workloads of Processors deleted while we were away.
    for (const key of await this.ctx.runtime.workloads()) {
      if (!processors.get(key)) this.queues.Processor.add(key);
    }
    if (this.opts.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncPeriodMs);
      this.resyncTimer.unref();
    }
    this.opts.log.info('controllers synced and running');
  }

  /** Level-triggered safety net: look at everything again. */
  resync(): void {
    for (const k of this.informers.clusterStreams.keys()) this.queues.ClusterStream.add(k);
    for (const k of this.informers.streams.keys()) this.queues.Stream.add(k);
    for (const k of this.informers.processors.keys()) this.queues.Processor.add(k);
  }

  async stop(opts: { stopWorkloads: boolean }): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const q of Object.values(this.queues)) q.stop();
    this.informers.clusterStreams.stop();
    this.informers.streams.stop();
    this.informers.processors.stop();
    await this.ctx.runtime.close(opts);
    await this.brokers.close();
  }
}

function streamKey(o: { metadata: { namespace?: string; name?: string } }): string {
  return `${o.metadata.namespace ?? 'default'}/${o.metadata.name ?? ''}`;
}

/** What decides whether a ClusterStream holds its destination against the others naming it (claims.ts). */
function holderIdentity(cs: ClusterStream | undefined): string {
  if (!cs) return '';
  return JSON.stringify([cs.spec.name, clusterStreamProtocol(cs), cs.spec.storage?.server?.url, claimNamespace(cs), cs.metadata.creationTimestamp]);
}

function usesStream(p: Processor, s: Stream): boolean {
  if (p.metadata.namespace !== s.metadata.namespace) return false;
  const name = s.metadata.name;
  const attrs = p.spec.attributes ?? {};
  return [...(p.spec.inputs ?? []), ...(p.spec.outputs ?? [])].some((x) => x.name === name) || attrs['srp.output.late'] === name || attrs['srp.output.deadLetter'] === name
    || (p.spec.inlineQuery ?? []).some((q) => [...q.matchAll(/\[\[STREAM:([^\]]+)\]\]/g)].some((m) => m[1].trim() === name));
}

function sameReadiness(a: { status?: { conditions?: { type: string; status: string }[]; storageAddress?: unknown } } | undefined, b: typeof a): boolean {
  const ready = (x: typeof a): string => JSON.stringify([x?.status?.conditions?.find((c) => c.type === 'Ready')?.status, x?.status?.storageAddress]);
  return !!a && !!b && ready(a) === ready(b);
}
