import { ProblemError } from '../domain/errors.js';

/**
 * Why a fetch of a client-controlled URL failed. Codes are stable; descriptions (the message)
 * never carry the URL, its query or the response body, so they are safe to log anywhere.
 * `status` is the status the fetched server answered with, for `redirect` and `http_status`.
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

export class SafeFetchError extends ProblemError {
  override readonly name = 'SafeFetchError';
  declare readonly code: SafeFetchErrorCode;

  constructor(code: SafeFetchErrorCode, description: string, status?: number, cause?: unknown) {
    super(code, description, { status, cause });
  }
}
