// The live topology webview: draws the pipeline graph from the cluster's watch (live) or, when no cluster is
// reachable, from the workspace's YAML files (offline). Clicking a node opens the live resource or its file.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { edgeCounters, parsePrometheusText, RateTracker, readProcessorMetrics } from '../cluster/metrics';
import { buildTopology, layoutTopology, nodeId } from '../model/topology';
import { topologyHtml, TopologyMessage } from '../webview/topology-html';
import { ClusterState } from './cluster-state';

const SCRAPE_INTERVAL_MS = 3000;

interface WorkspaceResource {
  uri: string;
  kind: string;
  name: string;
  namespace: string;
  value: unknown;
  nameStart?: { line: number; character: number };
}

export class TopologyPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private offlineResources: WorkspaceResource[] = [];
  /** The last message sent to the webview (tests read it through a command). */
  lastMessage: TopologyMessage | undefined;
  /** Bumped on every render; tests wait for it. */
  renders = 0;
  private readonly rates = new RateTracker();
  private scraping: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: ClusterState,
    private readonly client: () => LanguageClient | undefined,
  ) {
    this.disposables.push(state.onDidChange(() => this.schedule(50)));
    this.disposables.push(vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.languageId === 'yaml') this.schedule(300);
    }));
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal();
      this.schedule(0);
      return;
    }
    this.state.start();
    const panel = vscode.window.createWebviewPanel('streamingRuntime.topology', 'Pipeline Topology', vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
    });
    this.panel = panel;
    const nonce = randomBytes(16).toString('base64');
    panel.webview.html = topologyHtml(nonce, panel.webview.cspSource);
    panel.webview.onDidReceiveMessage((message: { type?: string; id?: string }) => {
      if (message.type === 'ready') this.schedule(0);
      if (message.type === 'open' && typeof message.id === 'string') void this.open(message.id);
    }, undefined, this.disposables);
    panel.onDidDispose(() => {
      this.panel = undefined;
      if (this.scraping) clearInterval(this.scraping);
      this.scraping = undefined;
    }, undefined, this.disposables);
    this.scraping = setInterval(() => void this.scrape(), SCRAPE_INTERVAL_MS);
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (!this.panel) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.render();
    }, delay);
  }

  private live(): boolean {
    return this.state.error === undefined && this.state.isSynced();
  }

  async render(): Promise<void> {
    if (!this.panel) return;
    let message: TopologyMessage;
    if (this.live()) {
      message = { type: 'layout', mode: 'live', source: this.state.server, layout: layoutTopology(buildTopology(this.state.list(), this.rates.current())) };
    } else {
      const client = this.client();
      try {
        this.offlineResources = client ? await client.sendRequest<WorkspaceResource[]>('streamingRuntime/workspaceResources') : [];
      } catch {
        this.offlineResources = [];
      }
      message = {
        type: 'layout',
        mode: 'offline',
        source: 'workspace files',
        layout: layoutTopology(buildTopology(this.offlineResources.map((r) => r.value))),
        ...(this.state.error ? { error: this.state.error } : {}),
      };
    }
    this.lastMessage = message;
    this.renders++;
    await this.panel?.webview.postMessage(message);
  }

  /** Reads the processors' metrics (through the API server, see cluster/metrics.ts) and redraws with edge throughput. */
  private async scrape(): Promise<void> {
    if (!this.panel || !this.live()) return;
    const api = this.state.api();
    let found = false;
    await Promise.all(this.state.list('Processor').map(async (processor) => {
      const name = processor.metadata?.name;
      if (!name) return;
      const texts = await readProcessorMetrics(api, processor);
      const samples = texts.flatMap((text) => parsePrometheusText(text));
      if (samples.length === 0) return;
      found = true;
      const id = nodeId('Processor', processor.metadata?.namespace ?? 'default', name);
      this.rates.record(edgeCounters(id, samples), Date.now());
    }));
    if (found) this.schedule(0);
  }

  private async open(id: string): Promise<void> {
    if (this.lastMessage?.mode === 'live') {
      await vscode.commands.executeCommand('streamingRuntime.openLive', id);
      return;
    }
    const [kind, namespace, ...rest] = id.split('/');
    const name = rest.join('/');
    const found = this.offlineResources.find((r) => r.kind === kind && r.name === name && (kind === 'ClusterStream' || r.namespace === namespace));
    if (!found) return;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(found.uri));
    const position = found.nameStart ? new vscode.Position(found.nameStart.line, found.nameStart.character) : new vscode.Position(0, 0);
    await vscode.window.showTextDocument(document, { selection: new vscode.Range(position, position), viewColumn: vscode.ViewColumn.One });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.scraping) clearInterval(this.scraping);
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
