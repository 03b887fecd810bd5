// Test support (not a test): a ControllerContext held in memory, for the reconcilers' unit tests. These are fakes,
// on purpose: they stand in for the API server (with informer caches always in sync with it), the brokers and the
// runtime, so that failure branches can be reached without a whole `sr up` (a broker that refuses, a runtime that
// fails, a claim race). They implement the real seams (context.ts ApiWriter/ObjectCache/BrokerLookup,
// provisioners/types.ts Provisioner, runtime/types.ts Runtime), and broker addresses are resolved by the real
// BrokerDirectory. The real API server, brokers and runtime are covered by test/e2e.
import pino from 'pino';
import type { ClusterStream, KindName, Processor, Protocol, Stream, StreamingResource } from '../../crds/types';
import { API_VERSION } from '../../crds/types';
import { BrokerDirectory, type BrokerDefaults } from '../brokers';
import { findCondition } from '../conditions';
import type { ApiWriter, BrokerLookup, ControllerContext, ControllerOptions, ObjectCache, Reconciler, ReconcileOutcome } from '../context';
import { ApiError, objectKey } from '../kube/client';
import type { BrokerEndpoint, ConsumerGroup, EnsureResult, Provisioner, RemoveResult } from '../provisioners/types';
import type { ProcessorWorkload, Runtime, WorkloadStatus } from '../runtime/types';

export type Verb = 'create' | 'patch' | 'patchStatus';

/** A write the reconcilers made, as the API server received it. */
export interface RecordedWrite {
  verb: Verb;
  kind: KindName;
  key: string;
  body: unknown;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Json = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

/** The API server and the informers' caches in one: every object lives in one map per kind; writes bump the
 *  resourceVersion, honour resourceVersion preconditions (409) and finalizers, and are recorded. */
export class FakeApi implements ApiWriter {
  readonly writes: RecordedWrite[] = [];
  /** Failures to inject: the next write matching `verb` (and `kind`, when given) rejects with `error`. */
  readonly failures: { verb: Verb; kind?: KindName; error: Error }[] = [];
  /** The clock that stamps creationTimestamp (tests move it to order objects). */
  now = new Date('2026-01-01T00:00:00Z');
  private readonly stores: Record<KindName, Map<string, StreamingResource>> = { ClusterStream: new Map(), Stream: new Map(), Processor: new Map() };
  private revision = 0;

  /** An object as a user's `kubectl apply` creates it: stored with uid, resourceVersion, generation 1 and
   *  creationTimestamp (its own, else `now`). */
  put<T extends StreamingResource>(obj: T): T {
    const stored = structuredClone(obj);
    stored.metadata.uid ??= `uid-${stored.metadata.name ?? ''}`;
    stored.metadata.generation ??= 1;
    stored.metadata.creationTimestamp ??= this.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    stored.metadata.resourceVersion = String(++this.revision);
    this.stores[obj.kind].set(objectKey(stored.metadata), stored);
    return structuredClone(stored);
  }

  /** A user's spec change: a new generation. */
  updateSpec<T extends StreamingResource>(kind: T['kind'], key: string, spec: Partial<T['spec']>): void {
    const current = this.must(kind, key);
    current.spec = { ...current.spec, ...spec } as typeof current.spec;
    current.metadata.generation = (current.metadata.generation ?? 1) + 1;
    current.metadata.resourceVersion = String(++this.revision);
  }

  /** `kubectl delete`: marks the object deleting while it has finalizers, else removes it. */
  delete(kind: KindName, key: string): void {
    const current = this.must(kind, key);
    if ((current.metadata.finalizers ?? []).length === 0) { this.stores[kind].delete(key); return; }
    current.metadata.deletionTimestamp = this.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    current.metadata.resourceVersion = String(++this.revision);
  }

  get<T extends StreamingResource>(kind: T['kind'], key: string): T | undefined {
    const obj = this.stores[kind].get(key);
    return obj ? structuredClone(obj) as T : undefined;
  }

