// The Kubernetes Status bodies the security layer answers with itself (401, 403, 429), worded like kube-apiserver's
// so clients that match on reason or message (kubectl, client-go retry logic) behave the same.
import type { RequestInfo } from './types';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  retryAfterSeconds?: number;
}

export interface FailureStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

function failure(code: number, reason: string, message: string, details?: StatusDetails): FailureStatus {
  const status: FailureStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details && Object.keys(details).length > 0) status.details = details;
  return status;
}

export function unauthorizedStatus(): FailureStatus {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

/** 500 for when an authorizer could not decide (kube-apiserver answers the same). */
export function internalErrorStatus(cause: string): FailureStatus {
  return failure(500, 'InternalError', `Internal error occurred: ${cause}`);
}

export function tooManyRequestsStatus(retryAfterSeconds: number, message = 'Too many requests, please try again later.'): FailureStatus {
  return failure(429, 'TooManyRequests', message, { retryAfterSeconds });
}

/** `User "bob" cannot create resource "streams" in API group "g" in the namespace "default"` (k8s forbiddenMessage). */
export function forbiddenReason(userName: string, info: RequestInfo): string {
  if (!info.isResourceRequest) return `User ${JSON.stringify(userName)} cannot ${info.verb} path ${JSON.stringify(info.path)}`;
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const head = `User ${JSON.stringify(userName)} cannot ${info.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(info.apiGroup)}`;
  return info.namespace ? `${head} in the namespace ${JSON.stringify(info.namespace)}` : `${head} at the cluster scope`;
}

/**
 * 403 exactly as apierrors.NewForbidden builds it: `<resource>.<group> "<name>" is forbidden: <why>`, without the
 * name when the request has none (create, list), `forbidden: <why>` for non-resource paths.
 */
export function forbiddenStatus(userName: string, info: RequestInfo, reason: string): FailureStatus {
  const why = reason ? `${forbiddenReason(userName, info)}: ${reason}` : forbiddenReason(userName, info);
  if (!info.isResourceRequest || info.resource === '') return failure(403, 'Forbidden', `forbidden: ${why}`);
  const qualified = info.apiGroup ? `${info.resource}.${info.apiGroup}` : info.resource;
  const message = info.name ? `${qualified} ${JSON.stringify(info.name)} is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  const details: StatusDetails = { kind: info.resource };
  if (info.name) details.name = info.name;
  if (info.apiGroup) details.group = info.apiGroup;
  return failure(403, 'Forbidden', message, details);
}
