// The audit trail of each request, as the request pipeline (index.ts) sees it: begun when the request arrives, told
// who is asking once authentication (and impersonation) decided, told the outcome when the response completes. Two
// writers behind one interface: without `--audit-policy-file` the flat lines of audit.ts (unchanged, documented as
// Metadata for everything); with it, audit.k8s.io/v1 Events at the level the policy picks for the authenticated user
// (audit-policy.ts, audit-event.ts).
import { randomUUID } from 'node:crypto';
import { auditEventV1, type AuditedRequest, type RedactText } from './audit-event';
import { decideAuditLevel, type AuditDecision, type AuditPolicy } from './audit-policy';
import { auditEvent, jsonLineWriter, type JsonLineWriter } from './audit';
import type { RequestInfo, UserInfo } from './types';

export interface AuditStart {
  info: RequestInfo;
  method: string;
  requestUri: string;
  sourceIP: string;
  userAgent: string;
}

export interface AuditOutcome {
  code: number;
  latencyMs: number;
  requestBody?: Buffer;
}

export interface AuditEntry {
  /** Who asked: the authenticated user, and the user it acts as when impersonating. */
  identify(user: UserInfo | undefined, impersonatedUser?: UserInfo): void;
  /** Writes the RequestReceived stage (once; `complete` writes it first if nobody did). */
  received(): void;
  /** Whether the response body should be handed over (`response`): RequestResponse level, or an error Status. */
  wantsResponseBody(code: number): boolean;
  response(body: string | Buffer): void;
  complete(outcome: AuditOutcome): void;
}

export interface AuditTrail {
  begin(start: AuditStart): AuditEntry;
  close(): Promise<void>;
}

/** Without a policy: one flat line per request at completion (audit.ts). */
function flatTrail(writer: JsonLineWriter): AuditTrail {
  return {
    begin(start) {
      let user: UserInfo | undefined;
      let impersonatedUser: UserInfo | undefined;
      return {
        identify(who, as) { user = who; impersonatedUser = as; },
        received() { /* flat lines have one stage */ },
        wantsResponseBody: () => false,
        response() { /* never bodies */ },
        complete(outcome) {
          writer.write(auditEvent({
            user: impersonatedUser ?? user,
            impersonatedBy: impersonatedUser ? user?.name : undefined,
            info: start.info,
            method: start.method,
            requestUri: start.requestUri,
            code: outcome.code,
            latencyMs: outcome.latencyMs,
            sourceIP: start.sourceIP,
            userAgent: start.userAgent,
          }));
        },
      };
    },
    close: () => writer.close(),
  };
}

/** With a policy: audit.k8s.io/v1 Events, RequestReceived and ResponseComplete, unless the policy omits them. */
function policyTrail(writer: JsonLineWriter, policy: AuditPolicy, redact: RedactText): AuditTrail {
  return {
    begin(start) {
      const request: AuditedRequest = {
        auditID: randomUUID(),
        receivedAt: new Date(),
        info: start.info,
        requestUri: start.requestUri,
        user: undefined,
        sourceIP: start.sourceIP,
        userAgent: start.userAgent,
      };
      let decision: AuditDecision | undefined;
      const decide = (): AuditDecision => (decision ??= decideAuditLevel(policy, request.user, request.info));
      let receivedWritten = false;
      const write = (stage: 'RequestReceived' | 'ResponseComplete'): void => {
        const event = auditEventV1(request, stage, decide(), redact);
        if (event) writer.write(event);
      };
      const received = (): void => {
        if (receivedWritten) return;
        receivedWritten = true;
        write('RequestReceived');
      };
      return {
        identify(user, impersonatedUser) {
          request.user = user;
          if (impersonatedUser) request.impersonatedUser = impersonatedUser;
        },
        received,
        wantsResponseBody(code) {
          const level = decide().level;
          return level === 'RequestResponse' || (level !== 'None' && code >= 400);
        },
        response(body) { request.responseBody = body; },
        complete(outcome) {
          received();
          request.code = outcome.code;
          if (outcome.requestBody) request.requestBody = outcome.requestBody;
          write('ResponseComplete');
        },
      };
    },
    close: () => writer.close(),
  };
}

export interface AuditTrailOptions {
  path: string;
  policy?: AuditPolicy;
  redact: RedactText;
  onError(err: Error): void;
}

export function auditTrail(options: AuditTrailOptions): AuditTrail {
  const writer = jsonLineWriter(options.path, options.onError);
  return options.policy ? policyTrail(writer, options.policy, options.redact) : flatTrail(writer);
}
