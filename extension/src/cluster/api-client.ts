// A small Kubernetes API client for our three kinds over plain HTTP(S): get, list, create, update, server-side apply
// (with dry run), delete and watch. Authenticates per request with what the kubeconfig's loader gives (kubeconfig.ts).
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

/** One field another manager owns with a different value: what a server-side apply without force refuses. */
export interface FieldConflict {
  manager: string;
  /** The field path as the server names it, e.g. `.spec.partitionCount`. */
  field: string;
}

/** A 409 from server-side apply: the fields and the managers that own them; applying again with force takes them. */
export class ApplyConflictError extends ApiError {
  constructor(message: string, body: unknown, readonly conflicts: FieldConflict[]) {
    super(409, message, body);
  }
}

/** The FieldManagerConflict causes of a 409 Status (kube: `conflict with "<manager>" using <apiVersion>`). */
export function applyConflicts(body: unknown): FieldConflict[] {
  const causes = (body as { details?: { causes?: unknown } } | undefined)?.details?.causes;
  if (!Array.isArray(causes)) return [];
  const conflicts: FieldConflict[] = [];
  for (const cause of causes as { reason?: unknown; message?: unknown; field?: unknown }[]) {
    if (cause?.reason !== 'FieldManagerConflict') continue;
    const manager = /conflict with "([^"]*)"/.exec(typeof cause.message === 'string' ? cause.message : '')?.[1] ?? '?';
    conflicts.push({ manager, field: typeof cause.field === 'string' ? cause.field : '' });
  }
  return conflicts;
}

export class ApiClient {
  private readonly base: URL;

  constructor(readonly connection: ClusterConnection) {
    this.base = new URL(connection.server);
  }

