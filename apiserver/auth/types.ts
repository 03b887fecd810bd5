// The seam between the API server's request pipeline (apiserver/server, owned by the core) and its security
// layer (apiserver/auth): authentication -> authorization -> audit, plus in-flight limits.
// The core calls `registerSecurity` once while building the fastify app; security decorates every request with
// `request.user` and `request.requestInfo` and answers 401/403/429 with Kubernetes Status bodies itself.

import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What a request asks to do, in Kubernetes' terms (k8s.io/apiserver RequestInfo). */
export interface RequestInfo {
  isResourceRequest: boolean;
  /** Non-resource requests: the URL path. */
  path: string;
  /** get, list, watch, create, update, patch, delete, deletecollection (resource requests); the lower-case HTTP
   *  method for non-resource requests. */
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

export interface SecurityOptions {
  /** kube-apiserver's static token CSV: token,user,uid,"group1,group2". */
  tokenAuthFile?: string;
  /** Client certificates: CN = user, O = groups. */
  clientCaFile?: string;
  /** Delegated bearer-token authentication (TokenReview) through this kubeconfig. */
  authenticationKubeconfig?: string;
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames?: string[];
  requestheaderUsernameHeaders?: string[];
  requestheaderGroupHeaders?: string[];
  requestheaderExtraHeadersPrefix?: string[];
  anonymousAuth?: boolean;
  /** AlwaysAllow, RBAC, Webhook (in order; first decision wins), like kube-apiserver. Default AlwaysAllow. */
  authorizationMode?: string[];
  authorizationPolicyFile?: string;
  authorizationKubeconfig?: string;
  auditLogPath?: string;
  /** audit.k8s.io/v1 Policy: with it the log holds audit Events at the levels it picks; without, flat lines. */
  auditPolicyFile?: string;
  /** How often CA files are checked for changes (default 3 s). */
  fileReloadIntervalMs?: number;
  /** Timing of the extension-apiserver-authentication ConfigMap reads (defaults: kube's one-minute refresh). */
  publishedAuthenticationTiming?: {
    refreshMs?: number;
    initialBackoffMs?: number;
    maxBackoffMs?: number;
    firstReadWaitMs?: number;
  };
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  /** Requests served at once, shared fairly between users (fair-queue.ts); 0 = unlimited. Default 32. */
  fairQueueSeats?: number;
  /** Requests one user may have waiting for a seat; more are 429. Default 50. */
  fairQueueLengthPerUser?: number;
  /** Longest wait for a seat before a 429. Default 15 s (a quarter of the 60 s request timeout, as in APF). */
  fairQueueMaxWaitMs?: number;
}

/** TLS settings the HTTPS server must merge in so client certificates are requested and can be verified. */
export interface ClientCertTlsOptions {
  requestCert: boolean;
  rejectUnauthorized: false;
  ca?: string[];
}

/** A named condition of `/readyz` (`[-]<name> failed: ...`). */
export interface ReadinessCheck {
  name: string;
  /** Undefined when ready; else why not (logged, not shown to clients). */
  failure(): string | undefined;
}

export interface SecurityLayer {
  /** The options at startup; `ca` changes later as CA files and the published ConfigMap change (`onCaChange`). */
  tlsOptions: ClientCertTlsOptions;
  /** Called with the CAs to advertise for client certificates whenever they change (new TLS connections use them). */
  onCaChange(listener: (ca: string[] | undefined) => void): void;
  /** Conditions `/readyz` must include (e.g. the published authentication ConfigMap, once delegation is configured). */
  readinessChecks: ReadinessCheck[];
  /** Adds the onRequest hooks (authn, request info, authz, in-flight limits) and the audit onResponse hook. */
  register(app: FastifyInstance): void;
  close(): Promise<void>;
}

export interface SecurityDeps {
  logger: Logger;
  /**
   * Removes credentials from text written to the audit log (user info of broker URLs in request and response
   * objects). Given by the core, which knows the API's addresses; defaults to the identity.
   */
  redactAuditText?: (text: string) => string;
}

export type BuildSecurity = (opts: SecurityOptions, deps: SecurityDeps) => Promise<SecurityLayer>;

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserInfo;
    requestInfo?: RequestInfo;
  }
}
