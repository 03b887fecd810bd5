// Kubernetes `Status` errors (k8s.io/apimachinery/pkg/api/errors): the same reasons, codes and messages, so
// kubectl and client libraries print and classify them exactly as they do against kube-apiserver.

export type StatusReason =
  | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'BadRequest' | 'MethodNotAllowed' | 'NotAcceptable'
  | 'UnsupportedMediaType' | 'RequestEntityTooLarge' | 'Expired' | 'Gone' | 'Timeout' | 'InternalError'
  | 'Unauthorized' | 'Forbidden' | 'TooManyRequests' | 'ServiceUnavailable';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never> | { resourceVersion?: string };
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason | '';
  details?: StatusDetails;
  code: number;
}

/** An error that carries the Status to answer with. */
export class ApiError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? 'error');
  }
  get code(): number {
    return this.status.code;
  }
}

function failure(code: number, reason: StatusReason | '', message: string, details?: StatusDetails): ApiError {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) status.details = details;
  return new ApiError(status);
}

/** A group-qualified resource, e.g. streams.streaming.tanzu.vmware.com. */
export interface GroupResource {
  group: string;
  resource: string;
}

function qualified(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

export function notFound(gr: GroupResource, name: string): ApiError {
  return failure(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.resource });
}

export function alreadyExists(gr: GroupResource, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, { name, group: gr.group, kind: gr.resource });
}

export function conflict(gr: GroupResource, name: string, why: string): ApiError {
  return failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, { name, group: gr.group, kind: gr.resource });
}

export const OBJECT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export function staleUpdate(gr: GroupResource, name: string): ApiError {
  return conflict(gr, name, OBJECT_MODIFIED);
}

/** One field error (crds/validation's FieldIssue): `message` is already the cause text, e.g. `Invalid value: "x": ...`. */
export interface FieldError {
  type: string;
  field: string;
  message: string;
}

/** "spec.x: Invalid value: \"y\": must be ..." */
export function renderFieldError(e: FieldError): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}

/** 422 Invalid: `Stream.group "x" is invalid: [a, b]` with one cause per field. */
export function invalid(groupKind: { group: string; kind: string }, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map(renderFieldError);
  const summary = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  const qualifiedKind = groupKind.group ? `${groupKind.kind}.${groupKind.group}` : groupKind.kind;
  const causes: StatusCause[] = errors.map((e) => ({
    reason: e.type,
    message: e.message,
    field: e.field,
  }));
  return failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name, group: groupKind.group, kind: groupKind.kind, causes,
  });
}

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

export function methodNotAllowed(method: string, what: string): ApiError {
  return failure(405, 'MethodNotAllowed', `${method} is not supported on ${what}`);
}

export function notAcceptable(accepted: string[]): ApiError {
  return failure(406, 'NotAcceptable', `the server was unable to respond with a content type that the client supports (accepted media types include: ${accepted.join(', ')})`);
}

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  const shown = contentType || 'none';
  return failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`, { causes: [{ reason: 'UnexpectedServerResponse', message: `unsupported media type "${shown}"` }] });
}

export function requestEntityTooLarge(limitBytes: number): ApiError {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
}

/** 410 Expired: a resourceVersion or continue token older than the retained history. */
export function expired(message: string): ApiError {
  return failure(410, 'Expired', message);
}

export function resourceExpired(message = 'too old resource version'): ApiError {
  return expired(message);
}

export function gone(message: string): ApiError {
  return failure(410, 'Gone', message);
}

export function timeout(message: string, retryAfterSeconds = 1): ApiError {
  return failure(504, 'Timeout', message, { retryAfterSeconds });
}

/** 504 ResourceVersionTooLarge, like the watch cache when asked for a revision it has not reached. */
export function resourceVersionTooLarge(): ApiError {
  const err = failure(504, 'Timeout', 'Too large resource version', { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
  return err;
}

export function notFoundPath(path: string): ApiError {
  return failure(404, 'NotFound', `the server could not find the requested resource`, { causes: [{ reason: 'UnexpectedServerResponse', message: `404 page not found: ${path}` }] });
}

export function internalError(message: string): ApiError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function serviceUnavailable(message: string, retryAfterSeconds?: number): ApiError {
  return failure(503, 'ServiceUnavailable', message, retryAfterSeconds !== undefined ? { retryAfterSeconds } : undefined);
}

/** 429 with Retry-After: over a limit that frees up by itself (watchers per user, a full fair queue). */
export function tooManyRequests(message: string, retryAfterSeconds: number): ApiError {
  return failure(429, 'TooManyRequests', message, { retryAfterSeconds });
}

/** The Status of a successful deletion (kubectl delete --wait reads details.uid). */
export function successStatus(details: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 } as Status;
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
