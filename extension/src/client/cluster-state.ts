// The extension's view of the cluster: a connection from the kubeconfig setting, and a live cache of our three
// kinds kept by the API's watch. The resource tree and the topology both read from here. A user who may only read
// their own namespace sees that namespace (the context's), and no ClusterStreams if those are forbidden to them.
import * as vscode from 'vscode';
import { ApiClient, KindName, KINDS, KubeObject } from '../cluster/api-client';
import { kubeconfigPath, loadKubeconfig } from '../cluster/kubeconfig';

export function objectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export class ClusterState implements vscode.Disposable {
  private client: ApiClient | undefined;
  private stops: (() => void)[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  /** Why the cluster is unreachable (shown in the tree and the topology), undefined when connected. */
  error: string | undefined;
  /** Kinds whose initial list arrived. */
  private readonly synced = new Set<KindName>();
  /** Per kind, what is watched when it is less than everything: `namespace "x" only` or `forbidden: ...`. */
  readonly limits = new Map<KindName, string>();
  private watching = false;

  constructor(private readonly log: vscode.OutputChannel) {}

  /** The API client for the configured kubeconfig (re-read when the settings change). */
  api(): ApiClient {
    if (!this.client) {
      const settings = vscode.workspace.getConfiguration('streamingRuntime');
      const path = kubeconfigPath(settings.get<string>('kubeconfig'));
      const context = settings.get<string>('context') || undefined;
      this.client = new ApiClient(loadKubeconfig(path, context));
      this.log.appendLine(`connected to ${this.client.connection.server} (context ${this.client.connection.contextName}, kubeconfig ${path ?? 'default'})`);
    }
    return this.client;
  }

  get server(): string {
    try {
      return this.api().connection.server;
    } catch {
      return 'no cluster';
    }
  }

  /** Starts the watches (idempotent). Errors are kept in `error` and retried by the client with backoff. */
  start(): void {
    if (this.watching) return;
    let api: ApiClient;
    try {
      api = this.api();
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error);
      this.changed.fire();
      return;
    }
    this.watching = true;
    for (const kind of KINDS) {
      this.stops.push(
        api.watch(
          kind,
          (event) => {
            const metadata = event.object.metadata ?? {};
            if (event.type === 'BOOKMARK') {
              // A (re)list: drop what we had of this kind; the ADDED events that follow bring it back.
              for (const key of [...this.objects.keys()]) if (key.startsWith(`${kind}/`)) this.objects.delete(key);
              this.synced.add(kind);
            } else if (metadata.name) {
              const key = objectKey(kind, metadata.namespace, metadata.name);
              if (event.type === 'DELETED') this.objects.delete(key);
              else this.objects.set(key, event.object);
            }
            this.error = undefined;
            this.changed.fire();
          },
          (error) => {
            this.error = error.message;
            this.log.appendLine(`watch ${kind}: ${error.message}`);
            this.changed.fire();
          },
          {
            fallbackNamespace: api.connection.namespace,
            onNarrowed: (namespace) => {
              this.limits.set(kind, `namespace "${namespace}" only`);
              this.log.appendLine(`watch ${kind}: may not list across namespaces, following namespace "${namespace}"`);
            },
            onForbidden: (error) => {
              this.limits.set(kind, `forbidden: ${error.message}`);
              this.log.appendLine(`watch ${kind}: ${error.message}`);
              this.changed.fire();
            },
          },
        ),
      );
    }
  }

  /** Reconnect with the current settings. */
  restart(): void {
    this.stopWatches();
    this.client?.dispose();
    this.client = undefined;
    this.objects.clear();
    this.synced.clear();
    this.limits.clear();
    this.error = undefined;
    this.start();
    this.changed.fire();
  }

  isSynced(): boolean {
    return KINDS.every((k) => this.synced.has(k));
  }

  list(kind?: KindName): KubeObject[] {
    return [...this.objects.values()].filter((o) => !kind || o.kind === kind);
  }

  private stopWatches(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
    this.watching = false;
  }

  dispose(): void {
    this.stopWatches();
    this.client?.dispose();
    this.changed.dispose();
  }
}
