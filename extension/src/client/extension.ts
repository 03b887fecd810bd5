// Extension entry point: starts the YAML language server, the cluster cache (resource explorer) and the commands.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { ClusterState } from './cluster-state';
import { DIFF_SCHEME, LIVE_SCHEME, LiveDocuments, registerCommands } from './commands';
import { ResourceTree } from './resource-tree';
import { TopologyPanel } from './topology-panel';

let client: LanguageClient | undefined;

/** What tests in the extension host can reach through `extension.exports`. */
export interface ExtensionApi {
  client: () => LanguageClient | undefined;
  state: ClusterState;
  tree: ResourceTree;
  topology: TopologyPanel;
}

export async function activate(context: vscode.ExtensionContext): Promise<ExtensionApi> {
  const log = vscode.window.createOutputChannel('Streaming Runtime');
  context.subscriptions.push(log);

  const serverModule = context.asAbsolutePath(path.join('out', 'extension', 'src', 'server', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'yaml' },
      { scheme: 'untitled', language: 'yaml' },
      { scheme: 'vscode-remote', language: 'yaml' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml}') },
    outputChannel: log,
  };
  client = new LanguageClient('streamingRuntime', 'Streaming Runtime YAML', serverOptions, clientOptions);
  await client.start();

  const state = new ClusterState(log);
  context.subscriptions.push(state);
  const live = new LiveDocuments(state);
  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(LIVE_SCHEME, live));
  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(DIFF_SCHEME, live));
  const tree = new ResourceTree(state);
  context.subscriptions.push(vscode.window.createTreeView('streamingRuntime.resources', { treeDataProvider: tree, showCollapseAll: true }));
  const topology = new TopologyPanel(state, () => client);
  context.subscriptions.push(topology);
  registerCommands(context, state, live, log);
  context.subscriptions.push(vscode.commands.registerCommand('streamingRuntime.showTopology', () => topology.show()));
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('streamingRuntime')) state.restart();
    }),
  );
  return { client: () => client, state, tree, topology };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
