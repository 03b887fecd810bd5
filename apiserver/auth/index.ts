// The security layer of the API server: builds authenticators, authorizers, the audit sink and the in-flight limiter
// from kube-apiserver-style options, and hooks them into the fastify app in kube-apiserver's filter order:
// request info -> authentication -> in-flight limit -> authorization, with the audit event written when the
// response completes. See README.md in this folder.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { auditTrail, type AuditEntry, type AuditTrail } from './audit-log';
import { loadAuditPolicyFile } from './audit-policy';
import {
  authenticateRequest,
  bearerTokenAuthenticator,
  clientCertificateAuthenticator,
  DEFAULT_EXTRA_HEADER_PREFIXES,
  DEFAULT_GROUP_HEADERS,
  DEFAULT_UID_HEADERS,
  DEFAULT_USERNAME_HEADERS,
  identityHeaderNames,
  requestHeaderAuthenticator,
  anonymousUser,
  ANONYMOUS_USER,
  type Authenticator,
  type CredentialSource,
  type RequestHeaderConfig,
} from './authenticator';
import {
  alwaysAllow,
  alwaysDeny,
  isAuthorizationMode,
  PRIVILEGED_GROUP,
  rbacAuthorizer,
  unionAuthorizer,
  type Authorizer,
} from './authorizer';
import { loadKubeConfig, readPublishedAuthentication, TokenReviewAuthenticator, WebhookAuthorizer } from './delegation';
import { impersonate, impersonationHeaderNames } from './impersonation';
import { DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT, DEFAULT_MAX_REQUESTS_INFLIGHT, inflightLimiter } from './inflight';
import { FairQueue } from './fair-queue';
import { DEFAULT_PUBLISHED_AUTHENTICATION_TIMING, PUBLISHED_AUTHENTICATION_CHECK, PublishedAuthenticationWatch } from './published-authentication';
import { AuthenticationTrust } from './trust';

const DEFAULT_FAIR_QUEUE_SEATS = 32;
const DEFAULT_FAIR_QUEUE_LENGTH_PER_USER = 50;
const DEFAULT_FAIR_QUEUE_MAX_WAIT_MS = 15_000;
import { bootstrapPolicy, loadPolicyFile, mergePolicies, RbacAuthorizer } from './rbac';
import { isLongRunning, parseRequestInfo, READ_ONLY_VERBS } from './request-info';
import { forbiddenStatus, internalErrorStatus, tooManyRequestsStatus, unauthorizedStatus, type FailureStatus } from './status';
import { loadTokenFile } from './token-file';
import type { BuildSecurity, ClientCertTlsOptions, ReadinessCheck, RequestInfo, SecurityLayer, SecurityOptions, UserInfo } from './types';
import { peerCertificateChain } from './x509';

export type { BuildSecurity, ReadinessCheck, SecurityLayer, SecurityOptions, UserInfo, RequestInfo } from './types';
export { watchFiles, type FileWatch } from './file-watch';
export { PUBLISHED_AUTHENTICATION_CHECK } from './published-authentication';
export { parseRequestInfo, isLongRunning } from './request-info';

/** Health endpoints answer everyone (kubelet probes carry no credentials), like kube's always-allow paths. */
export function isHealthPath(path: string): boolean {
  return /^\/(healthz|livez|readyz)(\/.*)?$/.test(path);
}

/** What anonymous users may reach when `--anonymous-auth=true`: health, version, discovery and OpenAPI. */
export function isAnonymousPath(info: RequestInfo): boolean {
  if (info.isResourceRequest) return false;
  const path = info.path.replace(/\/+$/, '') || '/';
  if (isHealthPath(path) || path === '/version') return true;
  if (/^\/apis(\/[^/]+){0,2}$/.test(path) || /^\/api(\/[^/]+)?$/.test(path)) return true;
  return path === '/openapi/v2' || path === '/openapi/v3' || path.startsWith('/openapi/v3/');
}

