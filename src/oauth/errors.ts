import { ProblemError } from '../domain/errors.js';

/**
 * An OAuth error as it goes on the wire (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 8707 §2): `code` is
 * the `error`, `description` the `error_description`, `status` always set.
 */
export class OAuthError extends ProblemError {
  override readonly name = 'OAuthError';
  declare readonly status: number;
  /** A WWW-Authenticate challenge to send with the error (invalid_client over HTTP authentication). */
  challenge: string | undefined;
  /** Seconds to send as Retry-After with a 429. */
  retryAfterSeconds: number | undefined;

  constructor(code: string, description: string, status = 400, detail?: string, cause?: unknown) {
    super(code, description, { status, detail, cause, message: `${code}: ${description}` });
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: wireSafe(this.description) };
  }
}

export const invalidRequest = (description: string, detail?: string) => new OAuthError('invalid_request', description, 400, detail);
export const invalidClient = (description: string, detail?: string, cause?: unknown) => new OAuthError('invalid_client', description, 401, detail, cause);
export const invalidGrant = (description: string, detail?: string, cause?: unknown) => new OAuthError('invalid_grant', description, 400, detail, cause);
export const invalidTarget = (description: string) => new OAuthError('invalid_target', description, 400);
export const invalidScope = (description: string) => new OAuthError('invalid_scope', description, 400);
export const unsupportedGrantType = (description: string) => new OAuthError('unsupported_grant_type', description, 400);
export const invalidRedirectUri = (description: string) => new OAuthError('invalid_redirect_uri', description, 400);
export const invalidClientMetadata = (description: string) => new OAuthError('invalid_client_metadata', description, 400);
/**
 * Too many requests from one client address: 429 (RFC 6585 §4) with Retry-After, as RFC 9126
 * §2.3 does at its endpoint; RFC 6749 §5.2 has no code for it, and invalid_client would tell
 * a legitimate client its registration is gone.
 */
export function tooManyRequests(description: string, retryAfterSeconds: number, detail?: string): OAuthError {
  const error = new OAuthError('temporarily_unavailable', description, 429, detail);
  error.retryAfterSeconds = retryAfterSeconds;
  return error;
}
export const serverError = (detail: string, cause?: unknown) =>
  new OAuthError('server_error', 'The server could not complete the request.', 500, detail, cause);
export const temporarilyUnavailable = (detail: string, cause?: unknown) =>
  new OAuthError('temporarily_unavailable', 'The identity provider is unavailable; try again shortly.', 503, detail, cause);

/** Error descriptions are restricted to printable ASCII without quotes or backslashes (RFC 6749 §5.2). */
export function wireSafe(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?').slice(0, 300);
}