  list<T extends StreamingResource>(kind: T['kind']): T[] {
    return [...this.stores[kind].values()].map((o) => structuredClone(o) as T);
  }

  /** Writes of one verb (and kind), in order. */
  writesOf(verb: Verb, kind?: KindName): RecordedWrite[] {
    return this.writes.filter((w) => w.verb === verb && (kind === undefined || w.kind === kind));
  }

  async create<T extends StreamingResource>(obj: T): Promise<T> {
    const key = objectKey(obj.metadata);
    this.record('create', obj.kind, key, obj);
    if (this.stores[obj.kind].has(key)) throw new ApiError(409, `${obj.kind} "${obj.metadata.name ?? ''}" already exists`);
    return this.put(obj);
  }

  async patch<T extends StreamingResource>(kind: KindName, namespace: string | undefined, name: string, body: object): Promise<T> {
    const key = objectKey({ namespace, name });
    this.record('patch', kind, key, body);
    const current = this.must(kind, key);
    const wanted = (body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== current.metadata.resourceVersion) {
      throw new ApiError(409, `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified`);
    }
    const patched = mergePatch(current, body) as StreamingResource;
    patched.metadata.resourceVersion = String(++this.revision);
    // The last finalizer of a deleting object gone: the API server deletes it.
    if (patched.metadata.deletionTimestamp && (patched.metadata.finalizers ?? []).length === 0) this.stores[kind].delete(key);
    else this.stores[kind].set(key, patched);
    return structuredClone(patched) as T;
  }

  async patchStatus<T extends StreamingResource>(kind: KindName, namespace: string | undefined, name: string, status: object): Promise<T> {
    const key = objectKey({ namespace, name });
    this.record('patchStatus', kind, key, status);
    const current = this.must(kind, key);
    const patched = mergePatch(current, { status }) as StreamingResource;
    patched.metadata.resourceVersion = String(++this.revision);
    this.stores[kind].set(key, patched);
    return structuredClone(patched) as T;
  }

  /** An informer's cache over this store: always in sync (the watch is instant here). */
  cache<T extends StreamingResource>(kind: T['kind']): ObjectCache<T> {
    const store = this.stores[kind];
    return {
      get: (key) => this.get<T>(kind, key),
      list: () => this.list<T>(kind),
      // What the reconciler observes is what the API returned: older than the store at most, never newer.
      observe: (obj) => {
        const stored = store.get(objectKey(obj.metadata));
        if (stored && Number(stored.metadata.resourceVersion) < Number(obj.metadata.resourceVersion)) throw new Error(`observed a version the API never returned: ${objectKey(obj.metadata)}`);
      },
    };
  }

  private record(verb: Verb, kind: KindName, key: string, body: unknown): void {
    this.writes.push({ verb, kind, key, body: structuredClone(body) });
    const i = this.failures.findIndex((f) => f.verb === verb && (f.kind === undefined || f.kind === kind));
    if (i >= 0) throw this.failures.splice(i, 1)[0].error;
  }

  private must(kind: KindName, key: string): StreamingResource {
    const current = this.stores[kind].get(key);
    if (!current) throw new ApiError(404, `${kind} "${key}" not found`);
    return current;
  }
}

export type ProvisionerCall =
  | { op: 'ensure'; url: string; destination: string; partitions: number }
  | { op: 'remove'; url: string; destination: string }
  | { op: 'ensureConsumerGroups'; url: string; destination: string; groups: ConsumerGroup[] };

/** A broker that keeps destinations in a map: failures on demand, and optionally a Kafka that cannot grow topics
 *  or delete them (like the dev Kafka). */
export class FakeProvisioner implements Provisioner {
  readonly calls: ProvisionerCall[] = [];
  /** destination -> partitions, per broker url. */
  readonly destinations = new Map<string, number>();
  failEnsure: Error | undefined;
  failRemove: Error | undefined;
  failConsumerGroups: Error | undefined;
  /** Set: topics keep the partitions they were created with, and remove keeps them. */
  fixedTopics = false;

