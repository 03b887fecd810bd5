// Authentication: who is asking. Tries, in kube-apiserver's order, the front proxy (request headers vouched for by
// a front-proxy client certificate), client certificates, then bearer tokens (static file, then TokenReview); the
// first that recognises the request wins. Credentials that were presented but are wrong fail the request even when
// anonymous access is on (kube's FailOnError union), so a typo in a token never silently downgrades to anonymous.
import type { IncomingHttpHeaders } from 'node:http';
import type { X509Certificate } from 'node:crypto';
import type { StaticTokens } from './token-file';
import type { UserInfo } from './types';
import { subjectIdentity, verifyClientChainCached } from './x509';

export const ANONYMOUS_USER = 'system:anonymous';
export const UNAUTHENTICATED_GROUP = 'system:unauthenticated';
export const AUTHENTICATED_GROUP = 'system:authenticated';

/** What an authenticator sees of a request. `headersDistinct` keeps repeated headers apart (one group each). */
export interface CredentialSource {
  headers: IncomingHttpHeaders;
  headersDistinct: Record<string, string[] | undefined>;
  /** Presented client certificates, leaf first. */
  peerCertificates: X509Certificate[];
  /** The connection the request came on (the same object for every request of it), when known. */
  connection?: object;
}

/** A user, an error (credentials presented but not valid), or null (no credentials of this kind). */
export type AuthenticationOutcome = { user: UserInfo } | { error: string } | null;

export interface Authenticator {
  authenticate(source: CredentialSource): Promise<AuthenticationOutcome>;
}

export interface RequestHeaderConfig {
  caCertificates: X509Certificate[];
  /** Allowed client-certificate CNs; empty allows any certificate signed by the CA. */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

export const DEFAULT_USERNAME_HEADERS = ['X-Remote-User'];
export const DEFAULT_UID_HEADERS = ['X-Remote-Uid'];
export const DEFAULT_GROUP_HEADERS = ['X-Remote-Group'];
export const DEFAULT_EXTRA_HEADER_PREFIXES = ['X-Remote-Extra-'];

function valuesOf(source: CredentialSource, headerNames: string[]): string[] {
  const values: string[] = [];
  for (const name of headerNames) {
    for (const value of source.headersDistinct[name.toLowerCase()] ?? []) if (value !== '') values.push(value);
  }
  return values;
}

/** Extra keys travel percent-encoded in header names (kube's unescapeExtraKey) and are compared lower-case. */
function unescapeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded).toLowerCase();
  } catch {
    return encoded.toLowerCase();
  }
}

/** Names of every header the front-proxy authenticator reads, which must never reach the handlers. */
export function identityHeaderNames(config: IdentityHeaderConfig, headers: IncomingHttpHeaders): string[] {
  let lowered = loweredIdentityHeaders.get(config);
  if (!lowered) {
    lowered = {
      exact: new Set([...config.usernameHeaders, ...config.uidHeaders, ...config.groupHeaders].map((h) => h.toLowerCase())),
      prefixes: config.extraHeaderPrefixes.map((p) => p.toLowerCase()),
    };
    loweredIdentityHeaders.set(config, lowered);
  }
  const { exact, prefixes } = lowered;
  const names: string[] = [];
  for (const name in headers) {
    if (exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) names.push(name);
  }
  return names;
}

type IdentityHeaderConfig = Pick<RequestHeaderConfig, 'usernameHeaders' | 'uidHeaders' | 'groupHeaders' | 'extraHeaderPrefixes'>;

/** The lower-cased names of a configuration, made once per configuration (it is asked on every request). */
const loweredIdentityHeaders = new WeakMap<IdentityHeaderConfig, { exact: Set<string>; prefixes: string[] }>();

/** The settings in force now: fixed, or read per request from a source that reloads them (auth/trust.ts). */
export type Current<T> = T | (() => T | undefined);

function currentOf<T>(value: Current<T>): T | undefined {
  return typeof value === 'function' ? (value as () => T | undefined)() : value;
}