  dispose(): void {
    this.connection.dispose();
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

  /** A GET whose body may not exceed `limitBytes` (rejects beyond) nor take longer than `timeoutMs`. */
  async getText(path: string, limitBytes: number, timeoutMs: number): Promise<{ status: number; text: string }> {
    const transport = this.base.protocol === 'https:' ? https : http;
    const options = await this.options('GET', path);
    options.headers = { ...options.headers, Accept: 'text/plain, */*' };
    return new Promise((resolveGet, rejectGet) => {
      const request = transport.request(options, (response) => {
        readLimited(response, limitBytes).then((text) => resolveGet({ status: response.statusCode ?? 0, text }), (error: Error) => {
          request.destroy();
          rejectGet(error);
        });
      });
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET ${path}: timed out after ${timeoutMs} ms`)));
      request.on('error', rejectGet);
      request.end();
    });
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
   * Applies one object: server-side apply when the server supports it (PATCH application/apply-patch+yaml), else
   * create-or-update (POST, or PUT with the live resourceVersion). Never forces unless asked: fields another manager
   * owns with other values reject the apply with an ApplyConflictError naming them, and taking them is the user's
   * choice (`force`). Unknown fields are errors (fieldValidation=Strict, kubectl's default). With dryRun nothing
   * persists and the object the server would store is returned.
   */
  async apply(object: KubeObject, options: { fieldManager: string; dryRun: boolean; force?: boolean }): Promise<{ result: KubeObject; live?: KubeObject; method: 'apply' | 'create' | 'update'; warnings: string[] }> {
    const kind = object.kind as KindName;
    const name = object.metadata?.name ?? '';
    const namespace = isNamespaced(kind) ? object.metadata?.namespace ?? this.connection.namespace : undefined;
    const body: KubeObject = JSON.parse(JSON.stringify(object)) as KubeObject;
    if (namespace && body.metadata) body.metadata.namespace = namespace;
    const query = new URLSearchParams({ fieldManager: options.fieldManager, fieldValidation: 'Strict' });
    if (options.dryRun) query.set('dryRun', 'All');
    const live = await this.get(kind, namespace, name);
    const ssa = await this.request(
      'PATCH',
      `${resourcePath(kind, namespace, name)}?${query.toString()}${options.force ? '&force=true' : ''}`,
      JSON.stringify(body),
      'application/apply-patch+yaml',
    );
    if (ssa.status >= 200 && ssa.status < 300) {
      return { result: ssa.body as KubeObject, ...(live ? { live } : {}), method: 'apply', warnings: ssa.warnings };
    }
    const conflicts = ssa.status === 409 ? applyConflicts(ssa.body) : [];
    if (conflicts.length > 0) throw new ApplyConflictError(ssa.message, ssa.body, conflicts);
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
   * ADDED events after a BOOKMARK that marks the (re)list). Reconnects from the last seen resourceVersion; relists
   * after 410 Gone. A user who may not list a namespaced kind across namespaces (403) is followed in
   * `scope.fallbackNamespace` instead (`scope.onNarrowed`); a cluster-scoped kind the user may not list is reported
   * once (`scope.onForbidden`) as an empty list, not retried. Returns a stop function.
   */
  watch(
    kind: KindName,
    onEvent: (event: WatchEvent) => void,
    onError: (error: Error) => void = () => undefined,
    scope: { fallbackNamespace?: string; onNarrowed?: (namespace: string) => void; onForbidden?: (error: ApiError) => void } = {},
  ): () => void {
    let stopped = false;
    let current: http.ClientRequest | undefined;
    let resourceVersion = '';
    let namespace: string | undefined;
    const loop = async (): Promise<void> => {
      let backoff = 200;
      while (!stopped) {
        try {
          if (resourceVersion === '') {
            let listed: { items: KubeObject[]; resourceVersion: string };
            try {
              listed = await this.list(kind, namespace);
            } catch (error) {
              if (!(error instanceof ApiError) || error.status !== 403 || namespace !== undefined) throw error;
              if (!isNamespaced(kind)) {
                onEvent({ type: 'BOOKMARK', object: { kind, metadata: { resourceVersion: '' } } });
                scope.onForbidden?.(error);
                return;
              }
              if (!scope.fallbackNamespace) throw error;
              namespace = scope.fallbackNamespace;
              scope.onNarrowed?.(namespace);
              continue;
            }
            resourceVersion = listed.resourceVersion;
            onEvent({ type: 'BOOKMARK', object: { kind, metadata: { resourceVersion } } });
            for (const item of listed.items) onEvent({ type: 'ADDED', object: item });
          }
          const path = `${resourcePath(kind, namespace)}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
          const options = await this.options('GET', path);
          if (stopped) return;
          await new Promise<void>((resolveWatch, rejectWatch) => {
            current = this.stream(options, path, (line) => {
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

  /** Request options with fresh credentials (an exec plugin's token may have expired since the last request). */
  private async options(method: string, path: string, contentType?: string, length?: number): Promise<https.RequestOptions> {
    const credentials = await this.connection.credentials();
    const headers: http.OutgoingHttpHeaders = { ...credentials.headers, Accept: 'application/json', 'User-Agent': 'sr-vscode/0.1.0' };
    if (contentType) headers['Content-Type'] = contentType;
    if (length !== undefined) headers['Content-Length'] = length;
    const basePath = this.base.pathname.replace(/\/+$/, '');
    return {
      method,
      hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
      port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
      path: `${basePath}${path}`,
      headers,
      agent: credentials.agent,
    };
  }

  private async send(method: string, path: string, payload: string | undefined, contentType: string): Promise<{ status: number; text: string; warnings: string[] }> {
    const transport = this.base.protocol === 'https:' ? https : http;
    const options = await this.options(method, path, payload === undefined ? undefined : contentType, payload === undefined ? undefined : Buffer.byteLength(payload));
    return new Promise((resolveSend, rejectSend) => {
      const request = transport.request(options, (response) => {
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

  private stream(options: https.RequestOptions, path: string, onLine: (line: string) => void, onEnd: () => void, onFail: (error: Error) => void): http.ClientRequest {
    const transport = this.base.protocol === 'https:' ? https : http;
    const request = transport.request(options, (response) => {
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

/** A response body as text, rejected as soon as it grows past `limitBytes` (the caller destroys the request). */
export function readLimited(response: http.IncomingMessage, limitBytes: number): Promise<string> {
  return new Promise((resolveRead, rejectRead) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        response.destroy();
        rejectRead(new Error(`response larger than ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolveRead(Buffer.concat(chunks).toString('utf8')));
    response.on('error', rejectRead);
    response.on('aborted', () => rejectRead(new Error('response aborted')));
  });
}

/**
 * The texts of RFC 7234 `Warning: 299 - "text"` headers, quotes and backslashes unescaped. Node joins repeated
 * headers with ", ", so the values are read as a sequence, not split on commas.
 */
export function warningsOf(headers: http.IncomingHttpHeaders): string[] {
  const raw = headers.warning;
  if (!raw) return [];
  const warnings: string[] = [];
  const pattern = /\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?/g;
  for (const value of Array.isArray(raw) ? raw : [raw]) {
    for (let match = pattern.exec(value); match; match = pattern.exec(value)) warnings.push((match[1] ?? '').replace(/\\(.)/g, '$1'));
  }
  return warnings;
}
