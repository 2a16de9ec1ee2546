import { loggedError, ProblemError } from '../../domain/errors.js';

/**
 * Why a token the proxy asks a token endpoint for (client credentials, a token exchange) could not be had:
 * - `token_endpoint_error`: the token endpoint answered with an OAuth error (RFC 6749 §5.2),
 *   named by `oauthError` (`invalid_client`, `invalid_scope`, ...).
 * - `unavailable`: no usable answer: network failure, timeout, redirect, 5xx, an oversized
 *   or malformed response.
 * - `invalid_configuration`: the request can never succeed as given (a plain-http token URL
 *   to a non-loopback host, an unparseable URL, an empty client_id, a malformed scope).
 */
export type TokenEndpointErrorCode = 'token_endpoint_error' | 'unavailable' | 'invalid_configuration';

/**
 * Why no token could be had from a token endpoint. `description` (the message) is fixed per code
 * (plus the OAuth error code) and safe to show; `detail` is for the log; `status` is the token
 * endpoint's, when it answered. None of them, nor the cause, ever holds the client secret, the
 * Basic credentials, a subject token or an issued token.
 */
export class TokenEndpointError extends ProblemError {
  override readonly name = 'TokenEndpointError';
  declare readonly code: TokenEndpointErrorCode;
  declare readonly detail: string;

  constructor(
    code: TokenEndpointErrorCode,
    detail: string,
    /** The RFC 6749 `error` code, when the endpoint sent a well-formed one. */
    readonly oauthError?: string,
    status?: number,
    cause?: unknown,
  ) {
    super(code, `token endpoint ${code}${oauthError ? ` (${oauthError})` : ''}`, { status, detail, cause });
  }
}

/**
 * The same error with every given secret form cut out of its detail, and without its cause if
 * the cause names one: a last guard for text that came from elsewhere (a provider's
 * error_description, a fetch failure).
 */
export function withoutSecrets(error: TokenEndpointError, secrets: readonly string[]): TokenEndpointError {
  const present = secrets.filter((secret) => secret !== '');
  let detail = error.detail;
  for (const secret of present) detail = detail.split(secret).join('[redacted]');
  const causeText = error.cause === undefined ? '' : JSON.stringify(loggedError(error.cause));
  const cause = present.some((secret) => causeText.includes(secret)) ? undefined : error.cause;
  return detail === error.detail && cause === error.cause ? error : new TokenEndpointError(error.code, detail, error.oauthError, error.status, cause);
}

/** What the log says about a failure to get a token: the code and detail of the proxy's own errors. */
export function failureDetail(error: unknown): string {
  return error instanceof ProblemError ? `${error.code}: ${error.detail ?? error.message}` : String(error);
}