const RETRY_AFTER_SECONDS = 1;

function send(reply: FastifyReply, status: FailureStatus): FastifyReply {
  return reply.code(status.code).header('content-type', 'application/json').send(JSON.stringify(status));
}

interface AuthenticationSetup {
  authenticators: Authenticator[];
  /** The CAs and front-proxy settings in force (reloaded from files and the published ConfigMap). */
  trust: AuthenticationTrust;
  /** Present when settings come from kube-system/extension-apiserver-authentication. */
  published?: PublishedAuthenticationWatch;
  /** Whether the TLS server asks for client certificates (decided once: it is a server option, not a context's). */
  requestCert: boolean;
}

function authorizationModes(opts: SecurityOptions): string[] {
  const modes = (opts.authorizationMode ?? []).flatMap((m) => m.split(',')).map((m) => m.trim()).filter((m) => m !== '');
  return modes.length > 0 ? modes : ['AlwaysAllow'];
}

async function buildAuthentication(opts: SecurityOptions, logger: Logger): Promise<AuthenticationSetup> {
  const trust = new AuthenticationTrust(opts, logger, opts.fileReloadIntervalMs);

  // Like kube's delegating authentication: what the flags leave out is looked up in the ConfigMap kube-apiserver
  // publishes for aggregated servers, when there is a cluster to ask; it is retried until it loads and re-read
  // every minute (published-authentication.ts).
  const delegated = authorizationModes(opts).includes('Webhook');
  const kubeConfig = await loadKubeConfig(opts.authenticationKubeconfig, delegated);
  let published: PublishedAuthenticationWatch | undefined;
  if (kubeConfig && !trust.complete) {
    published = new PublishedAuthenticationWatch(
      () => readPublishedAuthentication(kubeConfig),
      (settings) => trust.applyPublished(settings),
      logger,
      { ...DEFAULT_PUBLISHED_AUTHENTICATION_TIMING, ...opts.publishedAuthenticationTiming },
    );
    await published.start();
  }

  const authenticators: Authenticator[] = [
    requestHeaderAuthenticator(() => trust.current().requestHeader),
    clientCertificateAuthenticator(() => trust.current().clientCas),
  ];
  let staticTokens;
  if (opts.tokenAuthFile) {
    const loaded = loadTokenFile(opts.tokenAuthFile);
    for (const warning of loaded.warnings) logger.warn(warning);
    staticTokens = loaded.tokens;
  }
  const tokenReview = kubeConfig ? await TokenReviewAuthenticator.create(kubeConfig) : undefined;
  if (staticTokens || tokenReview) authenticators.push(bearerTokenAuthenticator(staticTokens, tokenReview));

  const requestCert = Boolean(published || opts.clientCaFile || opts.requestheaderClientCaFile);
  return { authenticators, trust, published, requestCert };
}

async function buildAuthorization(opts: SecurityOptions, logger: Logger): Promise<Authorizer> {
  const modes = authorizationModes(opts);
  const authorizers: Authorizer[] = [];
  for (const mode of modes) {
    if (!isAuthorizationMode(mode)) throw new Error(`--authorization-mode: unknown mode "${mode}" (AlwaysAllow, AlwaysDeny, RBAC, Webhook)`);
    switch (mode) {
      case 'AlwaysAllow':
        authorizers.push(alwaysAllow);
        break;
      case 'AlwaysDeny':
        authorizers.push(alwaysDeny);
        break;
      case 'RBAC': {
        const parts = [bootstrapPolicy({ anonymousDiscovery: opts.anonymousAuth === true })];
        if (opts.authorizationPolicyFile) {
          const loaded = loadPolicyFile(opts.authorizationPolicyFile);
          for (const warning of loaded.warnings) logger.warn(warning);
          parts.push(loaded.policy);
        } else {
          logger.warn('--authorization-mode=RBAC without --authorization-policy-file: only system:masters and discovery are allowed');
        }
        authorizers.push(rbacAuthorizer(new RbacAuthorizer(mergePolicies(...parts))));
        break;
      }
      case 'Webhook': {
        const kubeConfig = await loadKubeConfig(opts.authorizationKubeconfig, true);
        if (!kubeConfig) throw new Error('--authorization-mode=Webhook needs --authorization-kubeconfig (or to run in a cluster)');
        authorizers.push(await WebhookAuthorizer.create(kubeConfig));
        break;
      }
    }
  }
  return unionAuthorizer(authorizers);
}

