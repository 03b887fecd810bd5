// The resource explorer: ClusterStreams, then Streams and Processors grouped by namespace, each with its Ready
// condition (status and reason) from the live cache.
import * as vscode from 'vscode';
import { KindName, KubeObject } from '../cluster/api-client';
import { ClusterState } from './cluster-state';

export type TreeNode =
  | { type: 'group'; label: string; kind: KindName }
  | { type: 'namespace'; kind: KindName; namespace: string }
  | { type: 'resource'; kind: KindName; namespace?: string; name: string; object: KubeObject }
  | { type: 'message'; label: string };

export function readyCondition(object: KubeObject): { status: string; reason?: string; message?: string } {
  const conditions = (object.status as { conditions?: unknown } | undefined)?.conditions;
  if (Array.isArray(conditions)) {
    for (const condition of conditions as { type?: unknown; status?: unknown; reason?: unknown; message?: unknown }[]) {
      if (condition?.type === 'Ready') {
        return {
          status: typeof condition.status === 'string' ? condition.status : 'Unknown',
          ...(typeof condition.reason === 'string' ? { reason: condition.reason } : {}),
          ...(typeof condition.message === 'string' ? { message: condition.message } : {}),
        };
      }
    }
  }
  return { status: 'Unknown' };
}

export class ResourceTree implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly state: ClusterState) {
    state.onDidChange(() => this.changed.fire(undefined));
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      this.state.start();
      const groups: TreeNode[] = [
        { type: 'group', label: 'ClusterStreams', kind: 'ClusterStream' },
        { type: 'group', label: 'Streams', kind: 'Stream' },
        { type: 'group', label: 'Processors', kind: 'Processor' },
      ];
      return this.state.error ? [{ type: 'message', label: `⚠ ${this.state.error}` }, ...groups] : groups;
    }
    if (node.type === 'group') {
      const objects = this.state.list(node.kind);
      if (node.kind === 'ClusterStream') return this.resources(node.kind, objects);
      const namespaces = [...new Set(objects.map((o) => o.metadata?.namespace ?? 'default'))].sort();
      return namespaces.map((namespace) => ({ type: 'namespace', kind: node.kind, namespace }));
    }
    if (node.type === 'namespace') {
      return this.resources(
        node.kind,
        this.state.list(node.kind).filter((o) => (o.metadata?.namespace ?? 'default') === node.namespace),
      );
    }
    return [];
  }

  private resources(kind: KindName, objects: KubeObject[]): TreeNode[] {
    return objects
      .map((object): TreeNode => ({
        type: 'resource',
        kind,
        name: object.metadata?.name ?? '',
        object,
        ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
      }))
      .sort((a, b) => (a.type === 'resource' && b.type === 'resource' ? a.name.localeCompare(b.name) : 0));
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'group': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
        const limit = this.state.limits.get(node.kind);
        item.description = `${this.state.list(node.kind).length}${limit ? ` · ${limit.startsWith('forbidden') ? 'forbidden' : limit}` : ''}`;
        if (limit) item.tooltip = limit;
        item.contextValue = 'group';
        return item;
      }
      case 'namespace': {
        const item = new vscode.TreeItem(node.namespace, vscode.TreeItemCollapsibleState.Expanded);
        item.iconPath = new vscode.ThemeIcon('symbol-namespace');
        item.contextValue = 'namespace';
        return item;
      }
      case 'message':
        return new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      case 'resource': {
        const ready = readyCondition(node.object);
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.kind}/${node.namespace ?? ''}/${node.name}`;
        item.description = `${ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'Not ready' : 'Unknown'}${ready.reason ? ` · ${ready.reason}` : ''}`;
        item.tooltip = `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.name}\nReady: ${ready.status}${ready.reason ? `\nReason: ${ready.reason}` : ''}${ready.message ? `\n${ready.message}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(
          ready.status === 'True' ? 'pass-filled' : ready.status === 'False' ? 'error' : 'circle-outline',
          new vscode.ThemeColor(ready.status === 'True' ? 'testing.iconPassed' : ready.status === 'False' ? 'testing.iconFailed' : 'disabledForeground'),
        );
        item.contextValue = 'resource';
        item.command = { command: 'streamingRuntime.openLive', title: 'Open live resource', arguments: [node] };
        return item;
      }
    }
  }
}
