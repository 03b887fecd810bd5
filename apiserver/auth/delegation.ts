// Delegation to kube-apiserver, as every aggregated API server does: bearer tokens are checked with TokenReview,
// authorization questions asked with SubjectAccessReview. Both answers are cached briefly (10 s, like
// kube-apiserver's --authentication-token-webhook-cache-ttl / --authorization-webhook-cache-*-ttl for delegation).
// @kubernetes/client-node is loaded only when delegation is configured: it is large and ESM.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig, V1SubjectAccessReviewSpec } from '@kubernetes/client-node';
import type { AuthorizationResult, Authorizer } from './authorizer';
import { TtlCache } from './ttl-cache';
import type { RequestInfo, UserInfo } from './types';

export const DELEGATION_CACHE_TTL_MS = 10_000;

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** True inside a pod with a service account (how kube's delegating options decide to use in-cluster config). */
export function runningInCluster(): boolean {
  return Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync(IN_CLUSTER_TOKEN);
}

/**
 * The kubeconfig at `path`; else, when `inClusterAllowed` and running in a pod, the pod's own service account; else
 * undefined. In-cluster delegation is only allowed when the operator chose delegated authorization
 * (`--authorization-mode` with Webhook): a standalone `sr apiserver` that happens to run in a pod (CI) must not start
 * trusting the surrounding cluster's tokens and client CA.
 */
export async function loadKubeConfig(path: string | undefined, inClusterAllowed: boolean): Promise<KubeConfig | undefined> {
  if (!path && !(inClusterAllowed && runningInCluster())) return undefined;
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (path) config.loadFromFile(path);
  else config.loadFromCluster();
  return config;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type TokenReviewOutcome = { user: UserInfo } | { error: string } | null;

/** Authenticates bearer tokens through kube-apiserver's TokenReview API. */
export class TokenReviewAuthenticator {
  private readonly cache = new TtlCache<{ user: UserInfo } | { error: string }>(DELEGATION_CACHE_TTL_MS);

  private constructor(private readonly api: AuthenticationV1Api) {}

  static async create(config: KubeConfig): Promise<TokenReviewAuthenticator> {
    const k8s = await import('@kubernetes/client-node');
    return new TokenReviewAuthenticator(config.makeApiClient(k8s.AuthenticationV1Api));
  }

  /** The user the token belongs to, an error for a rejected token, or null when kube-apiserver could not answer. */
  async authenticate(token: string): Promise<{ user: UserInfo } | { error: string }> {
    // Key by digest: raw tokens are never kept in memory longer than the request.
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached) return cached;
    let outcome: { user: UserInfo } | { error: string };
    try {
      const review = await this.api.createTokenReview({
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
      const status = review.status;
      if (status?.authenticated && status.user?.username) {
        const user: UserInfo = { name: status.user.username, groups: status.user.groups ?? [] };
        if (status.user.uid) user.uid = status.user.uid;
        if (status.user.extra && Object.keys(status.user.extra).length > 0) user.extra = status.user.extra;
        outcome = { user };
      } else {
        outcome = { error: status?.error || 'token rejected by TokenReview' };
      }
    } catch (err) {
      // Not cached: the next request retries once kube-apiserver is reachable again.
      return { error: `TokenReview failed: ${errorText(err)}` };
    }
    this.cache.set(key, outcome);
    return outcome;
  }
}

/** The SubjectAccessReview spec kube's webhook authorizer sends for a request. */
export function subjectAccessReviewSpec(user: UserInfo, info: RequestInfo): V1SubjectAccessReviewSpec {
  const spec: V1SubjectAccessReviewSpec = { user: user.name, groups: user.groups };
  if (user.uid) spec.uid = user.uid;
  if (user.extra) spec.extra = user.extra;
  if (info.isResourceRequest) {
    spec.resourceAttributes = {
      namespace: info.namespace,
      verb: info.verb,
      group: info.apiGroup,
      version: info.apiVersion,
      resource: info.resource,
      subresource: info.subresource,
      name: info.name,
    };
  } else {
    spec.nonResourceAttributes = { path: info.path, verb: info.verb };
  }
  return spec;
}

/** `--authorization-mode=Webhook`: asks kube-apiserver with SubjectAccessReview; caches allow and deny 10 s. */
export class WebhookAuthorizer implements Authorizer {
  private readonly cache = new TtlCache<AuthorizationResult>(DELEGATION_CACHE_TTL_MS);

  private constructor(private readonly api: AuthorizationV1Api) {}

  static async create(config: KubeConfig): Promise<WebhookAuthorizer> {
    const k8s = await import('@kubernetes/client-node');
    return new WebhookAuthorizer(config.makeApiClient(k8s.AuthorizationV1Api));
  }

  async authorize(user: UserInfo, info: RequestInfo): Promise<AuthorizationResult> {
    const spec = subjectAccessReviewSpec(user, info);
    const key = JSON.stringify(spec);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let result: AuthorizationResult;
    try {
      const review = await this.api.createSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
      });
      const status = review.status;
      const reason = status?.reason ?? '';
      if (status?.allowed) result = { decision: 'allow', reason };
      else if (status?.denied) result = { decision: 'deny', reason };
      else result = { decision: 'no-opinion', reason };
    } catch (err) {
      // Not cached; kube-apiserver answers 500 when an authorizer errs and nothing allowed the request.
      return { decision: 'no-opinion', reason: '', error: `SubjectAccessReview failed: ${errorText(err)}` };
    }
    this.cache.set(key, result);
    return result;
  }
}

/** The front-proxy and client-CA settings kube-apiserver publishes for aggregated servers. */
export interface PublishedAuthentication {
  clientCa?: string;
  requestheaderClientCa?: string;
  requestheaderAllowedNames?: string[];
  requestheaderUsernameHeaders?: string[];
  requestheaderGroupHeaders?: string[];
  requestheaderExtraHeadersPrefix?: string[];
}

function jsonStringList(text: string | undefined): string[] | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads ConfigMap kube-system/extension-apiserver-authentication (what the `extension-apiserver-authentication-reader`
 * Role allows), where kube-apiserver publishes its front-proxy CA, allowed names and header names. Throws when
 * kube-apiserver cannot answer (the caller retries: published-authentication.ts); a missing ConfigMap is empty.
 */
export async function readPublishedAuthentication(config: KubeConfig): Promise<PublishedAuthentication> {
  const k8s = await import('@kubernetes/client-node');
  const core: CoreV1Api = config.makeApiClient(k8s.CoreV1Api);
  let map;
  try {
    map = await core.readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
  } catch (err) {
    // Like kube's delegating authentication: a cluster that publishes nothing is an answer (no front proxy, no
    // client CA from it), not a failure to retry.
    if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404) return {};
    throw err;
  }
  const data = map.data ?? {};
  const published: PublishedAuthentication = {};
  if (data['client-ca-file']) published.clientCa = data['client-ca-file'];
  if (data['requestheader-client-ca-file']) published.requestheaderClientCa = data['requestheader-client-ca-file'];
  const lists: Array<[keyof PublishedAuthentication, string]> = [
    ['requestheaderAllowedNames', 'requestheader-allowed-names'],
    ['requestheaderUsernameHeaders', 'requestheader-username-headers'],
    ['requestheaderGroupHeaders', 'requestheader-group-headers'],
    ['requestheaderExtraHeadersPrefix', 'requestheader-extra-headers-prefix'],
  ];
  for (const [field, key] of lists) {
    const value = jsonStringList(data[key]);
    if (value) (published[field] as string[] | undefined) = value;
  }
  return published;
}
