// The kubernetes runtime: applies the objects of objects.ts with create / replace / delete through
// @kubernetes/client-node's KubernetesObjectApi. An annotation carries the hash of what we wrote, so an unchanged
// object is not rewritten (no needless rollouts) and a changed one is replaced with its resourceVersion (a
// concurrent change fails with 409 and the reconcile retries). Objects of another shape (Deployment <->
// StatefulSet, stateless Service) are deleted. Ready replicas come from the workload's status.
// It watches what it creates: informers (client-node's list + watch) on the Deployments and StatefulSets labelled
// `app.kubernetes.io/managed-by=sr-controllers` in every namespace; a change of their status (a pod crashed, a
// rollout finished), a hand-made change or a delete requeues the Processor at once, not at the next resync.
import { createHash } from 'node:crypto';
import { AppsV1Api, KubernetesObjectApi, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ProcessorWorkload, Runtime, WorkloadStatus } from '../types';
import { DEFAULT_SETTINGS, PROCESSOR_LABEL, buildObjects, credentialsSecretName, type KubeObject, type KubernetesRuntimeSettings } from './objects';

export const HASH_ANNOTATION = 'streaming.tanzu.vmware.com/applied-hash';
const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=sr-controllers';

type Workload = V1Deployment | V1StatefulSet;

interface Ref { apiVersion: string; kind: string; name: string; namespace: string }

