// A small Kubernetes API client for our three kinds over plain HTTP(S): get, list, create, update, server-side apply
// (with dry run), delete and watch. Authenticates with what the kubeconfig gives (CA, bearer token, client cert).
import * as http from 'node:http';
import * as https from 'node:https';
import { definitionFor } from '../../../crds/loader';
import { API_VERSION, GROUP, VERSION } from '../../../crds/types';
import type { ClusterConnection } from './kubeconfig';

export type KindName = 'ClusterStream' | 'Stream' | 'Processor';
export const KINDS: readonly KindName[] = ['ClusterStream', 'Stream', 'Processor'];

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  /** The Status message for failures (or the raw text). */
  message: string;
  warnings: string[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export function isNamespaced(kind: KindName): boolean {
  return (definitionFor(kind)?.scope ?? (kind === 'ClusterStream' ? 'Cluster' : 'Namespaced')) === 'Namespaced';
}

export function pluralOf(kind: KindName): string {
  return definitionFor(kind)?.plural ?? `${kind.toLowerCase()}s`;
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>]`; without namespace a namespaced kind lists all. */
export function resourcePath(kind: KindName, namespace?: string, name?: string): string {
  const base = `/apis/${GROUP}/${VERSION}`;
  const scoped = isNamespaced(kind) && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}` : base;
  return `${scoped}/${pluralOf(kind)}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export class ApiClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(readonly connection: ClusterConnection) {
    this.base = new URL(connection.server);
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ...(connection.ca ? { ca: connection.ca } : {}),
            ...(connection.cert && connection.key ? { cert: connection.cert, key: connection.key } : {}),
            rejectUnauthorized: !connection.insecureSkipTlsVerify,
          })
        : new http.Agent({ keepAlive: true });
  }

  dispose(): void {
    this.agent.destroy();
  }

  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await this.send(method, path, payload, contentType);
    const text = response.text;
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    const message =
      typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string'
        ? (parsed as { message: string }).message
        : text.slice(0, 500);
    return { status: response.status, body: parsed, message, warnings: response.warnings };
  }

  /** Like request() but throws an ApiError for non-2xx answers. */
  async call(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiResponse> {
    const response = await this.request(method, path, body, contentType);
    if (response.status < 200 || response.status >= 300) {
      throw new ApiError(response.status, `${method} ${path}: ${response.status} ${response.message}`, response.body);
    }
    return response;
  }

  async get(kind: KindName, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const response = await this.request('GET', resourcePath(kind, namespace, name));
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new ApiError(response.status, response.message, response.body);
    return response.body as KubeObject;
  }

  async list(kind: KindName, namespace?: string): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const response = await this.call('GET', resourcePath(kind, namespace));
    const body = response.body as { items?: KubeObject[]; metadata?: { resourceVersion?: string } };
    const items = (body.items ?? []).map((item) => ({ apiVersion: API_VERSION, kind, ...item }));
    return { items, resourceVersion: body.metadata?.resourceVersion ?? '' };
  }

  async delete(kind: KindName, namespace: string | undefined, name: string): Promise<ApiResponse> {
    return this.call('DELETE', resourcePath(kind, namespace, name));
  }

  /**
   * Applies one object: server-side apply when the server supports it (PATCH application/apply-patch+yaml with
   * force), else create-or-update (POST, or PUT with the live resourceVersion). With dryRun nothing persists and
   * the object the server would store is returned.
   */
  async apply(object: KubeObject, options: { fieldManager: string; dryRun: boolean }): Promise<{ result: KubeObject; live?: KubeObject; method: 'apply' | 'create' | 'update'; warnings: string[] }> {
    const kind = object.kind as KindName;
    const name = object.metadata?.name ?? '';
    const namespace = isNamespaced(kind) ? object.metadata?.namespace ?? this.connection.namespace : undefined;
    const body: KubeObject = JSON.parse(JSON.stringify(object)) as KubeObject;
    if (namespace && body.metadata) body.metadata.namespace = namespace;
    const query = new URLSearchParams({ fieldManager: options.fieldManager });
    if (options.dryRun) query.set('dryRun', 'All');
    const live = await this.get(kind, namespace, name);
    const ssa = await this.request(
      'PATCH',
      `${resourcePath(kind, namespace, name)}?${query.toString()}&force=true`,
      JSON.stringify(body),
      'application/apply-patch+yaml',
    );
    if (ssa.status >= 200 && ssa.status < 300) {
      return { result: ssa.body as KubeObject, ...(live ? { live } : {}), method: 'apply', warnings: ssa.warnings };
    }
    // Unsupported media type / method: fall back to create-or-update. Real validation errors are reported as such.
    if (![404, 405, 415, 501].includes(ssa.status) || (ssa.status === 404 && live)) {
      throw new ApiError(ssa.status, ssa.message, ssa.body);
    }
    if (!live) {
      const created = await this.call('POST', `${resourcePath(kind, namespace)}?${query.toString()}`, body);
      return { result: created.body as KubeObject, method: 'create', warnings: created.warnings };
    }
    if (body.metadata) body.metadata.resourceVersion = live.metadata?.resourceVersion;
    const merged: KubeObject = { ...body, ...(live.status !== undefined ? { status: live.status } : {}) };
    const updated = await this.call('PUT', `${resourcePath(kind, namespace, name)}?${query.toString()}`, merged);
    return { result: updated.body as KubeObject, live, method: 'update', warnings: updated.warnings };
  }

  /**
   * Lists then watches a kind across namespaces, calling `onEvent` for every change (the initial list arrives as
   * ADDED events). Reconnects from the last seen resourceVersion; relists after 410 Gone. Returns a stop function.
   */
  watch(kind: KindName, onEvent: (event: WatchEvent) => void, onError: (error: Error) => void = () => undefined): () => void {
    let stopped = false;
    let current: http.ClientRequest | undefined;
    let resourceVersion = '';
    const loop = async (): Promise<void> => {
      let backoff = 200;
      while (!stopped) {
        try {
          if (resourceVersion === '') {
            const listed = await this.list(kind);
            resourceVersion = listed.resourceVersion;
            onEvent({ type: 'BOOKMARK', object: { kind, metadata: { resourceVersion } } });
            for (const item of listed.items) onEvent({ type: 'ADDED', object: item });
          }
          const path = `${resourcePath(kind)}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
          await new Promise<void>((resolveWatch, rejectWatch) => {
            current = this.stream(path, (line) => {
              let event: WatchEvent;
              try {
                event = JSON.parse(line) as WatchEvent;
              } catch {
                return;
              }
              if (event.type === 'ERROR') {
                const code = (event.object as { code?: unknown }).code;
                if (code === 410) resourceVersion = '';
                current?.destroy();
                return;
              }
              const rv = event.object?.metadata?.resourceVersion;
              if (typeof rv === 'string' && rv !== '') resourceVersion = rv;
              if (event.type !== 'BOOKMARK') onEvent({ ...event, object: { apiVersion: API_VERSION, kind, ...event.object } });
              backoff = 200;
            }, resolveWatch, rejectWatch);
          });
        } catch (error) {
          if (stopped) return;
          onError(error instanceof Error ? error : new Error(String(error)));
          if (error instanceof ApiError && error.status === 410) resourceVersion = '';
        }
        if (stopped) return;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  private headers(contentType?: string, length?: number): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', 'User-Agent': 'sr-vscode/0.1.0' };
    if (contentType) headers['Content-Type'] = contentType;
    if (length !== undefined) headers['Content-Length'] = length;
    if (this.connection.token) headers.Authorization = `Bearer ${this.connection.token}`;
    else if (this.connection.username !== undefined && this.connection.password !== undefined) {
      headers.Authorization = `Basic ${Buffer.from(`${this.connection.username}:${this.connection.password}`).toString('base64')}`;
    }
    return headers;
  }

  private options(method: string, path: string, headers: http.OutgoingHttpHeaders): https.RequestOptions {
    const basePath = this.base.pathname.replace(/\/+$/, '');
    return {
      method,
      hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
      path: `${basePath}${path}`,
      headers,
      agent: this.agent,
    };
  }

  private send(method: string, path: string, payload: string | undefined, contentType: string): Promise<{ status: number; text: string; warnings: string[] }> {
    const transport = this.base.protocol === 'https:' ? https : http;
    const headers = this.headers(payload === undefined ? undefined : contentType, payload === undefined ? undefined : Buffer.byteLength(payload));
    return new Promise((resolveSend, rejectSend) => {
      const request = transport.request(this.options(method, path, headers), (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolveSend({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), warnings: warningsOf(response.headers) }),
        );
        response.on('error', rejectSend);
      });
      request.setTimeout(30_000, () => request.destroy(new Error(`${method} ${path}: timed out`)));
      request.on('error', rejectSend);
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }

  private stream(path: string, onLine: (line: string) => void, onEnd: () => void, onFail: (error: Error) => void): http.ClientRequest {
    const transport = this.base.protocol === 'https:' ? https : http;
    const request = transport.request(this.options('GET', path, this.headers()), (response) => {
      if ((response.statusCode ?? 0) !== 200) {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => onFail(new ApiError(response.statusCode ?? 0, `watch ${path}: ${response.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`, undefined)));
        return;
      }
      let buffered = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== '') onLine(line);
          newline = buffered.indexOf('\n');
        }
      });
      response.on('end', () => {
        if (buffered.trim() !== '') onLine(buffered.trim());
        onEnd();
      });
      response.on('error', onFail);
      response.on('close', onEnd);
    });
    request.on('error', onFail);
    request.end();
    return request;
  }
}

function warningsOf(headers: http.IncomingHttpHeaders): string[] {
  const raw = headers.warning;
  if (!raw) return [];
  return (Array.isArray(raw) ? raw : [raw]).map((w) => w.replace(/^\d{3}\s+\S+\s+"?|"$/g, ''));
}
