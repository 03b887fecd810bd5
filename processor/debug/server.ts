// The debug HTTP port (reached with `kubectl port-forward` in a cluster): /healthz, /readyz, /metrics,
// /debug/state and the /debug/tap NDJSON stream. Read-only; it never shows credentials.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProcessorMetrics } from '../metrics';
import type { Tap } from './tap';

export interface Readiness {
  ready: boolean;
  /** One line per unmet condition, e.g. "input data-in: reconnecting". */
  reasons: string[];
}

export interface DebugSources {
  metrics: ProcessorMetrics;
  tap: Tap;
  readiness: () => Promise<Readiness>;
  state: () => unknown;
}

export class DebugServer {
  private server: Server | undefined;
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly sources: DebugSources) {}

  async listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (url.pathname) {
      case '/healthz':
      case '/livez':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const readiness = await this.sources.readiness();
        const body = readiness.ready ? 'ok\n' : readiness.reasons.map((r) => `not ready: ${r}`).join('\n') + '\n';
        res.writeHead(readiness.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
        return;
      }
      case '/metrics': {
        const text = await this.sources.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': this.sources.metrics.registry.contentType }).end(text);
        return;
      }
      case '/debug/state':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.sources.state(), null, 2) + '\n');
        return;
      case '/debug/tap':
        this.tap(url, req, res);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz /readyz /metrics /debug/state /debug/tap\n');
    }
  }

  private tap(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const sample = url.searchParams.has('sample') ? Number(url.searchParams.get('sample')) : 1;
    const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : 0;
    if (!Number.isFinite(sample) || sample <= 0 || sample > 1 || !Number.isInteger(limit) || limit < 0) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('sample must be in (0, 1] and limit a non-negative integer\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    res.flushHeaders();
    this.streams.add(res);
    const unsubscribe = this.sources.tap.subscribe(
      sample,
      limit,
      (line) => { res.write(line); },
      () => { this.streams.delete(res); res.end(); },
    );
    req.on('close', () => { unsubscribe(); this.streams.delete(res); });
  }

  async close(): Promise<void> {
    for (const res of this.streams) res.end();
    this.streams.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