export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  private readonly api: KubernetesObjectApi;
  private readonly listeners: ((key: string) => void)[] = [];
  private readonly informers: Informer<Workload>[] = [];
  /** What was last seen of each watched object (generation and status), so only real changes requeue. */
  private readonly seen = new Map<string, string>();
  private closed = false;

  constructor(private readonly kc: KubeConfig, private readonly log: Logger, private readonly settings: KubernetesRuntimeSettings = DEFAULT_SETTINGS,
    private readonly rewatchDelayMs = 1000) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  /** The first listener starts the watches: someone wants to hear of changes. */
  onStatusChange(listener: (key: string) => void): void {
    this.listeners.push(listener);
    if (!this.informers.length) this.watch();
  }

  private watch(): void {
    const apps = this.kc.makeApiClient(AppsV1Api);
    const kinds: { path: string; list: () => Promise<{ items: Workload[]; metadata?: { resourceVersion?: string } }> }[] = [
      { path: '/apis/apps/v1/deployments', list: () => apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED_SELECTOR }) },
      { path: '/apis/apps/v1/statefulsets', list: () => apps.listStatefulSetForAllNamespaces({ labelSelector: MANAGED_SELECTOR }) },
    ];
    for (const { path, list } of kinds) {
      const informer = makeInformer<Workload>(this.kc, path, list, MANAGED_SELECTOR);
      const changed = (obj: Workload, gone = false): void => {
        const name = obj.metadata?.labels?.[PROCESSOR_LABEL];
        const id = `${path}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
        const now = gone ? undefined : JSON.stringify([obj.metadata?.generation, obj.status]);
        if (now === this.seen.get(id)) return;
        if (now === undefined) this.seen.delete(id); else this.seen.set(id, now);
        if (name && obj.metadata?.namespace && !this.closed) for (const l of this.listeners) l(`${obj.metadata.namespace}/${name}`);
      };
      informer.on('add', (obj) => changed(obj));
      informer.on('update', (obj) => changed(obj));
      informer.on('delete', (obj) => changed(obj, true));
      // client-node's informer stops on an error other than 410 (API server away, watch refused): start it again.
      informer.on('error', (err: unknown) => {
        if (this.closed) return;
        this.log.warn({ path, err: err instanceof Error ? err.message : String(err) }, 'watch failed; restarting');
        setTimeout(() => { if (!this.closed) void informer.start().catch(() => undefined); }, this.rewatchDelayMs).unref();
      });
      this.informers.push(informer);
      void informer.start().catch(() => undefined);
    }
  }

  async apply(workload: ProcessorWorkload): Promise<WorkloadStatus> {
    const desired = buildObjects(workload, this.settings);
    for (const obj of desired) await this.applyObject(obj);
    const wanted = new Set(desired.map(refKey));
    for (const ref of candidateRefs(workload.namespace, workload.name)) {
      if (!wanted.has(refKey(ref))) await this.deleteIfPresent(ref);
    }
    const main = desired.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
    if (!main) return { replicas: 0, readyReplicas: 0 };
    const live = await this.read(main) as Workload | undefined;
    const status = live?.status;
    // The workload controller's own words when something is wrong (quota, image pull deadline, no progress).
    const problems = (status?.conditions ?? [])
      .filter((c) => (c.type === 'ReplicaFailure' ? c.status === 'True' : c.status === 'False'))
      .map((c) => `${main.kind} ${c.type}: ${c.reason ?? c.status}${c.message ? ` (${c.message})` : ''}`);
    return { replicas: status?.replicas ?? 0, readyReplicas: status?.readyReplicas ?? 0, ...(problems.length ? { message: problems.join('; ') } : {}) };
  }

  async remove(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    for (const ref of candidateRefs(namespace, name)) await this.deleteIfPresent(ref);
  }

  async workloads(): Promise<string[]> {
    const keys = new Set<string>();
    for (const kind of ['Deployment', 'StatefulSet']) {
      const list = await this.api.list('apps/v1', kind, undefined, undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=sr-controllers');
      for (const item of list.items) {
        const name = item.metadata?.labels?.[PROCESSOR_LABEL];
        if (name && item.metadata?.namespace) keys.add(`${item.metadata.namespace}/${name}`);
      }
    }
    return [...keys];
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  private async applyObject(obj: KubeObject): Promise<void> {
    const hash = createHash('sha256').update(JSON.stringify(obj)).digest('hex').slice(0, 16);
    const body = { ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [HASH_ANNOTATION]: hash } } };
    const existing = await this.read(obj);
    if (!existing) {
      await this.api.create(body as KubernetesObject);
      this.log.info({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }, 'created');
      return;
    }
    if (existing.metadata?.annotations?.[HASH_ANNOTATION] === hash) return;
    const replacement = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } };
    await this.api.replace(replacement as KubernetesObject);
    this.log.info({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }, 'replaced');
  }

  private async read(ref: Ref | KubeObject): Promise<KubernetesObject | undefined> {
    const r = 'metadata' in ref ? { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.metadata.name, namespace: ref.metadata.namespace } : ref;
    try {
      return await this.api.read({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  private async deleteIfPresent(ref: Ref): Promise<void> {
    // Read first: most candidates never existed, and a GET is cheaper for the API server than a failed DELETE.
    if (!(await this.read(ref))) return;
    try {
      await this.api.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } }, undefined, undefined, undefined, undefined, 'Background');
      this.log.info({ ...ref }, 'deleted');
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
}

function refKey(o: Ref | KubeObject): string {
  return 'metadata' in o ? `${o.kind}/${o.metadata.namespace}/${o.metadata.name}` : `${o.kind}/${o.namespace}/${o.name}`;
}

/** Every object a Processor could own, whatever its type and shape. */
function candidateRefs(namespace: string, name: string): Ref[] {
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', name: `srp-${name}`, namespace },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', name: `srp-${name}`, namespace },
    { apiVersion: 'v1', kind: 'Service', name: `srp-${name}`, namespace },
    { apiVersion: 'v1', kind: 'ConfigMap', name: `srp-${name}-config`, namespace },
    { apiVersion: 'v1', kind: 'Secret', name: credentialsSecretName(name), namespace },
    { apiVersion: 'apps/v1', kind: 'Deployment', name: `fsql-${name}`, namespace },
    { apiVersion: 'v1', kind: 'ConfigMap', name: `fsql-${name}`, namespace },
  ];
}
