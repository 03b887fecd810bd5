// The pipeline graph (Streams and Processors, edges by Processor inputs/outputs) and its layered layout. Pure data:
// built from live resources or from the open YAML files, drawn by the webview.

export type ReadyState = 'True' | 'False' | 'Unknown';

export interface TopologyNode {
  /** `Kind/namespace/name`. */
  id: string;
  kind: 'Stream' | 'Processor';
  name: string;
  namespace: string;
  ready: ReadyState;
  reason?: string;
  /** A Stream named by a Processor but declared nowhere. */
  missing?: boolean;
  /** Extra line shown under the name (protocol, processor type). */
  detail?: string;
}

export interface TopologyEdge {
  from: string;
  to: string;
  /** Messages per second flowing on this edge, when the processor's metrics are known. */
  rate?: number;
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

interface ResourceLike {
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  spec?: { inputs?: unknown; outputs?: unknown; protocol?: unknown; type?: unknown };
  status?: { conditions?: unknown };
}

export function nodeId(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function readyOf(resource: ResourceLike): { ready: ReadyState; reason?: string } {
  const conditions = resource.status?.conditions;
  if (!Array.isArray(conditions)) return { ready: 'Unknown' };
  for (const condition of conditions as unknown[]) {
    if (typeof condition !== 'object' || condition === null) continue;
    const c = condition as { type?: unknown; status?: unknown; reason?: unknown };
    if (c.type !== 'Ready') continue;
    const ready: ReadyState = c.status === 'True' || c.status === 'False' ? c.status : 'Unknown';
    return typeof c.reason === 'string' ? { ready, reason: c.reason } : { ready };
  }
  return { ready: 'Unknown' };
}

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[])
    .map((item) => (typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined))
    .filter((name): name is string => typeof name === 'string' && name !== '');
}

/** Builds the graph from Stream and Processor objects (other kinds are ignored). */
export function buildTopology(resources: unknown[], rates: ReadonlyMap<string, number> = new Map()): Topology {
  const nodes = new Map<string, TopologyNode>();
  const edges: TopologyEdge[] = [];
  const typed = resources.filter((r): r is ResourceLike => typeof r === 'object' && r !== null);
  for (const resource of typed) {
    const name = resource.metadata?.name;
    if (resource.kind !== 'Stream' || typeof name !== 'string') continue;
    const namespace = typeof resource.metadata?.namespace === 'string' ? resource.metadata.namespace : 'default';
    const protocol = resource.spec?.protocol;
    nodes.set(nodeId('Stream', namespace, name), {
      id: nodeId('Stream', namespace, name),
      kind: 'Stream',
      name,
      namespace,
      ...readyOf(resource),
      ...(typeof protocol === 'string' ? { detail: protocol } : {}),
    });
  }
  for (const resource of typed) {
    const name = resource.metadata?.name;
    if (resource.kind !== 'Processor' || typeof name !== 'string') continue;
    const namespace = typeof resource.metadata?.namespace === 'string' ? resource.metadata.namespace : 'default';
    const id = nodeId('Processor', namespace, name);
    const type = resource.spec?.type;
    nodes.set(id, {
      id,
      kind: 'Processor',
      name,
      namespace,
      ...readyOf(resource),
      detail: typeof type === 'string' ? type : 'SRP',
    });
    const ensureStream = (stream: string): string => {
      const streamId = nodeId('Stream', namespace, stream);
      if (!nodes.has(streamId)) {
        nodes.set(streamId, { id: streamId, kind: 'Stream', name: stream, namespace, ready: 'Unknown', missing: true });
      }
      return streamId;
    };
    for (const input of names(resource.spec?.inputs)) {
      const from = ensureStream(input);
      const rate = rates.get(`${id}|in|${input}`);
      edges.push(rate === undefined ? { from, to: id } : { from, to: id, rate });
    }
    for (const output of names(resource.spec?.outputs)) {
      const to = ensureStream(output);
      const rate = rates.get(`${id}|out|${output}`);
      edges.push(rate === undefined ? { from: id, to } : { from: id, to, rate });
    }
  }
  const sorted = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
  return { nodes: sorted, edges };
}

export interface PlacedNode extends TopologyNode {
  x: number;
  y: number;
  width: number;
  height: number;
  layer: number;
}

