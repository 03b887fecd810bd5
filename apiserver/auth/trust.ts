// What certificate authentication trusts, kept current: the client CA and the front-proxy CA with its settings,
// each from its flag's file (re-read when the file changes) or, for what the flags leave out, from the ConfigMap
// kube-apiserver publishes (re-read every minute). Authenticators read `current()` on every request, so a rotated
// CA applies to the next request; listeners (the TLS server's advertised CA list) hear of every change.
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DEFAULT_EXTRA_HEADER_PREFIXES,
  DEFAULT_GROUP_HEADERS,
  DEFAULT_UID_HEADERS,
  DEFAULT_USERNAME_HEADERS,
  type RequestHeaderConfig,
} from './authenticator';
import type { PublishedAuthentication } from './delegation';
import { watchFiles, type FileWatch } from './file-watch';
import { loadCaBundle, parsePemBundle } from './x509';

export interface TrustedAuthorities {
  clientCas?: X509Certificate[];
  requestHeader?: RequestHeaderConfig;
}

export interface TrustFlags {
  clientCaFile?: string;
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames?: string[];
  requestheaderUsernameHeaders?: string[];
  requestheaderGroupHeaders?: string[];
  requestheaderExtraHeadersPrefix?: string[];
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
  const items = (list ?? []).filter((item) => item !== '');
  return items.length > 0 ? items : undefined;
}

export class AuthenticationTrust {
  private fileClientCas: X509Certificate[] | undefined;
  private fileRequestHeaderCas: X509Certificate[] | undefined;
  private publishedClientCas: X509Certificate[] | undefined;
  private publishedRequestHeaderCas: X509Certificate[] | undefined;
  private published: PublishedAuthentication = {};
  private snapshot: TrustedAuthorities = {};
  private readonly listeners: Array<(trust: TrustedAuthorities) => void> = [];
  private readonly watches: FileWatch[] = [];

  /** Loads the flag files (throws with the flag's name when one is unreadable or malformed) and starts watching them. */
  constructor(private readonly flags: TrustFlags, logger: Logger, pollMs?: number) {
    const watch = (path: string, flag: string, set: (cas: X509Certificate[]) => void): void => {
      const loaded = loadCaBundle(path, flag);
      set(loaded.certificates);
      this.watches.push(watchFiles([path], [loaded.pem], {
        intervalMs: pollMs,
        apply: ([pem]) => {
          set(parsePemBundle(pem, `${flag} ${path}`));
          this.recompute();
          logger.info({ flag, path }, 'reloaded a CA bundle');
        },
        onError: (message) => logger.error({ flag, path, err: message }, 'CA bundle not reloaded; the previous one stays in force'),
      }));
    };
    if (flags.clientCaFile) watch(flags.clientCaFile, '--client-ca-file', (cas) => { this.fileClientCas = cas; });
    if (flags.requestheaderClientCaFile) watch(flags.requestheaderClientCaFile, '--requestheader-client-ca-file', (cas) => { this.fileRequestHeaderCas = cas; });
    this.recompute();
  }

  /** True when the flags give both CAs, so nothing is needed from the published ConfigMap. */
  get complete(): boolean {
    return Boolean(this.flags.clientCaFile && this.flags.requestheaderClientCaFile);
  }

  current(): TrustedAuthorities {
    return this.snapshot;
  }

  /** PEM CAs the TLS server advertises when asking for client certificates. */
  tlsCas(): string[] {
    const { clientCas, requestHeader } = this.snapshot;
    return [...(requestHeader?.caCertificates ?? []), ...(clientCas ?? [])].map((cert) => cert.toString());
  }

  onChange(listener: (trust: TrustedAuthorities) => void): void {
    this.listeners.push(listener);
  }

  /** New published settings; throws (keeping the old) when a CA in them does not parse. */
  applyPublished(published: PublishedAuthentication): void {
    const clientCas = published.clientCa ? parsePemBundle(published.clientCa, 'extension-apiserver-authentication client-ca-file') : undefined;
    const requestHeaderCas = published.requestheaderClientCa
      ? parsePemBundle(published.requestheaderClientCa, 'extension-apiserver-authentication requestheader-client-ca-file')
      : undefined;
    this.publishedClientCas = clientCas;
    this.publishedRequestHeaderCas = requestHeaderCas;
    this.published = published;
    this.recompute();
  }

  stop(): void {
    for (const watch of this.watches) watch.stop();
  }

  private recompute(): void {
    const flags = this.flags;
    const published = this.published;
    const clientCas = this.fileClientCas ?? this.publishedClientCas;
    const requestHeaderCas = this.fileRequestHeaderCas ?? this.publishedRequestHeaderCas;
    const next: TrustedAuthorities = {};
    if (clientCas) next.clientCas = clientCas;
    if (requestHeaderCas) {
      next.requestHeader = {
        caCertificates: requestHeaderCas,
        allowedNames: nonEmpty(flags.requestheaderAllowedNames) ?? nonEmpty(published.requestheaderAllowedNames) ?? [],
        usernameHeaders: nonEmpty(flags.requestheaderUsernameHeaders) ?? nonEmpty(published.requestheaderUsernameHeaders) ?? DEFAULT_USERNAME_HEADERS,
        uidHeaders: DEFAULT_UID_HEADERS,
        groupHeaders: nonEmpty(flags.requestheaderGroupHeaders) ?? nonEmpty(published.requestheaderGroupHeaders) ?? DEFAULT_GROUP_HEADERS,
        extraHeaderPrefixes: nonEmpty(flags.requestheaderExtraHeadersPrefix) ?? nonEmpty(published.requestheaderExtraHeadersPrefix) ?? DEFAULT_EXTRA_HEADER_PREFIXES,
      };
    }
    this.snapshot = next;
    for (const listener of this.listeners) listener(next);
  }
}
