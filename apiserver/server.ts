// The API server: fastify over HTTPS, wired as kube-apiserver's handler chain — security (authn, authz, audit,
// in-flight; apiserver/auth) → routing → registry → storage. Errors are Kubernetes Status bodies everywhere,
// including fastify's own (body too large, bad media type, unknown route or method).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Server as TlsServer } from 'node:tls';
import { createHash } from 'node:crypto';
import fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { loadDefinitions, type ResourceDefinition } from '../crds/loader';
import { buildSecurity, parseRequestInfo } from './auth/index';
import type { SecurityLayer, SecurityOptions } from './auth/types';
import {
  ApiError, badRequest, internalError, methodNotAllowed, notFoundPath, requestEntityTooLarge, serviceUnavailable,
  unsupportedMediaType, type Status,
} from './errors';
import { ApiMetrics } from './metrics';
import { loadOrCreateServingCertificate } from './pki';
import { watchServingCertificate } from './pki/serving-reload';
import { redactCredentials } from '../crds/addresses';
import { ResourceStore } from './registry/store';
import { GarbageCollector } from './gc/collector';
import { EtcdStorage } from './storage/etcd';
import { StorageUnavailableError } from './storage/interface';
import { WatchCache } from './storage/watch-cache';
import {
  AGGREGATED_DISCOVERY_V2, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, emptyAggregatedDiscovery,
  etagOf, groupVersions, type GroupVersion,
} from './endpoints/discovery';
import { buildOpenApi, type OpenApiDocuments } from './endpoints/openapi';
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF } from './endpoints/openapi-v2-proto';
import { parseMediaRanges } from './endpoints/codec';
import { ResourceHandler, parseResourcePath, type ServedResource } from './endpoints/resources';
import { TableConvertor } from './endpoints/table';
import { WatchersPerUser } from './endpoints/watchers-per-user';
import { registerTimeouts } from './timeouts';

/** kube-apiserver's default --max-request-bytes-ish limit for a request body: 3 MiB. */
export const BODY_LIMIT_BYTES = 3 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_REQUEST_BODY_TIMEOUT_MS = 30_000;
export const DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS = 1800;
export const DEFAULT_MAX_WATCHERS_PER_USER = 100;
export const DEFAULT_MAX_WATCH_BUFFER_BYTES = 16 * 1024 * 1024;
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-sr.0.1.0' };

export interface ApiServerOptions {
  etcdServers: string[];
  etcdPrefix: string;
  securePort: number;
  bindAddress: string;
  certDir: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  security: SecurityOptions;
  /** 0 disables compaction. */
  compactionIntervalMs: number;
  /** Most concurrent writes sent to etcd as one transaction (default 1: each alone, one revision per write). */
  etcdMaxWritesPerTxn?: number;
  logger: Logger;
  /** `--request-timeout`: deadline of every request but watches (default 60 s; 0 = none). */
  requestTimeoutMs?: number;
  /** `--request-body-timeout`: deadline for a request body to arrive (default 30 s; 0 = none). */
  requestBodyTimeoutMs?: number;
  /** `--min-request-timeout`: watches last this to twice this without timeoutSeconds, at most twice this (1800). */
  minRequestTimeoutSeconds?: number;
  /** `--max-watchers-per-user` (default 100; 0 = unlimited). */
  maxWatchersPerUser?: number;
  /** `--max-watch-buffer-bytes`: a watcher with more waiting to be sent is cut off (default 16 MiB). */
  maxWatchBufferBytes?: number;
  /** How often the serving certificate files are checked for a rotation (default 3 s). */
  tlsReloadIntervalMs?: number;
  /**
   * Given this server's metrics registry, what /metrics serves instead of the registry alone (under `--workers N`:
   * the sum over all workers).
   */
  aggregateMetrics?: (registry: Registry) => () => Promise<{ contentType: string; body: string }>;
  /** Whether this process runs the garbage collector (default true; under `--workers N`, worker 0 alone). */
  garbageCollector?: boolean;
}

/** Names the self-signed serving certificate covers (besides localhost and 127.0.0.1). */
export function servingCertificateHosts(bindAddress: string): string[] {
  return [hostname(), ...(bindAddress && !['0.0.0.0', '::', ''].includes(bindAddress) ? [bindAddress] : [])];
}

