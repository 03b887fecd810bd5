// audit.k8s.io/v1 Event lines, the format kube-apiserver's log backend writes (what audit tooling reads): one line
// per stage of a request (RequestReceived, ResponseComplete) at the level the policy chose. At Request and
// RequestResponse the request (and response) body is included as an object; credentials are never written: user
// info in URLs is removed from every string of those objects (the redactor comes from the server: ClusterStream
// `spec.storage.server.url`, Kafka lists too), credential-like query parameters of the URI are masked, headers are
// never written.
import type { AuditDecision, AuditLevel, AuditStage } from './audit-policy';
import { redactRequestUri } from './audit';
import type { RequestInfo, UserInfo } from './types';
import { parse as parseYaml } from 'yaml';

export interface AuditUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AuditObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

export interface AuditResponseStatus {
  metadata: Record<string, never>;
  code: number;
  status?: string;
  reason?: string;
  message?: string;
}

export interface AuditEventV1 {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: Exclude<AuditLevel, 'None'>;
  auditID: string;
  stage: AuditStage;
  requestURI: string;
  verb: string;
  user: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: AuditObjectReference;
  responseStatus?: AuditResponseStatus;
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** What is known of a request when one of its stages is written. */
export interface AuditedRequest {
  auditID: string;
  receivedAt: Date;
  info: RequestInfo;
  requestUri: string;
  /** The authenticated user (the one the policy was evaluated for); undefined when authentication failed. */
  user: UserInfo | undefined;
  /** The user the request acted as (kubectl --as). */
  impersonatedUser?: UserInfo;
  sourceIP: string;
  userAgent: string;
  code?: number;
  requestBody?: Buffer;
  responseBody?: string | Buffer;
}

/** Text redaction for credentials inside strings (e.g. `amqp://user:pass@host` -> `amqp://host`). */
export type RedactText = (text: string) => string;

/** kube's MicroTime: RFC 3339 with six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function auditUser(user: UserInfo | undefined): AuditUser {
  if (!user) return { username: '' };
  const out: AuditUser = { username: user.name };
  if (user.uid) out.uid = user.uid;
  if (user.groups.length > 0) out.groups = user.groups;
  if (user.extra && Object.keys(user.extra).length > 0) out.extra = user.extra;
  return out;
}

function objectRef(info: RequestInfo): AuditObjectReference | undefined {
  if (!info.isResourceRequest) return undefined;
  const ref: AuditObjectReference = {};
  if (info.resource) ref.resource = info.resource;
  if (info.namespace) ref.namespace = info.namespace;
  if (info.name) ref.name = info.name;
  if (info.apiGroup) ref.apiGroup = info.apiGroup;
  if (info.apiVersion) ref.apiVersion = info.apiVersion;
  if (info.subresource) ref.subresource = info.subresource;
  return ref;
}

/** Scheme-less user info in an address list (`user:pass@broker:9092,b:9092`), which free-text redaction cannot see. */
function redactAddressList(text: string): string {
  return text.split(',').map((part) => part.replace(/^(\s*(?:[a-z][a-z0-9+.-]*:\/\/)?)[^\s@/]*@/i, '$1')).join(',');
}

/** A deep copy of `value` with every string redacted, `url`s stripped of user info, metadata.managedFields dropped if asked. */
export function redactObject(value: unknown, redact: RedactText, omitManagedFields: boolean, key = ''): unknown {
  if (typeof value === 'string') return key === 'url' ? redactAddressList(redact(value)) : redact(value);
  if (Array.isArray(value)) return value.map((item) => redactObject(item, redact, omitManagedFields));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (omitManagedFields && key === 'metadata' && k === 'managedFields') continue;
      out[k] = redactObject(v, redact, omitManagedFields, k);
    }
    return out;
  }
  return value;
}

/** A request or response body as an object: JSON or YAML (server-side apply); undefined when it is neither. */
export function bodyObject(body: string | Buffer | undefined): unknown {
  if (body === undefined || body.length === 0) return undefined;
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    try {
      const value: unknown = parseYaml(text);
      return typeof value === 'object' && value !== null ? value : undefined;
    } catch {
      return undefined;
    }
  }
}

function responseStatus(code: number, body: unknown, redact: RedactText): AuditResponseStatus {
  const status: AuditResponseStatus = { metadata: {}, code };
  if (typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'Status') {
    const s = body as { status?: unknown; reason?: unknown; message?: unknown };
    if (typeof s.status === 'string') status.status = s.status;
    if (typeof s.reason === 'string') status.reason = s.reason;
    if (typeof s.message === 'string') status.message = redact(s.message);
  }
  return status;
}

/** The Event line of one stage. Request bodies appear from Request on, responses at RequestResponse. */
export function auditEventV1(request: AuditedRequest, stage: AuditStage, decision: AuditDecision, redact: RedactText, now = new Date()): AuditEventV1 | undefined {
  if (decision.level === 'None' || decision.omitStages.includes(stage)) return undefined;
  const event: AuditEventV1 = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: decision.level,
    auditID: request.auditID,
    stage,
    requestURI: redact(redactRequestUri(request.requestUri)),
    verb: request.info.verb,
    user: auditUser(request.user),
    sourceIPs: [request.sourceIP],
    requestReceivedTimestamp: microTime(request.receivedAt),
    stageTimestamp: microTime(stage === 'RequestReceived' ? request.receivedAt : now),
  };
  if (request.impersonatedUser) event.impersonatedUser = auditUser(request.impersonatedUser);
  if (request.userAgent) event.userAgent = request.userAgent;
  const ref = objectRef(request.info);
  if (ref) event.objectRef = ref;
  if (stage === 'RequestReceived') return event;
  const response = bodyObject(request.responseBody);
  if (request.code !== undefined) event.responseStatus = responseStatus(request.code, response, redact);
  if (decision.level === 'Request' || decision.level === 'RequestResponse') {
    const requestObject = bodyObject(request.requestBody);
    if (requestObject !== undefined) event.requestObject = redactObject(requestObject, redact, decision.omitManagedFields);
  }
  if (decision.level === 'RequestResponse' && response !== undefined) {
    event.responseObject = redactObject(response, redact, decision.omitManagedFields);
  }
  return event;
}