export interface Layout {
  nodes: PlacedNode[];
  edges: (TopologyEdge & { points: { x: number; y: number }[] })[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 180;
export const NODE_HEIGHT = 62;
const LAYER_GAP = 100;
const ROW_GAP = 28;
const MARGIN = 24;

/**
 * A layered (Sugiyama-style) layout, left to right: cycles are broken by ignoring DFS back edges, layers come from
 * the longest path from a source, and a few barycentre sweeps order each layer to reduce crossings. Deterministic
 * for a given graph.
 */
export function layoutTopology(topology: Topology): Layout {
  const ids = topology.nodes.map((n) => n.id);
  const outgoing = new Map<string, string[]>(ids.map((id) => [id, []]));
  const incoming = new Map<string, string[]>(ids.map((id) => [id, []]));
  const forward = acyclicEdges(ids, topology.edges);
  for (const edge of forward) {
    outgoing.get(edge.from)?.push(edge.to);
    incoming.get(edge.to)?.push(edge.from);
  }
  // Longest-path layering in topological order (Kahn).
  const layer = new Map<string, number>(ids.map((id) => [id, 0]));
  const remaining = new Map<string, number>(ids.map((id) => [id, incoming.get(id)?.length ?? 0]));
  const queue = ids.filter((id) => remaining.get(id) === 0);
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const next of outgoing.get(id) ?? []) {
      layer.set(next, Math.max(layer.get(next) ?? 0, (layer.get(id) ?? 0) + 1));
      const left = (remaining.get(next) ?? 1) - 1;
      remaining.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const layerCount = Math.max(0, ...layer.values()) + 1;
  const layers: string[][] = Array.from({ length: layerCount }, () => []);
  for (const id of ids) layers[layer.get(id) ?? 0]?.push(id);

  // Barycentre ordering sweeps (down then up).
  const order = new Map<string, number>();
  const renumber = (): void => layers.forEach((l) => l.forEach((id, i) => order.set(id, i)));
  renumber();
  const barycentre = (id: string, neighbours: string[]): number =>
    neighbours.length === 0 ? (order.get(id) ?? 0) : neighbours.reduce((s, n) => s + (order.get(n) ?? 0), 0) / neighbours.length;
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const sequence = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const current of sequence) {
      const keyed = current.map((id) => ({ id, key: barycentre(id, (down ? incoming : outgoing).get(id) ?? []) }));
      keyed.sort((a, b) => a.key - b.key || a.id.localeCompare(b.id));
      current.splice(0, current.length, ...keyed.map((k) => k.id));
      renumber();
    }
  }

  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const height = MARGIN * 2 + tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP;
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const placed = new Map<string, PlacedNode>();
  layers.forEach((ids2, layerIndex) => {
    const columnHeight = ids2.length * NODE_HEIGHT + (ids2.length - 1) * ROW_GAP;
    const top = (height - columnHeight) / 2;
    ids2.forEach((id, row) => {
      const node = byId.get(id);
      if (!node) return;
      placed.set(id, {
        ...node,
        layer: layerIndex,
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
        x: MARGIN + layerIndex * (NODE_WIDTH + LAYER_GAP),
        y: top + row * (NODE_HEIGHT + ROW_GAP),
      });
    });
  });
  const edges = topology.edges.flatMap((edge) => {
    const from = placed.get(edge.from);
    const to = placed.get(edge.to);
    if (!from || !to) return [];
    return [{
      ...edge,
      points: [
        { x: from.x + from.width, y: from.y + from.height / 2 },
        { x: to.x, y: to.y + to.height / 2 },
      ],
    }];
  });
  return {
    nodes: ids.map((id) => placed.get(id)).filter((n): n is PlacedNode => n !== undefined),
    edges,
    width: MARGIN * 2 + layerCount * NODE_WIDTH + (layerCount - 1) * LAYER_GAP,
    height,
  };
}

/** The edges that remain after dropping DFS back edges (so the layering terminates on cyclic pipelines). */
function acyclicEdges(ids: string[], edges: TopologyEdge[]): TopologyEdge[] {
  const adjacency = new Map<string, TopologyEdge[]>(ids.map((id) => [id, []]));
  for (const edge of edges) adjacency.get(edge.from)?.push(edge);
  const state = new Map<string, 'visiting' | 'done'>();
  const kept: TopologyEdge[] = [];
  const visit = (id: string): void => {
    state.set(id, 'visiting');
    for (const edge of adjacency.get(id) ?? []) {
      const target = state.get(edge.to);
      if (target === 'visiting') continue; // back edge
      kept.push(edge);
      if (target === undefined) visit(edge.to);
    }
    state.set(id, 'done');
  };
  // Start from sources, Streams first, so a cyclic pipeline is cut where a reader would: at the loop-back edge.
  const inDegree = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const edge of edges) inDegree.set(edge.to, (inDegree.get(edge.to) ?? 0) + 1);
  const starts = [...ids].sort(
    (a, b) =>
      (inDegree.get(a) ?? 0) - (inDegree.get(b) ?? 0) ||
      Number(a.startsWith('Processor/')) - Number(b.startsWith('Processor/')) ||
      a.localeCompare(b),
  );
  for (const id of starts) if (!state.has(id)) visit(id);
  return kept;
}
