// Impersonation (`kubectl --as=bob --as-group=dev`): like kube-apiserver's WithImpersonation filter, a request may
// act as another user when its real user is authorized to `impersonate` that user (or service account), each group,
// uid and extra; the request then runs with the impersonated identity. Without this, `--as` would be silently ignored
// and an administrator testing someone's permissions would see their own.
import type { IncomingHttpHeaders } from 'node:http';
import type { Authorizer } from './authorizer';
import { AUTHENTICATED_GROUP, ANONYMOUS_USER } from './authenticator';
import type { RequestInfo, UserInfo } from './types';

const USER_HEADER = 'impersonate-user';
const UID_HEADER = 'impersonate-uid';
const GROUP_HEADER = 'impersonate-group';
const EXTRA_PREFIX = 'impersonate-extra-';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export type ImpersonationOutcome =
  | { kind: 'none' }
  | { kind: 'impersonated'; user: UserInfo }
  | { kind: 'bad-request'; message: string }
  | { kind: 'forbidden'; info: RequestInfo; reason: string }
  | { kind: 'error'; message: string };

/** Names of the impersonation headers present (to strip them). */
export function impersonationHeaderNames(headers: IncomingHttpHeaders): string[] {
  return Object.keys(headers).filter((name) => name === USER_HEADER || name === UID_HEADER || name === GROUP_HEADER || name.startsWith(EXTRA_PREFIX));
}

function clusterRequest(verb: string, apiGroup: string, resource: string, name: string, namespace = '', subresource = ''): RequestInfo {
  const path = `/apis/${apiGroup || 'core'}/${resource}/${name}`;
  return { isResourceRequest: true, path, verb, apiGroup, apiVersion: 'v1', namespace, resource, subresource, name };
}

/** The authorization checks impersonating `target` needs, in kube's order. */
function checksFor(name: string, uid: string | undefined, groups: string[], extra: Record<string, string[]>): RequestInfo[] {
  const checks: RequestInfo[] = [];
  if (name.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const [namespace, account] = name.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
    checks.push(clusterRequest('impersonate', '', 'serviceaccounts', account ?? '', namespace ?? ''));
  } else {
    checks.push(clusterRequest('impersonate', '', 'users', name));
  }
  for (const group of groups) checks.push(clusterRequest('impersonate', '', 'groups', group));
  if (uid !== undefined) checks.push(clusterRequest('impersonate', 'authentication.k8s.io', 'uids', uid));
  for (const [key, values] of Object.entries(extra)) {
    for (const value of values) checks.push(clusterRequest('impersonate', 'authentication.k8s.io', 'userextras', value, '', key));
  }
  return checks;
}

/** Applies `Impersonate-*` headers: authorizes each and returns the identity to continue with. */
export async function impersonate(
  requester: UserInfo,
  headersDistinct: Record<string, string[] | undefined>,
  authorizer: Authorizer,
): Promise<ImpersonationOutcome> {
  const first = (name: string): string | undefined => headersDistinct[name]?.find((value) => value !== '');
  const name = first(USER_HEADER);
  const uid = first(UID_HEADER);
  const groups = (headersDistinct[GROUP_HEADER] ?? []).filter((group) => group !== '');
  const extra: Record<string, string[]> = {};
  for (const [header, values] of Object.entries(headersDistinct)) {
    if (!header.startsWith(EXTRA_PREFIX) || !values || header.length === EXTRA_PREFIX.length) continue;
    let key = header.slice(EXTRA_PREFIX.length);
    try {
      key = decodeURIComponent(key);
    } catch {
      // keep it as sent
    }
    extra[key.toLowerCase()] = [...(extra[key.toLowerCase()] ?? []), ...values];
  }
  if (name === undefined) {
    if (groups.length > 0 || uid !== undefined || Object.keys(extra).length > 0) {
      return { kind: 'bad-request', message: 'requested impersonation of groups, uid or extra without impersonating a user' };
    }
    return { kind: 'none' };
  }

  for (const check of checksFor(name, uid, groups, extra)) {
    const result = await authorizer.authorize(requester, check);
    if (result.decision === 'allow') continue;
    if (result.error && result.decision === 'no-opinion') return { kind: 'error', message: result.error };
    return { kind: 'forbidden', info: check, reason: result.reason };
  }

  // The identity kube-apiserver builds: service accounts get their groups; everyone but anonymous is authenticated.
  const effectiveGroups = [...groups];
  if (name.startsWith(SERVICE_ACCOUNT_PREFIX) && groups.length === 0) {
    const namespace = name.slice(SERVICE_ACCOUNT_PREFIX.length).split(':')[0];
    effectiveGroups.push('system:serviceaccounts', `system:serviceaccounts:${namespace}`);
  }
  if (name !== ANONYMOUS_USER && !effectiveGroups.includes(AUTHENTICATED_GROUP)) effectiveGroups.push(AUTHENTICATED_GROUP);
  const user: UserInfo = { name, groups: effectiveGroups };
  if (uid !== undefined) user.uid = uid;
  if (Object.keys(extra).length > 0) user.extra = extra;
  return { kind: 'impersonated', user };
}
