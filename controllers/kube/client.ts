// The client of our API group, built on @kubernetes/client-node 1.x (KubeConfig, CustomObjectsApi, Watch).
// It speaks in our kinds (crds/types) and hides the namespaced/cluster-scoped split of the generated API.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions, type RequestOptions } from 'node:https';
import {
  ApiException, CustomObjectsApi, KubeConfig, Observable, PatchStrategy, Watch, setHeaderOptions,
  type ConfigurationOptions, type ObservableMiddleware,
} from '@kubernetes/client-node';
import { GROUP, VERSION, type KindName, type StreamingResource, type ObjectMeta } from '../../crds/types';

export interface KindInfo {
  kind: KindName;
  plural: string;
  namespaced: boolean;
}

export const KINDS: Record<KindName, KindInfo> = {
  ClusterStream: { kind: 'ClusterStream', plural: 'clusterstreams', namespaced: false },
  Stream: { kind: 'Stream', plural: 'streams', namespaced: true },
  Processor: { kind: 'Processor', plural: 'processors', namespaced: true },
};

export interface ObjectList<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | StatusBody;
}

/** A Kubernetes Status body (errors, and watch ERROR events such as 410 Gone). */
export interface StatusBody {
  kind?: 'Status';
  code?: number;
  reason?: string;
  message?: string;
  metadata?: ObjectMeta;
}

/** An HTTP failure of the API with its status code (404, 409, 410 ...) and the server's message. */
export class ApiError extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.code === code;
}

function toApiError(err: unknown): unknown {
  if (err instanceof ApiException) {
    const body: unknown = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const message = body && typeof body === 'object' && 'message' in body ? String((body as StatusBody).message) : err.message;
    return new ApiError(err.code, message);
  }
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof code === 'number') return new ApiError(code, (err as Error).message);
  return err;
}

function safeJson(text: string): unknown {
  try { return JSON.parse(text); } catch { return text; }
}

/** client-node 1.x creates a new agent — a new TLS connection and handshake — for every request. Reconciling
 *  hundreds of objects that way is dominated by handshakes, so every request goes through one keep-alive agent
 *  with the same TLS settings (CA, client certificate) the kubeconfig gives. */
function keepAliveOptions(kc: KubeConfig): ConfigurationOptions<ObservableMiddleware> {
  const agent = (async (): Promise<HttpAgent | HttpsAgent> => {
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const base = opts.agent as (HttpAgent & { options?: AgentOptions }) | undefined;
    const tls = base?.options ?? {};
    if (kc.getCurrentCluster()?.server.startsWith('http:')) return new HttpAgent({ keepAlive: true, maxSockets: 32 });
    return new HttpsAgent({ ...tls, keepAlive: true, maxSockets: 32 });
  })();
  const middleware: ObservableMiddleware = {
    pre: (ctx) => new Observable(agent.then((a) => { ctx.setAgent(a); return ctx; })),
    post: (res) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export class StreamingClient {
  private readonly api: CustomObjectsApi;
  private readonly watcher: Watch;
  private readonly options: ConfigurationOptions<ObservableMiddleware>;
  private readonly mergePatch: ConfigurationOptions<ObservableMiddleware>;

  constructor(readonly kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kubeConfig);
    this.options = keepAliveOptions(kubeConfig);
    this.mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, this.options);
  }

  async list<T extends StreamingResource>(kind: KindName): Promise<ObjectList<T>> {
    const { plural } = KINDS[kind];
    try {
      const body = await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural }, this.options) as { items?: T[]; metadata?: { resourceVersion?: string } };
      return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion ?? '' };
    } catch (err) { throw toApiError(err); }
  }

  async get<T extends StreamingResource>(kind: KindName, namespace: string | undefined, name: string): Promise<T | undefined> {
    const info = KINDS[kind];
    try {
      const obj = info.namespaced
        ? await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace ?? 'default', plural: info.plural, name }, this.options)
        : await this.api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: info.plural, name }, this.options);
      return obj as T;
    } catch (err) {
      const e = toApiError(err);
      if (isApiError(e, 404)) return undefined;
      throw e;
    }
  }

  async create<T extends StreamingResource>(obj: T): Promise<T> {
    const info = KINDS[obj.kind];
    try {
      const created = info.namespaced
        ? await this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: obj.metadata.namespace ?? 'default', plural: info.plural, body: obj }, this.options)
        : await this.api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: info.plural, body: obj }, this.options);
      return created as T;
    } catch (err) { throw toApiError(err); }
  }

  /** JSON merge patch of the main resource (metadata: finalizers, labels). Include metadata.resourceVersion for
   *  an optimistic-concurrency check. */
  async patch<T extends StreamingResource>(kind: KindName, namespace: string | undefined, name: string, body: object): Promise<T> {
    const info = KINDS[kind];
    try {
      const patched = info.namespaced
        ? await this.api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace ?? 'default', plural: info.plural, name, body }, this.mergePatch)
        : await this.api.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: info.plural, name, body }, this.mergePatch);
      return patched as T;
    } catch (err) { throw toApiError(err); }
  }

  /** Merge patch through the /status subresource: controllers never write status through the main resource. */
  async patchStatus<T extends StreamingResource>(kind: KindName, namespace: string | undefined, name: string, status: object): Promise<T> {
    const info = KINDS[kind];
    const body = { status };
    try {
      const patched = info.namespaced
        ? await this.api.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: namespace ?? 'default', plural: info.plural, name, body }, this.mergePatch)
        : await this.api.patchClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: info.plural, name, body }, this.mergePatch);
      return patched as T;
    } catch (err) { throw toApiError(err); }
  }

  async delete(kind: KindName, namespace: string | undefined, name: string): Promise<void> {
    const info = KINDS[kind];
    try {
      if (info.namespaced) await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: namespace ?? 'default', plural: info.plural, name }, this.options);
      else await this.api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: info.plural, name }, this.options);
    } catch (err) {
      const e = toApiError(err);
      if (!isApiError(e, 404)) throw e;
    }
  }

  /** Opens a watch of every object of a kind from `resourceVersion` (bookmarks on). `done` is called exactly once
   *  when the stream ends, with the error if it failed. */
  async watch<T extends StreamingResource>(
    kind: KindName,
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    done: (err: unknown) => void,
    timeoutSeconds = 300,
  ): Promise<{ abort(): void }> {
    const path = `/apis/${GROUP}/${VERSION}/${KINDS[kind].plural}`;
    const controller = await this.watcher.watch(
      path,
      { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      (type: string, object: T | StatusBody) => onEvent({ type: type as WatchEvent<T>['type'], object }),
      (err: unknown) => done(err ? toApiError(err) : null),
    );
    return { abort: () => controller.abort() };
  }
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones (client-go's MetaNamespaceKeyFunc). */
export function objectKey(meta: ObjectMeta): string {
  return meta.namespace ? `${meta.namespace}/${meta.name ?? ''}` : meta.name ?? '';
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Loads a kubeconfig file, or the in-cluster service account, or the default locations. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}
