import type { Clock } from '../domain/clock.js';
import { isoTimeSource } from './iso-time.js';
import { jsonAfter, mayHoldSecretText, redact } from './logger.js';

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
  const time = isoTimeSource(clock);
  return {
    record(event) {
      write(auditLine(time(), event));
    },
  };
}

/** The line for one event, the whole event through `redact`. */
export function redactedAuditLine(time: string, event: AuditEvent): string {
  return JSON.stringify({ time, audit: true, ...(redact(event) as object) });
}

/** The same line as redactedAuditLine, without copying an event that redaction leaves alone. */
export function auditLine(time: string, event: AuditEvent): string {
  return plainAuditEvent(event) ? jsonAfter(`"time":"${time}","audit":true`, event) : redactedAuditLine(time, event);
}

/**
 * Whether `redact` leaves the event as it is: only the fields above (none has a credential's
 * name), each of its type, and no text that looks like a credential. Anything else, an
 * unknown field included, takes the redacting path.
 */
export function plainAuditEvent(event: AuditEvent): boolean {
  if (!plainObject(event)) return false;
  for (const key in event) {
    const value = event[key as keyof AuditEvent];
    if (value === undefined) continue;
    switch (key) {
      case 'event':
      case 'route':
      case 'outcome':
      case 'reason':
      case 'request_id':
        if (!plainText(value)) return false;
        break;
      case 'status':
      case 'latency_ms':
        if (typeof value !== 'number') return false;
        break;
      case 'methods':
      case 'tools':
        if (!Array.isArray(value) || !value.every(plainText)) return false;
        break;
      case 'user':
        if (!plainMembers(value, 'sub', 'email')) return false;
        break;
      case 'client':
        if (!plainMembers(value, 'id', 'name')) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function plainText(value: unknown): boolean {
  return typeof value === 'string' && !mayHoldSecretText(value);
}

function plainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** A plain object whose fields are `first` and `second` only, each plain text or absent. */
function plainMembers(value: unknown, first: string, second: string): boolean {
  if (!plainObject(value)) return false;
  for (const key in value) {
    const member = value[key];
    if ((key !== first && key !== second) || (member !== undefined && !plainText(member))) return false;
  }
  return true;
}

export const silentAudit: AuditLog = { record() {} };

/** Who the user is, as audit records name them. */
export function auditUser(identity: { sub: string; email?: string; email_verified?: boolean }): AuditEvent['user'] {
  return identity.email && identity.email_verified === true ? { sub: identity.sub, email: identity.email } : { sub: identity.sub };
}
