/**
 * An OAuth error as it goes on the wire (RFC 6749 §5.2, RFC 7591 §3.2.2,
 * RFC 8707 §2): a stable code, an ASCII description safe to show anyone,
 * and a detail that only ever reaches the log.
 */
export class OAuthError extends Error {
  /** A WWW-Authenticate challenge to send with the error (invalid_client over HTTP authentication). */
  challenge: string | undefined;
  /** Seconds to send as Retry-After with a 429. */
  retryAfterSeconds: number | undefined;

  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    readonly detail?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: wireSafe(this.description) };
  }
}

export const invalidRequest = (description: string, detail?: string) => new OAuthError('invalid_request', description, 400, detail);
export const invalidClient = (description: string, detail?: string) => new OAuthError('invalid_client', description, 401, detail);
export const invalidGrant = (description: string, detail?: string) => new OAuthError('invalid_grant', description, 400, detail);
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
export const serverError = (detail: string) =>
  new OAuthError('server_error', 'The server could not complete the request.', 500, detail);
export const temporarilyUnavailable = (detail: string) =>
  new OAuthError('temporarily_unavailable', 'The identity provider is unavailable; try again shortly.', 503, detail);

/** Error descriptions are restricted to printable ASCII without quotes or backslashes (RFC 6749 §5.2). */
export function wireSafe(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?').slice(0, 300);
}