const distinctFromRaw = new WeakMap<object, Record<string, string[] | undefined>>();

/**
 * Every value of every header, repeated headers kept apart (one group per `X-Remote-Group` line), built from
 * `rawHeaders` once per request when first asked (most requests never need it; HTTP/2 requests have no
 * `headersDistinct` of their own, and HTTP/1.1's would build one on every request), so that removing a name from it
 * is seen by everything that reads it later. Names already removed from `headers` (stripCredentials) are left out.
 */
function headersDistinct(request: FastifyRequest): Record<string, string[] | undefined> {
  const raw: { rawHeaders: string[]; headers: Record<string, unknown> } = request.raw;
  let map = distinctFromRaw.get(raw);
  if (!map) {
    map = {};
    for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2) {
      const name = raw.rawHeaders[i].toLowerCase();
      if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers
      if (!Object.prototype.hasOwnProperty.call(raw.headers, name)) continue; // removed (stripCredentials)
      (map[name] ??= []).push(raw.rawHeaders[i + 1]);
    }
    distinctFromRaw.set(raw, map);
  }
  return map;
}

interface Http2RequestParts {
  stream?: { session?: { socket: TLSSocket } };
  socket: TLSSocket;
}

/**
 * The TLS socket of the request's connection, the same object for every request of it: an HTTP/2 request's own
 * `socket` is a new proxy per stream, which would make every per-connection cache (client certificate chains and
 * their verdicts, tokens) miss; its session's `socket` is one per connection.
 */
function connectionSocket(request: FastifyRequest): TLSSocket {
  const raw = request.raw as unknown as Http2RequestParts;
  return raw.stream?.session?.socket ?? raw.socket;
}

function credentialSource(request: FastifyRequest): CredentialSource {
  const socket = connectionSocket(request);
  return {
    headers: request.headers,
    get headersDistinct() { return headersDistinct(request); },
    peerCertificates: peerCertificateChain(socket),
    connection: socket,
  };
}

const DEFAULT_IDENTITY_HEADERS = {
  usernameHeaders: DEFAULT_USERNAME_HEADERS,
  uidHeaders: DEFAULT_UID_HEADERS,
  groupHeaders: DEFAULT_GROUP_HEADERS,
  extraHeaderPrefixes: DEFAULT_EXTRA_HEADER_PREFIXES,
};

/** Removes identity headers so nothing after authentication can read or forward them. */
function stripCredentials(request: FastifyRequest, requestHeader: RequestHeaderConfig | undefined, authenticated: boolean): void {
  const targets = [request.raw.headers, request.headers];
  // Without a front proxy configured, the default header names are still removed: nothing downstream may mistake a
  // forged X-Remote-User for an identity.
  const names = identityHeaderNames(requestHeader ?? DEFAULT_IDENTITY_HEADERS, request.raw.headers);
  if (authenticated) names.push('authorization');
  if (names.length === 0) return;
  for (const headers of targets) {
    for (const name of names) delete headers[name];
  }
  // A header map already built (by an authenticator) loses them too; one built later leaves them out.
  const distinct = distinctFromRaw.get(request.raw);
  if (distinct) for (const name of names) delete distinct[name];
}

