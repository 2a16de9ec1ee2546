import { loggedError, ProblemError } from '../../domain/errors.js';

/**
 * - `token_endpoint_error`: the token endpoint answered with an OAuth error (RFC 6749 §5.2),
 *   named by `oauthError` (`invalid_client`, `invalid_scope`, ...).
 * - `unavailable`: no usable answer: network failure, timeout, redirect, 5xx, an oversized
 *   or malformed response.
 * - `invalid_configuration`: the request can never succeed as given (a plain-http token URL
 *   to a non-loopback host, an unparseable URL, an empty client_id, a malformed scope).
 */
export type ClientCredentialsErrorCode = 'token_endpoint_error' | 'unavailable' | 'invalid_configuration';

/**
 * Why no client-credentials token could be had. `description` (the message) is fixed per code
 * (plus the OAuth error code) and safe to show; `detail` is for the log; `status` is the token
 * endpoint's, when it answered. None of them, nor the cause, ever holds the client secret, the
 * Basic credentials or a token.
 */
export class ClientCredentialsError extends ProblemError {
  override readonly name = 'ClientCredentialsError';
  declare readonly code: ClientCredentialsErrorCode;
  declare readonly detail: string;

  constructor(
    code: ClientCredentialsErrorCode,
    detail: string,
    /** The RFC 6749 `error` code, when the endpoint sent a well-formed one. */
    readonly oauthError?: string,
    status?: number,
    cause?: unknown,
  ) {
    super(code, `client credentials token ${code}${oauthError ? ` (${oauthError})` : ''}`, { status, detail, cause });
  }
}

/**
 * The same error with every given secret form cut out of its detail, and without its cause if
 * the cause names one: a last guard for text that came from elsewhere (a provider's
 * error_description, a fetch failure).
 */
export function withoutSecrets(error: ClientCredentialsError, secrets: readonly string[]): ClientCredentialsError {
  const present = secrets.filter((secret) => secret !== '');
  let detail = error.detail;
  for (const secret of present) detail = detail.split(secret).join('[redacted]');
  const causeText = error.cause === undefined ? '' : JSON.stringify(loggedError(error.cause));
  const cause = present.some((secret) => causeText.includes(secret)) ? undefined : error.cause;
  return detail === error.detail && cause === error.cause ? error : new ClientCredentialsError(error.code, detail, error.oauthError, error.status, cause);
}
