// The topology webview's page: a self-contained HTML document (no external scripts) that draws a Layout as SVG.
// The extension posts {type:'layout', layout, mode, updatedAt} messages; a click posts {type:'open', id} back.
// The drawing code runs in the browser, so it is written as a plain function and serialised into the page.
import type { Layout } from '../model/topology';

export interface TopologyMessage {
  type: 'layout';
  layout: Layout;
  /** 'live' (from the API's watch) or 'offline' (from the workspace's YAML files). */
  mode: 'live' | 'offline';
  /** Where the data comes from, shown in the header (cluster server or "workspace files"). */
  source: string;
  /** Shown when the live connection failed. */
  error?: string;
}

export interface BrowserApi {
  postMessage(message: unknown): void;
}

/** Runs inside the webview. Must not reference anything outside its own body. */
function topologyScript(vscodeApi: BrowserApi): void {
  const svgNs = 'http://www.w3.org/2000/svg';
  const colours: Record<string, string> = { True: '#2e7d32', False: '#c62828', Unknown: '#9e9e9e' };
  const canvas = document.getElementById('canvas') as HTMLElement;
  const status = document.getElementById('status') as HTMLElement;

  const element = (name: string, attributes: Record<string, string | number>, parent: Element): SVGElement => {
    const node = document.createElementNS(svgNs, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    parent.appendChild(node);
    return node;
  };

  const render = (message: TopologyMessage): void => {
    const layout = message.layout;
    document.body.dataset.mode = message.mode;
    status.textContent = `${message.mode === 'live' ? 'Live' : 'Offline'} · ${message.source} · ${layout.nodes.length} nodes, ${layout.edges.length} edges${message.error ? ` · ${message.error}` : ''}`;
    canvas.textContent = '';
    if (layout.nodes.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'No Streams or Processors yet.';
      canvas.appendChild(empty);
      return;
    }
    // Scales down to the panel's width (never up, never below 55%: then it scrolls), keeping proportions.
    const available = Math.max(canvas.clientWidth - 16, 200);
    const scale = Math.max(0.55, Math.min(1, available / layout.width));
    const svg = element('svg', {
      width: Math.round(layout.width * scale),
      height: Math.round(layout.height * scale),
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: 'img',
    }, canvas);
    const defs = element('defs', {}, svg);
    const marker = element('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' }, defs);
    element('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow-head' }, marker);
    for (const edge of layout.edges) {
      const [a, b] = edge.points;
      if (!a || !b) continue;
      const middle = (a.x + b.x) / 2;
      const group = element('g', { class: 'edge', 'data-from': edge.from, 'data-to': edge.to }, svg);
      element('path', { d: `M ${a.x} ${a.y} C ${middle} ${a.y}, ${middle} ${b.y}, ${b.x} ${b.y}`, 'marker-end': 'url(#arrow)' }, group);
      if (edge.rate !== undefined) {
        const label = element('text', { x: b.x - 8, y: b.y - 8, class: 'rate', 'text-anchor': 'end' }, group);
        label.textContent = `${edge.rate < 10 ? edge.rate.toFixed(1) : Math.round(edge.rate)} msg/s`;
      }
    }
    for (const node of layout.nodes) {
      const group = element('g', {
        class: `node ${node.kind.toLowerCase()} ready-${node.ready}${node.missing ? ' missing' : ''}`,
        'data-id': node.id,
        'data-ready': node.ready,
        tabindex: 0,
        transform: `translate(${node.x} ${node.y})`,
      }, svg);
      const shape = node.kind === 'Stream'
        ? element('rect', { width: node.width, height: node.height, rx: node.height / 2, ry: node.height / 2 }, group)
        : element('rect', { width: node.width, height: node.height, rx: 6, ry: 6 }, group);
      shape.setAttribute('stroke', colours[node.ready] ?? '#9e9e9e');
      element('circle', { cx: 14, cy: node.height / 2, r: 5, fill: colours[node.ready] ?? '#9e9e9e', class: 'ready-dot' }, group);
      const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
      const title = element('text', { x: 26, y: 20, class: 'name' }, group);
      title.textContent = clip(node.name, 19);
      const detail = element('text', { x: 26, y: 37, class: 'detail' }, group);
      detail.textContent = clip(`${node.kind}${node.detail ? ` · ${node.detail}` : ''}`, 24);
      const reason = element('text', { x: 26, y: 53, class: `reason ready-${node.ready}` }, group);
      reason.textContent = clip(node.missing ? 'not declared' : node.reason ?? (node.ready === 'Unknown' ? 'no status yet' : ''), 26);
      const tooltip = element('title', {}, group);
      tooltip.textContent = `${node.kind} ${node.namespace}/${node.name}\nReady: ${node.ready}${node.reason ? ` (${node.reason})` : ''}`;
      const open = (): void => vscodeApi.postMessage({ type: 'open', id: node.id });
      group.addEventListener('click', open);
      group.addEventListener('keydown', (event) => {
        if ((event as KeyboardEvent).key === 'Enter') open();
      });
    }
  };

  let last: TopologyMessage | undefined;
  window.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: string } | undefined;
    if (data?.type === 'layout') {
      last = data as TopologyMessage;
      render(last);
    }
  });
  window.addEventListener('resize', () => {
    if (last) render(last);
  });
  vscodeApi.postMessage({ type: 'ready' });
}

/** The page. `nonce` authorises the one inline script under the Content-Security-Policy. */
export function topologyHtml(nonce: string, cspSource: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Streaming Runtime topology</title>
<style>
  body { font-family: var(--vscode-font-family, sans-serif); color: var(--vscode-foreground, #222); background: var(--vscode-editor-background, #fff); margin: 0; }
  header { padding: 8px 12px; font-size: 12px; opacity: 0.8; border-bottom: 1px solid rgba(128,128,128,0.3); }
  #canvas { padding: 8px; overflow: auto; }
  .empty { padding: 16px; opacity: 0.7; }
  .node { cursor: pointer; }
  .node rect { fill: var(--vscode-editorWidget-background, #f7f7f7); stroke-width: 2.5; }
  .node.missing rect { stroke-dasharray: 5 4; }
  .node:hover rect, .node:focus rect { fill: var(--vscode-list-hoverBackground, #e8eef7); }
  .node text.name { font-size: 13px; font-weight: 600; fill: var(--vscode-foreground, #222); }
  .node text.detail { font-size: 11px; fill: var(--vscode-descriptionForeground, #666); }
  .node text.reason { font-size: 11px; font-style: italic; fill: var(--vscode-descriptionForeground, #777); }
  .node text.reason.ready-False { fill: #c62828; }
  .node text.reason.ready-True { fill: #2e7d32; }
  .edge path { fill: none; stroke: var(--vscode-foreground, #555); stroke-opacity: 0.55; stroke-width: 1.6; }
  .edge text.rate { font-size: 11px; fill: var(--vscode-charts-blue, #1565c0); }
  .arrow-head { fill: var(--vscode-foreground, #555); fill-opacity: 0.7; }
  .legend span { margin-right: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; vertical-align: middle; }
</style>
</head>
<body data-mode="">
<header><span id="status">Waiting for data…</span>
  <span class="legend" style="float:right"><span><i style="background:#2e7d32"></i>Ready</span><span><i style="background:#c62828"></i>Not ready</span><span><i style="background:#9e9e9e"></i>Unknown</span></span>
</header>
<div id="canvas"></div>
<script nonce="${nonce}">
(${topologyScript.toString()})(typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage: function (m) { window.__posted = (window.__posted || []).concat([m]); } });
</script>
</body>
</html>`;
}