export const buildSecurity: BuildSecurity = async (opts, deps) => {
  const logger = deps.logger;
  // Read first (even without a log path), so a bad policy fails startup before anything starts polling.
  const auditPolicy = opts.auditPolicyFile ? loadAuditPolicyFile(opts.auditPolicyFile) : undefined;
  const authentication = await buildAuthentication(opts, logger);
  const authorizer = await buildAuthorization(opts, logger);
  const anonymousAllowed = opts.anonymousAuth === true;
  if (auditPolicy && !opts.auditLogPath) logger.warn('--audit-policy-file without --audit-log-path: nothing is audited');
  const audit: AuditTrail | undefined = opts.auditLogPath
    ? auditTrail({
      path: opts.auditLogPath,
      policy: auditPolicy,
      redact: deps.redactAuditText ?? ((text) => text),
      onError: (err) => logger.error({ err: err.message }, 'audit log unwritable; audit events are dropped'),
    })
    : undefined;
  const auditEntries = new WeakMap<FastifyRequest, AuditEntry>();
  const limiter = inflightLimiter(
    opts.maxRequestsInflight ?? DEFAULT_MAX_REQUESTS_INFLIGHT,
    opts.maxMutatingRequestsInflight ?? DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT,
  );
  const fairQueue = new FairQueue({
    seats: opts.fairQueueSeats ?? DEFAULT_FAIR_QUEUE_SEATS,
    queueLengthPerUser: opts.fairQueueLengthPerUser ?? DEFAULT_FAIR_QUEUE_LENGTH_PER_USER,
    maxWaitMs: opts.fairQueueMaxWaitMs ?? DEFAULT_FAIR_QUEUE_MAX_WAIT_MS,
  });

  const { trust, published } = authentication;
  const tlsOptions: ClientCertTlsOptions = { requestCert: authentication.requestCert, rejectUnauthorized: false };
  const initialCas = trust.tlsCas();
  if (initialCas.length > 0) tlsOptions.ca = initialCas;
  const readinessChecks: ReadinessCheck[] = published ? [{ name: PUBLISHED_AUTHENTICATION_CHECK, failure: () => published.failure() }] : [];

  const onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const started = process.hrtime.bigint();
    const info = parseRequestInfo(request.method, request.url);
    request.requestInfo = info;
    let release: (() => void) | undefined;
    const auditEntry = audit?.begin({
      info,
      method: request.method,
      requestUri: request.url,
      sourceIP: request.ip,
      userAgent: String(request.headers['user-agent'] ?? ''),
    });
    if (auditEntry) auditEntries.set(request, auditEntry);
    let closed = false;
    // Made only for a request that waits in the fair queue (system:masters' never do).
    let onGone: (() => void) | undefined;
    const gone = (): Promise<void> => (closed ? Promise.resolve() : new Promise<void>((resolve) => { onGone = resolve; }));
    reply.raw.once('close', () => {
      closed = true;
      onGone?.();
      release?.();
      const body: unknown = request.body;
      auditEntry?.complete({
        code: reply.raw.statusCode,
        latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
        requestBody: Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : undefined,
      });
    });

    const health = !info.isResourceRequest && isHealthPath(info.path);
    let user: UserInfo;
    let verdict;
    try {
      verdict = await authenticateRequest(authentication.authenticators, credentialSource(request), anonymousAllowed);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'authentication failed unexpectedly');
      verdict = { kind: 'failed' as const, reasons: ['internal error'] };
    }
    stripCredentials(request, trust.current().requestHeader, verdict.kind === 'user');
    if (verdict.kind === 'user') {
      user = verdict.user;
    } else if (health) {
      user = anonymousUser();
    } else if (verdict.kind === 'anonymous' && isAnonymousPath(info)) {
      user = verdict.user;
    } else {
      if (verdict.kind === 'failed' && verdict.reasons.length > 0) logger.debug({ reasons: verdict.reasons, path: info.path }, 'unauthorized');
      return send(reply, unauthorizedStatus());
    }
    request.user = user;
    auditEntry?.identify(user);
    if (health) {
      auditEntry?.received();
      return undefined;
    }

    // Impersonation (kubectl --as): authorized against the real user, then the request continues as the target.
    const impersonationHeaders = impersonationHeaderNames(request.raw.headers);
    // Without Impersonate-* headers there is nothing to impersonate (and no header map to build for it).
    const impersonation = impersonationHeaders.length === 0
      ? { kind: 'none' as const }
      : await impersonate(user, headersDistinct(request), authorizer);
    for (const name of impersonationHeaders) {
      delete request.raw.headers[name];
      delete request.headers[name];
    }
    switch (impersonation.kind) {
      case 'bad-request':
        return send(reply, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 400, reason: 'BadRequest', message: impersonation.message });
      case 'forbidden':
        return send(reply, forbiddenStatus(user.name, impersonation.info, impersonation.reason));
      case 'error':
        logger.error({ err: impersonation.message }, 'impersonation authorization failed');
        return send(reply, internalErrorStatus(impersonation.message));
      case 'impersonated':
        auditEntry?.identify(user, impersonation.user);
        user = impersonation.user;
        request.user = user;
        break;
      case 'none':
        break;
    }
    auditEntry?.received();

    if (!isLongRunning(info) && !user.groups.includes(PRIVILEGED_GROUP)) {
      release = limiter.tryAcquire(!READ_ONLY_VERBS.has(info.verb));
      if (!release) {
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        return send(reply, tooManyRequestsStatus(RETRY_AFTER_SECONDS));
      }
      // The client may have gone while authentication awaited (TokenReview): never keep a slot nobody will free.
      if (closed) release();
      // Admitted: now wait for a seat, in this user's queue (fair-queue.ts).
      const seat = await fairQueue.acquire(user.name, gone());
      if (typeof seat !== 'function') {
        release();
        if (reply.sent) return reply; // cancelled: the client went away, or the request timed out (504 sent)
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        return send(reply, tooManyRequestsStatus(RETRY_AFTER_SECONDS, seat === 'queue-full'
          ? `too many requests of user ${JSON.stringify(user.name)} waiting, please try again later`
          : 'the request waited too long for its turn, please try again later'));
      }
      const releaseAdmission = release;
      release = () => { seat(); releaseAdmission(); };
      if (closed) release();
    }

    const result = await authorizer.authorize(user, info);
    if (result.decision === 'allow') return undefined;
    if (result.error && result.decision === 'no-opinion') {
      logger.error({ err: result.error }, 'authorization failed');
      return send(reply, internalErrorStatus(result.error));
    }
    return send(reply, forbiddenStatus(user.name, info, result.reason));
  };

  const layer: SecurityLayer = {
    tlsOptions,
    register(app: FastifyInstance) {
      if (!app.hasRequestDecorator('user')) app.decorateRequest('user', undefined);
      if (!app.hasRequestDecorator('requestInfo')) app.decorateRequest('requestInfo', undefined);
      app.addHook('onRequest', onRequest);
      if (audit) {
        // The response body, for RequestResponse levels and error Statuses (not streams: watches are not recorded).
        app.addHook('onSend', async (request, reply, payload) => {
          const entry = auditEntries.get(request);
          if (entry && (typeof payload === 'string' || Buffer.isBuffer(payload)) && entry.wantsResponseBody(reply.statusCode)) entry.response(payload);
          return payload;
        });
      }
    },
    onCaChange(listener) {
      trust.onChange(() => {
        const cas = trust.tlsCas();
        listener(cas.length > 0 ? cas : undefined);
      });
    },
    readinessChecks,
    async close() {
      published?.stop();
      trust.stop();
      await audit?.close();
    },
  };
  logger.info(
    {
      authenticators: authentication.authenticators.length,
      anonymous: anonymousAllowed,
      frontProxy: Boolean(trust.current().requestHeader),
      publishedAuthentication: published ? (published.failure() ?? 'loaded') : 'not used',
      audit: audit ? (auditPolicy ? 'policy' : 'flat') : 'off',
    },
    'security layer ready',
  );
  return layer;
};

export { ANONYMOUS_USER };
