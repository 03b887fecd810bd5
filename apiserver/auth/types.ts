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

export interface SecurityLayer {
  tlsOptions: ClientCertTlsOptions;
  /** Adds the onRequest hooks (authn, request info, authz, in-flight limits) and the audit onResponse hook. */
  register(app: FastifyInstance): void;
  close(): Promise<void>;
}

export type BuildSecurity = (opts: SecurityOptions, deps: { logger: Logger }) => Promise<SecurityLayer>;

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserInfo;
    requestInfo?: RequestInfo;
  }
}