  constructor(readonly protocol: Protocol) {}

  get cannotDelete(): string | undefined {
    return this.fixedTopics ? 'this fake broker cannot delete topics' : undefined;
  }

  async ensure(endpoint: BrokerEndpoint, destination: string, partitions: number): Promise<EnsureResult | void> {
    this.calls.push({ op: 'ensure', url: endpoint.url, destination, partitions });
    if (this.failEnsure) throw this.failEnsure;
    const key = `${endpoint.url} ${destination}`;
    const has = this.destinations.get(key);
    const now = has !== undefined && this.fixedTopics ? has : Math.max(has ?? 0, partitions);
    this.destinations.set(key, now);
    return this.protocol === 'kafka' ? { partitions: now } : undefined;
  }

  async remove(endpoint: BrokerEndpoint, destination: string): Promise<RemoveResult | void> {
    this.calls.push({ op: 'remove', url: endpoint.url, destination });
    if (this.failRemove) throw this.failRemove;
    if (this.fixedTopics) return { outcome: 'kept', reason: `${this.cannotDelete ?? ''}: "${destination}" stays` };
    this.destinations.delete(`${endpoint.url} ${destination}`);
    return { outcome: 'deleted' };
  }

  async ensureConsumerGroups(endpoint: BrokerEndpoint, destination: string, groups: ConsumerGroup[]): Promise<void> {
    this.calls.push({ op: 'ensureConsumerGroups', url: endpoint.url, destination, groups });
    if (this.failConsumerGroups) throw this.failConsumerGroups;
  }

  /** The calls of one operation. */
  callsOf<Op extends ProvisionerCall['op']>(op: Op): Extract<ProvisionerCall, { op: Op }>[] {
    return this.calls.filter((c): c is Extract<ProvisionerCall, { op: Op }> => c.op === op);
  }

  async close(): Promise<void> { /* nothing held */ }
}

/** A runtime that records what it is asked to run and answers with the status the test sets. */
export class FakeRuntime implements Runtime {
  readonly name = 'local' as const;
  readonly applied: ProcessorWorkload[] = [];
  readonly removed: string[] = [];
  failApply: Error | undefined;
  /** Default: every replica of the workload running and ready. */
  status: ((workload: ProcessorWorkload) => WorkloadStatus) | undefined;
  private readonly listeners: ((key: string) => void)[] = [];

  async apply(workload: ProcessorWorkload): Promise<WorkloadStatus> {
    this.applied.push(workload);
    if (this.failApply) throw this.failApply;
    return this.status?.(workload) ?? { replicas: workload.replicas, readyReplicas: workload.replicas };
  }

  async remove(key: string): Promise<void> { this.removed.push(key); }

  async workloads(): Promise<string[]> { return [...new Set(this.applied.map((w) => w.key))].filter((k) => !this.removed.includes(k)); }

  onStatusChange(listener: (key: string) => void): void { this.listeners.push(listener); }

