// The audit log (`--audit-log-path`) without a policy file: one flat JSON line per request once its response is
// complete (or the client went away): who, what, on which object, the outcome and how long it took. Never bodies,
// never credentials: only the fields below are written, and the request URI has credential-like query parameters
// masked. With `--audit-policy-file`, audit.k8s.io/v1 Events are written instead (audit-log.ts, audit-event.ts).
import { createWriteStream, type WriteStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { RequestInfo, UserInfo } from './types';

export interface AuditEvent {
  timestamp: string;
  auditID: string;
  user: string;
  uid?: string;
  groups: string[];
  /** The authenticated user when the request impersonated `user` (kubectl --as). */
  impersonatedBy?: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  requestURI: string;
  code: number;
  latencyMs: number;
  sourceIP: string;
  userAgent: string;
}

const SECRET_QUERY_PARAMETERS = /^(access_token|token|password|secret)$/i;

/** The URI with the values of credential-like query parameters replaced (kubectl never sends any; browsers might). */
export function redactRequestUri(uri: string): string {
  const queryStart = uri.indexOf('?');
  if (queryStart < 0) return uri;
  const params = uri.slice(queryStart + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const key = eq >= 0 ? pair.slice(0, eq) : pair;
    let decodedKey = key;
    try {
      decodedKey = decodeURIComponent(key);
    } catch {
      // keep it as sent
    }
    return eq >= 0 && SECRET_QUERY_PARAMETERS.test(decodedKey) ? `${key}=REDACTED` : pair;
  });
  return `${uri.slice(0, queryStart)}?${params.join('&')}`;
}

export interface AuditRecord {
  user: UserInfo | undefined;
  impersonatedBy?: string | undefined;
  info: RequestInfo | undefined;
  method: string;
  requestUri: string;
  code: number;
  latencyMs: number;
  sourceIP: string;
  userAgent: string;
}

export function auditEvent(record: AuditRecord, now = new Date()): AuditEvent {
  const info = record.info;
  const event: AuditEvent = {
    timestamp: now.toISOString(),
    auditID: randomUUID(),
    user: record.user?.name ?? '',
    groups: record.user?.groups ?? [],
    verb: info?.verb ?? record.method.toLowerCase(),
    apiGroup: info?.apiGroup ?? '',
    apiVersion: info?.apiVersion ?? '',
    resource: info?.resource ?? '',
    subresource: info?.subresource ?? '',
    namespace: info?.namespace ?? '',
    name: info?.name ?? '',
    requestURI: redactRequestUri(record.requestUri),
    code: record.code,
    latencyMs: Math.round(record.latencyMs * 1000) / 1000,
    sourceIP: record.sourceIP,
    userAgent: record.userAgent,
  };
  if (record.user?.uid) event.uid = record.user.uid;
  if (record.impersonatedBy) event.impersonatedBy = record.impersonatedBy;
  return event;
}

export interface AuditSink {
  write(record: AuditRecord): void;
  close(): Promise<void>;
}

/** JSON lines appended to a file, or standard output for `-` (like kube-apiserver's `--audit-log-path`). */
export interface JsonLineWriter {
  write(value: unknown): void;
  close(): Promise<void>;
}

export function jsonLineWriter(path: string, onError?: (err: Error) => void): JsonLineWriter {
  const file: WriteStream | undefined = path === '-' ? undefined : createWriteStream(path, { flags: 'a', mode: 0o600 });
  let failed = false;
  // An unwritable audit log must not take the server down: after an error, events are dropped (and reported once).
  file?.on('error', (err) => {
    if (!failed) onError?.(err);
    failed = true;
  });
  return {
    write(value) {
      if (failed) return;
      const line = `${JSON.stringify(value)}\n`;
      if (file) file.write(line);
      else process.stdout.write(line);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!file || failed || file.closed) return resolve();
        file.end(() => resolve());
      }),
  };
}

/** The flat lines written without `--audit-policy-file` (every request, Metadata-like: no bodies). */
export function fileAuditSink(path: string, onError?: (err: Error) => void): AuditSink {
  const writer = jsonLineWriter(path, onError);
  return {
    write: (record) => writer.write(auditEvent(record)),
    close: () => writer.close(),
  };
}
