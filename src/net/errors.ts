/**
 * Why a fetch of a client-controlled URL failed. Codes are stable; messages never
 * carry the URL, its query or the response body, so they are safe to log anywhere.
 */
export type SafeFetchErrorCode =
  | 'invalid_url'
  | 'not_https'
  | 'forbidden_address'
  | 'dns'
  | 'redirect'
  | 'http_status'
  | 'too_large'
  | 'timeout'
  | 'network';

export class SafeFetchError extends Error {
  override readonly name = 'SafeFetchError';

  constructor(
    readonly code: SafeFetchErrorCode,
    message: string,
    /** The HTTP status, for `redirect` and `http_status`. */
    readonly status?: number,
  ) {
    super(message);
  }
}
