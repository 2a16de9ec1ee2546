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
 * Why no client-credentials token could be had. `message` is fixed per code (plus the OAuth
 * error code) and safe to show; `detail` is for the log. Neither ever holds the client
 * secret, the Basic credentials or a token.
 */
export class ClientCredentialsError extends Error {
  override readonly name = 'ClientCredentialsError';

  constructor(
    readonly code: ClientCredentialsErrorCode,
    /** For the log only. */
    readonly detail: string,
    /** The RFC 6749 `error` code, when the endpoint sent a well-formed one. */
    readonly oauthError?: string,
    /** The token endpoint's HTTP status, when it answered. */
    readonly status?: number,
  ) {
    super(`client credentials token ${code}${oauthError ? ` (${oauthError})` : ''}`);
  }
}

/**
 * The same error with every given secret form cut out of its detail: a last guard for text
 * that came from elsewhere (a provider's error_description, a fetch failure).
 */
export function withoutSecrets(error: ClientCredentialsError, secrets: readonly string[]): ClientCredentialsError {
  let detail = error.detail;
  for (const secret of secrets) if (secret !== '') detail = detail.split(secret).join('[redacted]');
  return detail === error.detail ? error : new ClientCredentialsError(error.code, detail, error.oauthError, error.status);
}