/** `--requestheader-*`: identity from headers, trusted only behind a verified, allowed front-proxy certificate. */
export function requestHeaderAuthenticator(current: Current<RequestHeaderConfig>): Authenticator {
  return {
    async authenticate(source) {
      const config = currentOf(current);
      if (!config || source.peerCertificates.length === 0) return null;
      const verdict = verifyClientChainCached(source.peerCertificates, config.caCertificates);
      if (!verdict.ok) return { error: `front proxy: ${verdict.error}` };
      const { commonName } = subjectIdentity(source.peerCertificates[0]);
      if (config.allowedNames.length > 0 && !config.allowedNames.includes(commonName)) {
        return { error: `front proxy: x509: subject with cn=${commonName} is not in the allowed list` };
      }
      const name = valuesOf(source, config.usernameHeaders)[0];
      // A front-proxy certificate without identity headers is no opinion: the proxy may authenticate as itself.
      if (!name) return null;
      const user: UserInfo = { name, groups: valuesOf(source, config.groupHeaders) };
      const uid = valuesOf(source, config.uidHeaders)[0];
      if (uid) user.uid = uid;
      const extra: Record<string, string[]> = {};
      for (const prefix of config.extraHeaderPrefixes.map((p) => p.toLowerCase())) {
        for (const [header, values] of Object.entries(source.headersDistinct)) {
          if (!header.startsWith(prefix) || header.length === prefix.length || !values) continue;
          const key = unescapeExtraKey(header.slice(prefix.length));
          extra[key] = [...(extra[key] ?? []), ...values];
        }
      }
      if (Object.keys(extra).length > 0) user.extra = extra;
      return { user };
    },
  };
}

/** `--client-ca-file`: CN is the user, each O a group. */
export function clientCertificateAuthenticator(current: Current<X509Certificate[]>): Authenticator {
  return {
    async authenticate(source) {
      const caCertificates = currentOf(current);
      if (!caCertificates || source.peerCertificates.length === 0) return null;
      const verdict = verifyClientChainCached(source.peerCertificates, caCertificates);
      if (!verdict.ok) return { error: `client certificate: ${verdict.error}` };
      const { commonName, organizations } = subjectIdentity(source.peerCertificates[0]);
      if (!commonName) return null;
      return { user: { name: commonName, groups: organizations } };
    },
  };
}

export interface TokenChecker {
  authenticate(token: string): Promise<{ user: UserInfo } | { error: string }>;
}

/** The bearer token of `Authorization: Bearer <token>`, if any. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

/** Bearer tokens: the static file first, then TokenReview; a token neither knows is an error. */
export function bearerTokenAuthenticator(staticTokens: StaticTokens | undefined, tokenReview: TokenChecker | undefined): Authenticator {
  return {
    async authenticate(source) {
      const token = bearerToken(source.headers);
      if (!token) return null;
      const fromFile = staticTokens?.lookupOnConnection(token, source.connection);
      if (fromFile) return { user: { ...fromFile, groups: [...fromFile.groups] } };
      if (tokenReview) return tokenReview.authenticate(token);
      return { error: 'invalid bearer token' };
    },
  };
}

export type AuthenticationVerdict =
  | { kind: 'user'; user: UserInfo }
  | { kind: 'anonymous'; user: UserInfo }
  | { kind: 'failed'; reasons: string[] };

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.name === ANONYMOUS_USER || user.groups.includes(AUTHENTICATED_GROUP)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

export function anonymousUser(): UserInfo {
  return { name: ANONYMOUS_USER, groups: [UNAUTHENTICATED_GROUP] };
}

/** Runs the authenticators in order; see the file comment for the rules. */
export async function authenticateRequest(
  authenticators: Authenticator[],
  source: CredentialSource,
  anonymousAllowed: boolean,
): Promise<AuthenticationVerdict> {
  const reasons: string[] = [];
  for (const authenticator of authenticators) {
    const outcome = await authenticator.authenticate(source);
    if (!outcome) continue;
    if ('user' in outcome) return { kind: 'user', user: withAuthenticatedGroup(outcome.user) };
    reasons.push(outcome.error);
  }
  if (reasons.length === 0 && anonymousAllowed) return { kind: 'anonymous', user: anonymousUser() };
  return { kind: 'failed', reasons };
}
