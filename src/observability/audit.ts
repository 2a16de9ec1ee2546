import type { Clock } from '../domain/clock.js';
import { redact } from './logger.js';

/** The audit events, one JSON line each; the README documents every field. */
export type AuditEventName =
  | 'login'
  | 'login_denied'
  | 'consent'
  | 'token_issued'
  | 'token_refreshed'
  | 'token_refused'
  | 'token_revoked'
  | 'revoked_issued_before'
  | 'mcp_request'
  | 'http_request'
  | 'policy_denied'
  | 'tool_denied';

export interface AuditEvent {
  readonly event: AuditEventName;
  /** The upstream subject and, when the provider verified it, the email. */
  readonly user?: { readonly sub: string; readonly email?: string };
  /** The MCP client: a digest of its client_id, and its name when known. */
  readonly client?: { readonly id: string; readonly name?: string };
  readonly route?: string;
  /** JSON-RPC methods and tool names of an MCP request (a batch has several). */
  readonly methods?: readonly string[];
  readonly tools?: readonly string[];
  readonly status?: number;
  readonly latency_ms?: number;
  readonly outcome?: 'allowed' | 'denied' | 'error';
  readonly reason?: string;
  /** The id of the HTTP request that caused the event, as on its access log line and X-Request-Id. */
  readonly request_id?: string;
}

export interface AuditLog {
  record(event: AuditEvent): void;
}

/** Writes each event as one JSON line; secrets never reach it, and redaction makes sure. */
export function createAuditLog(write: (line: string) => void, clock: Clock): AuditLog {
  return {
    record(event) {
      write(JSON.stringify({ time: new Date(clock()).toISOString(), audit: true, ...(redact(event) as object) }));
    },
  };
}

export const silentAudit: AuditLog = { record() {} };

/** Who the user is, as audit records name them. */
export function auditUser(identity: { sub: string; email?: string; email_verified?: boolean }): AuditEvent['user'] {
  return identity.email && identity.email_verified === true ? { sub: identity.sub, email: identity.email } : { sub: identity.sub };
}
