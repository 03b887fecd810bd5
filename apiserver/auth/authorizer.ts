// Authorization: `--authorization-mode` is an ordered list of authorizers; the first one with an opinion (allow or
// deny) decides, and when none has one the request is denied (k8s union authorizer). `system:masters` is always
// allowed, before any mode is asked.
import { RbacAuthorizer } from './rbac';
import type { RequestInfo, UserInfo } from './types';

export type Decision = 'allow' | 'deny' | 'no-opinion';

export interface AuthorizationResult {
  decision: Decision;
  /** Why, when an authorizer said so (appended to the 403 message like kube-apiserver does). */
  reason: string;
  /** Set when an authorizer could not decide (kube-apiserver then answers 500, not 403). */
  error?: string;
}

export interface Authorizer {
  authorize(user: UserInfo, info: RequestInfo): Promise<AuthorizationResult>;
}

export const PRIVILEGED_GROUP = 'system:masters';

export const AUTHORIZATION_MODES = ['AlwaysAllow', 'AlwaysDeny', 'RBAC', 'Webhook'] as const;
export type AuthorizationMode = (typeof AUTHORIZATION_MODES)[number];

export function isAuthorizationMode(mode: string): mode is AuthorizationMode {
  return (AUTHORIZATION_MODES as readonly string[]).includes(mode);
}

export const alwaysAllow: Authorizer = { authorize: async () => ({ decision: 'allow', reason: '' }) };
export const alwaysDeny: Authorizer = { authorize: async () => ({ decision: 'deny', reason: 'Everything is forbidden.' }) };

/** RBAC never denies; it allows or has no opinion, leaving the next mode to decide. */
export function rbacAuthorizer(rbac: RbacAuthorizer): Authorizer {
  return {
    authorize: async (user, info) => ({ decision: rbac.allows(user, info) ? 'allow' : 'no-opinion', reason: '' }),
  };
}

export function unionAuthorizer(authorizers: Authorizer[]): Authorizer {
  return {
    async authorize(user, info) {
      if (user.groups.includes(PRIVILEGED_GROUP)) return { decision: 'allow', reason: '' };
      const reasons: string[] = [];
      const errors: string[] = [];
      for (const authorizer of authorizers) {
        const result = await authorizer.authorize(user, info);
        if (result.decision !== 'no-opinion') return result;
        if (result.reason) reasons.push(result.reason);
        if (result.error) errors.push(result.error);
      }
      const outcome: AuthorizationResult = { decision: 'no-opinion', reason: reasons.join('\n') };
      if (errors.length > 0) outcome.error = errors.join('; ');
      return outcome;
    },
  };
}