  async close(): Promise<void> { /* nothing runs */ }
}

export interface FakeControllers {
  ctx: ControllerContext;
  api: FakeApi;
  kafka: FakeProvisioner;
  rabbitmq: FakeProvisioner;
  runtime: FakeRuntime;
  /** What the reconcilers asked to requeue (ctx.enqueue). */
  enqueued: { kind: KindName; key: string }[];
  /** The controllers' log lines (warnings and above), as JSON. */
  logs: { msg: string; [k: string]: unknown }[];
}

/** The default servers of the fake context: credentials in the RabbitMQ URL as `sr controllers` gets them. */
export const DEFAULT_KAFKA = 'kafka-0.test:9092,kafka-1.test:9092';
export const DEFAULT_RABBITMQ = 'amqp://guest:secret@rabbit.test:5672';

export function fakeControllers(opts: Partial<ControllerOptions> & { brokers?: BrokerDefaults } = {}): FakeControllers {
  const api = new FakeApi();
  const kafka = new FakeProvisioner('kafka');
  const rabbitmq = new FakeProvisioner('rabbitmq');
  const runtime = new FakeRuntime();
  const enqueued: FakeControllers['enqueued'] = [];
  const logs: FakeControllers['logs'] = [];
  // Real address resolution (defaults, credentials, in-cluster mapping); only the provisioning is faked.
  const directory = new BrokerDirectory(opts.brokers ?? { kafka: DEFAULT_KAFKA, rabbitmq: DEFAULT_RABBITMQ });
  const brokers: BrokerLookup = {
    endpoint: (protocol, url) => directory.endpoint(protocol, url),
    schemaRegistry: (url) => directory.schemaRegistry(url),
    defaultSchemaRegistry: () => directory.defaultSchemaRegistry(),
    provisioner: (protocol) => (protocol === 'kafka' ? kafka : rabbitmq),
  };
  const log = pino({ level: 'warn' }, { write: (line: string) => { logs.push(JSON.parse(line) as FakeControllers['logs'][number]); } });
  const ctx: ControllerContext = {
    client: api,
    clusterStreams: api.cache<ClusterStream>('ClusterStream'),
    streams: api.cache<Stream>('Stream'),
    processors: api.cache<Processor>('Processor'),
    brokers,
    runtime,
    options: { autoProvisionClusterStreams: true, autoProvisionStreams: true, retryDelayMs: 1000, ...opts },
    log,
    enqueue: (kind, key) => { enqueued.push({ kind, key }); },
  };
  return { ctx, api, kafka, rabbitmq, runtime, enqueued, logs };
}

/** Runs a reconciler and returns what it resolved with, or the error it rejected with. */
export async function attempt(reconcile: Reconciler, ctx: ControllerContext, key: string): Promise<{ outcome?: ReconcileOutcome; error?: unknown }> {
  try {
    return { outcome: await reconcile(ctx, key) };
  } catch (error) {
    return { error };
  }
}

/** The Ready condition of a stored object. */
export function readyOf(api: FakeApi, kind: KindName, key: string): { status: string; reason: string; message: string } | undefined {
  const condition = findCondition(api.get(kind, key)?.status?.conditions);
  return condition ? { status: condition.status, reason: condition.reason ?? '', message: condition.message ?? '' } : undefined;
}

export function clusterStream(name: string, spec: { name?: string; protocol?: string; url?: string; reclaimPolicy?: 'Delete' | 'Retain'; claim?: string; created?: string }): ClusterStream {
  return {
    apiVersion: API_VERSION, kind: 'ClusterStream',
    metadata: {
      name,
      ...(spec.claim ? { labels: { 'streaming.tanzu.vmware.com/claim-namespace': spec.claim } } : {}),
      ...(spec.created ? { creationTimestamp: spec.created } : {}),
    },
    spec: {
      name: spec.name ?? name,
      storage: {
        server: { protocol: (spec.protocol ?? 'kafka') as Protocol, ...(spec.url ? { url: spec.url } : {}) },
        ...(spec.reclaimPolicy ? { reclaimPolicy: spec.reclaimPolicy } : {}),
      },
    },
  };
}

export function stream(namespace: string, name: string, spec: Partial<Stream['spec']> & { clusterStream?: string } = {}): Stream {
  const { clusterStream: named, ...rest } = spec;
  return {
    apiVersion: API_VERSION, kind: 'Stream',
    metadata: { name, namespace },
    spec: { name, protocol: 'kafka', ...rest, ...(named ? { storage: { clusterStream: named } } : {}) },
  };
}

export function processor(namespace: string, name: string, spec: Partial<Processor['spec']> = {}): Processor {
  return {
    apiVersion: API_VERSION, kind: 'Processor',
    metadata: { name, namespace },
    spec: { type: 'SRP', replicas: 1, ...spec },
  };
}