export interface RunningApiServer {
  app: FastifyInstance;
  /** https://host:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

function sendStatus(reply: FastifyReply, status: Status): FastifyReply {
  if (status.details?.retryAfterSeconds !== undefined) reply.header('retry-after', String(status.details.retryAfterSeconds));
  return reply.code(status.code).type('application/json').send(JSON.stringify(status));
}

function fastifyErrorToStatus(err: FastifyError): Status | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return requestEntityTooLarge(BODY_LIMIT_BYTES).status;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return unsupportedMediaType('', ['application/json', 'application/yaml']).status;
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        const status = badRequest(err.message).status;
        if (err.statusCode === 413) return requestEntityTooLarge(BODY_LIMIT_BYTES).status;
        if (err.statusCode === 415) return unsupportedMediaType('', ['application/json', 'application/yaml']).status;
        return status;
      }
      return undefined;
  }
}

function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  for (const r of parseMediaRanges(accept)) {
    if (r.type === 'application/json' && r.params.as === 'APIGroupDiscoveryList' && r.params.g === 'apidiscovery.k8s.io' && r.params.v === 'v2') return true;
    if ((r.type === 'application/json' || r.type === '*/*') && r.params.as === undefined) return false;
  }
  return false;
}

export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const logger = options.logger;
  const metrics = new ApiMetrics();
  const storage = new EtcdStorage({
    endpoints: options.etcdServers,
    observe: (operation, seconds) => metrics.etcdLatency.observe({ operation, type: 'object' }, seconds),
    maxBatchedWrites: options.etcdMaxWritesPerTxn,
    observeBatch: (writes) => metrics.etcdWritesPerTxn.observe(writes),
    onBatchingUnsupported: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'etcd refused a transaction of several writes; writes go one per transaction from now on'),
    onBatchLimitsLowered: (limits) => logger.warn(limits, 'etcd refused a transaction of several writes as too big; batches are smaller from now on'),
  });
  const etcdPrefix = options.etcdPrefix.replace(/\/+$/, '') || '/registry';
  const cache = new WatchCache(storage, `${etcdPrefix}/`, { logger });
  const definitions: ResourceDefinition[] = loadDefinitions();
  const resources = new Map<string, ServedResource>();
  for (const d of definitions) {
    resources.set(`${d.group}/${d.version}/${d.plural}`, { store: new ResourceStore(d, storage, cache, etcdPrefix), table: new TableConvertor(d) });
  }
  const gvs: GroupVersion[] = groupVersions(definitions);
  const openapi: OpenApiDocuments = buildOpenApi(gvs, SERVER_VERSION.gitVersion);
  const discoveryV2Body = JSON.stringify(aggregatedDiscovery(gvs));
  const discoveryV2Etag = etagOf(discoveryV2Body);
  const handler = new ResourceHandler({
    resources, cache, metrics, currentRevision: () => storage.currentRevision(),
    watchLimits: { maxBufferedBytes: options.maxWatchBufferBytes ?? DEFAULT_MAX_WATCH_BUFFER_BYTES, minRequestTimeoutSeconds: options.minRequestTimeoutSeconds ?? DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS },
    watchersPerUser: new WatchersPerUser(options.maxWatchersPerUser ?? DEFAULT_MAX_WATCHERS_PER_USER),
  });

  // TLS: given files, or a self-signed pair in --cert-dir (like kube-apiserver); either is reloaded when its files
  // change (below, once the server exists).
  let cert: string;
  let key: string;
  let servingFiles: { certFile: string; keyFile: string };
  if (options.tlsCertFile && options.tlsPrivateKeyFile) {
    cert = readFileSync(options.tlsCertFile, 'utf8');
    key = readFileSync(options.tlsPrivateKeyFile, 'utf8');
    servingFiles = { certFile: options.tlsCertFile, keyFile: options.tlsPrivateKeyFile };
  } else {
    const pair = loadOrCreateServingCertificate(options.certDir, servingCertificateHosts(options.bindAddress));
    cert = pair.certPem;
    key = pair.keyPem;
    servingFiles = { certFile: pair.certFile, keyFile: pair.keyFile };
  }
  const security: SecurityLayer = await buildSecurity(options.security, { logger, redactAuditText: redactCredentials });

  // HTTP/2 with HTTP/1.1 fallback (ALPN), like kube-apiserver: kubectl and client-go multiplex their requests and
  // watches over one connection. The handlers use only what HTTP/1.1 and HTTP/2 requests and responses have in
  // common (auth/index.ts rebuilds `headersDistinct`, which HTTP/2 requests lack), so the instance keeps fastify's
  // default (HTTP/1.1) types.
  const app = fastify({
    http2: true,
    https: { allowHTTP1: true, cert, key, ...security.tlsOptions },
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    routerOptions: { maxParamLength: 10_000 },
    forceCloseConnections: true,
    return503OnClosing: true,
    keepAliveTimeout: 60_000,
    // Router-level failures (undecodable URL, bad headers) answer with a Status like everything else.
    frameworkErrors: (error, _request, reply) => {
      const status = error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_ASYNC_CONSTRAINT'
        ? badRequest(`malformed request URL: ${error.message}`).status
        : fastifyErrorToStatus(error) ?? badRequest(error.message).status;
      void sendStatus(reply as unknown as FastifyReply, status);
    },
    // Unparseable HTTP (invalid method token, garbage bytes): one 400 Status, then the connection closes.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) { socket.destroy(); return; }
      const body = JSON.stringify(badRequest(`malformed HTTP request: ${(err as NodeJS.ErrnoException).code ?? err.message}`).status);
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
  }) as unknown as FastifyInstance;

  // Bodies stay raw buffers; handlers decode them by media type (JSON, YAML, patch types) themselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));

  security.register(app);
  registerTimeouts(app, {
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    bodyTimeoutMs: options.requestBodyTimeoutMs ?? DEFAULT_REQUEST_BODY_TIMEOUT_MS,
  }, sendStatus);

  const started = new WeakMap<FastifyRequest, bigint>();
  const recordResponse = (request: FastifyRequest, reply: FastifyReply): void => {
    const info = request.requestInfo ?? parseRequestInfo(request.method, request.url);
    const t0 = started.get(request);
    const labels = {
      verb: (info.isResourceRequest ? (request.method === 'PATCH' && String(request.headers['content-type'] ?? '').startsWith('application/apply-patch') ? 'apply' : info.verb) : request.method).toUpperCase(),
      group: info.apiGroup, version: info.apiVersion, resource: info.resource, subresource: info.subresource,
      scope: !info.isResourceRequest ? '' : info.name ? 'resource' : info.namespace ? 'namespace' : 'cluster',
    };
    if (labels.verb === 'WATCH') return;
    metrics.requests.inc({ ...labels, code: String(reply.statusCode) });
    if (t0 !== undefined) metrics.latency.observe(labels, Number(process.hrtime.bigint() - t0) / 1e9);
    if (logger.isLevelEnabled('debug')) logger.debug({ method: request.method, url: request.url, code: reply.statusCode, user: request.user?.name }, 'request');
  };
  // Callback-style hooks: an async one costs a promise and a microtask turn on every request.
  app.addHook('onRequest', (request, _reply, done) => { started.set(request, process.hrtime.bigint()); done(); });
  app.addHook('onResponse', (request, reply, done) => { recordResponse(request, reply); done(); });

  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof ApiError) return sendStatus(reply, err.status);
    if (err instanceof StorageUnavailableError) return sendStatus(reply, serviceUnavailable(err.message).status);
    const fastifyStatus = typeof err === 'object' && err !== null && 'code' in err ? fastifyErrorToStatus(err as FastifyError) : undefined;
    if (fastifyStatus) return sendStatus(reply, fastifyStatus);
    logger.error({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err), url: request.url, method: request.method }, 'internal error');
    return sendStatus(reply, internalError(err instanceof Error ? err.message : String(err)).status);
  });
  app.setNotFoundHandler((request, reply) => {
    if (!KNOWN_METHODS.has(request.method.toUpperCase())) return sendStatus(reply, methodNotAllowed(request.method, request.url.split('?')[0]).status);
    return sendStatus(reply, notFoundPath(request.url).status);
  });

  // ---------------------------------------------------------------- health, version, metrics
  const ok = (_req: FastifyRequest, reply: FastifyReply): FastifyReply => reply.code(200).type('text/plain; charset=utf-8').send('ok');
  for (const p of ['/healthz', '/livez']) { app.get(p, ok); app.get(`${p}/*`, ok); }
  const readyz = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const etcdOk = await storage.healthy();
    const cacheOk = cache.ready;
    // The security layer's checks (e.g. extension-apiserver-authentication); like kube, reasons go to the log only.
    const securityFailures = security.readinessChecks.map((check) => ({ name: check.name, failure: check.failure() }));
    if (etcdOk && cacheOk && securityFailures.every((c) => c.failure === undefined)) return reply.code(200).type('text/plain; charset=utf-8').send('ok');
    const lines = [
      `[${etcdOk ? '+' : '-'}]etcd ${etcdOk ? 'ok' : 'failed: reason withheld'}`,
      `[${cacheOk ? '+' : '-'}]watch-cache ${cacheOk ? 'ok' : 'failed: not synced'}`,
      ...securityFailures.map((c) => `[${c.failure === undefined ? '+' : '-'}]${c.name} ${c.failure === undefined ? 'ok' : 'failed: reason withheld'}`),
    ];
    for (const c of securityFailures) if (c.failure !== undefined) logger.info({ check: c.name, reason: c.failure }, 'readyz check failed');
    return reply.code(500).type('text/plain; charset=utf-8').send(`${lines.join('\n')}\nreadyz check failed\n`);
  };
  app.get('/readyz', readyz);
  app.get('/readyz/*', readyz);
  app.get('/version', async (_req, reply) => reply.type('application/json').send(JSON.stringify({
    ...SERVER_VERSION, gitCommit: 'unknown', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`, compiler: 'node', platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  })));
  const renderMetrics = options.aggregateMetrics ? options.aggregateMetrics(metrics.registry) : () => metrics.render();
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).send(body);
  });

  // ---------------------------------------------------------------- discovery
  const discovery = (accept: string | undefined, reply: FastifyReply, ifNoneMatch: string | undefined, legacy: () => unknown, v2Body: string, v2Etag: string): FastifyReply => {
    if (wantsAggregatedDiscovery(accept)) {
      reply.header('etag', v2Etag).header('vary', 'Accept');
      if (ifNoneMatch === v2Etag) return reply.code(304).send();
      return reply.code(200).header('content-type', AGGREGATED_DISCOVERY_V2).send(Buffer.from(v2Body));
    }
    return reply.code(200).type('application/json').send(JSON.stringify(legacy()));
  };
  const emptyV2 = JSON.stringify(emptyAggregatedDiscovery());
  const emptyV2Etag = etagOf(emptyV2);
  app.get('/api', async (req, reply) => discovery(req.headers.accept, reply, req.headers['if-none-match'], () => ({ kind: 'APIVersions', versions: [], serverAddressByClientCIDRs: [] }), emptyV2, emptyV2Etag));
  app.get('/apis', async (req, reply) => discovery(req.headers.accept, reply, req.headers['if-none-match'], () => apiGroupList(gvs), discoveryV2Body, discoveryV2Etag));

  const apisHandler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const urlPath = request.url.split('?')[0];
    const segs = urlPath.split('/').filter((s) => s !== '');
    const method = request.method.toUpperCase();
    if (segs.length === 2 || segs.length === 3) {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, urlPath);
      if (segs.length === 2) {
        const group = apiGroup(gvs, segs[1]);
        if (!group) throw notFoundPath(urlPath);
        return reply.type('application/json').send(JSON.stringify(group));
      }
      const gv = gvs.find((g) => g.group === segs[1] && g.version === segs[2]);
      if (!gv) throw notFoundPath(urlPath);
      return reply.type('application/json').send(JSON.stringify(apiResourceList(gv)));
    }
    const path = parseResourcePath(urlPath);
    const served = path ? handler.lookup(path) : undefined;
    if (!path || !served) throw notFoundPath(urlPath);
    return handler.handle(request, reply, path, served);
  };
  app.all('/apis/*', apisHandler);

  // ---------------------------------------------------------------- OpenAPI
  app.get('/openapi/v3', async (_req, reply) => reply.type('application/json').send(JSON.stringify(openapi.v3Index)));
  app.get('/openapi/v3/*', async (request, reply) => {
    const key = request.url.split('?')[0].replace(/^\/openapi\/v3\//, '').replace(/\/+$/, '');
    const doc = openapi.v3.get(key);
    if (!doc) throw notFoundPath(request.url);
    const query = request.query as Record<string, string | undefined>;
    reply.header('etag', `"${doc.hash}"`);
    if (query.hash === doc.hash) reply.header('cache-control', 'public, immutable');
    else reply.header('cache-control', 'no-cache, private');
    if (request.headers['if-none-match'] === `"${doc.hash}"`) return reply.code(304).send();
    return reply.type('application/json').send(doc.body);
  });
  const v2Etag = etagOf(openapi.v2);
  const v2Proto = encodeOpenApiV2(JSON.parse(openapi.v2) as Parameters<typeof encodeOpenApiV2>[0]);
  const v2ProtoEtag = `"${createHash('sha256').update(v2Proto).digest('hex').slice(0, 32)}"`;
  app.get('/openapi/v2', async (request, reply) => {
    const accepts = parseMediaRanges(request.headers.accept);
    // kubectl asks for gnostic's protobuf form only.
    const protoIndex = accepts.findIndex((r) => r.type === OPENAPI_V2_PROTOBUF || r.type === 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const jsonIndex = accepts.findIndex((r) => r.type === 'application/json' || r.type === '*/*' || r.type === 'application/*');
    if (protoIndex >= 0 && (jsonIndex < 0 || protoIndex < jsonIndex)) {
      reply.header('etag', v2ProtoEtag);
      if (request.headers['if-none-match'] === v2ProtoEtag) return reply.code(304).send();
      return reply.header('content-type', OPENAPI_V2_PROTOBUF).send(v2Proto);
    }
    if (jsonIndex < 0) {
      throw new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 406, reason: 'NotAcceptable', message: 'only application/json is served for /openapi/v2' });
    }
    reply.header('etag', v2Etag);
    if (request.headers['if-none-match'] === v2Etag) return reply.code(304).send();
    return reply.type('application/json').send(openapi.v2);
  });

  // ---------------------------------------------------------------- start
  void cache.start();
  // One collector per etcd prefix: several would act on the same snapshots and fight (409s, work done twice).
  const garbageCollector = options.garbageCollector === false
    ? undefined
    : new GarbageCollector({ cache, stores: [...resources.values()].map((r) => r.store), logger, registry: metrics.registry });
  garbageCollector?.start();
  let compactTimer: NodeJS.Timeout | undefined;
  if (options.compactionIntervalMs > 0) {
    // Like kube-apiserver: every interval, compact to the revision seen one interval earlier.
    let previousRevision = 0;
    let compactedRevision = 0;
    const compact = async (): Promise<void> => {
      try {
        const current = await storage.currentRevision();
        // Never past what our own watch cache has seen: its etcd watch must be able to resume (e.g. after etcd
        // restarts and the watch reconnects later than writes resumed).
        const target = Math.min(previousRevision, cache.revision);
        if (target > compactedRevision) {
          await storage.compact(target);
          compactedRevision = target;
          cache.compacted(target);
          logger.info({ revision: target }, 'compacted etcd history');
        }
        previousRevision = current;
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'compaction failed');
      }
    };
    compactTimer = setInterval(() => { void compact(); }, options.compactionIntervalMs);
    compactTimer.unref();
  }

  // New connections get the current serving pair and client-CA list; open connections keep what they negotiated.
  const secureServer = app.server as unknown as TlsServer;
  let servedCas = security.tlsOptions.ca;
  let servingCertificate = { cert, key };
  const renewTlsContext = (): void => {
    secureServer.setSecureContext({ ...servingCertificate, ...(servedCas ? { ca: servedCas } : {}) });
  };
  const servingWatch = watchServingCertificate(servingFiles, servingCertificate, (pair) => { servingCertificate = pair; renewTlsContext(); }, logger, options.tlsReloadIntervalMs);
  security.onCaChange((ca) => {
    servedCas = ca;
    renewTlsContext();
    logger.info({ cas: ca?.length ?? 0 }, 'client CAs changed; new connections use them');
  });

  await app.listen({ port: options.securePort, host: options.bindAddress || '0.0.0.0' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.securePort;
  const host = !options.bindAddress || options.bindAddress === '0.0.0.0' || options.bindAddress === '::' ? '127.0.0.1' : options.bindAddress;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, etcd: options.etcdServers, prefix: etcdPrefix }, 'serving');

  return {
    app,
    url,
    port,
    close: async () => {
      if (compactTimer) clearInterval(compactTimer);
      servingWatch.stop();
      garbageCollector?.stop();
      cache.stop();
      await app.close();
      await security.close();
      await storage.close();
    },
  };
}
