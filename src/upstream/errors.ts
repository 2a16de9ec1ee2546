import * as oauth from 'oauth4webapi';
import { UpstreamError } from './upstream-client.js';

/** Error codes that mean "this grant is no longer good": standard, and GitHub's own. */
const INVALID_GRANT_CODES = new Set(['invalid_grant', 'bad_verification_code', 'bad_refresh_token']);

/** Error codes of an authorization response that mean the user (or the provider's policy) said no. */
const DENIED_CODES = new Set(['access_denied', 'consent_required', 'interaction_required', 'login_required', 'account_selection_required']);

/** Provider-chosen strings go to the log only, and only in a harmless shape. */
function code(value: unknown): string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : 'unrecognised';
}

/**
 * Maps anything a login or refresh throws to an `UpstreamError`. The detail is
 * for the log: error codes, statuses and library messages, never response
 * bodies, tokens or secrets.
 */
export function toUpstreamError(error: unknown, step: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    const kind = DENIED_CODES.has(error.error) ? 'denied' : 'unavailable';
    return new UpstreamError(kind, `${step}: authorization response error ${code(error.error)}`, error);
  }
  if (error instanceof oauth.ResponseBodyError) {
    const kind = INVALID_GRANT_CODES.has(error.error) ? 'invalid_grant' : 'unavailable';
    return new UpstreamError(kind, `${step}: error ${code(error.error)} (HTTP ${error.status})`, error);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const schemes = error.cause.map((challenge) => code(challenge.scheme)).join(', ');
    return new UpstreamError('unavailable', `${step}: HTTP ${error.status} challenge (${schemes}); check the client credentials`, error);
  }
  if (error instanceof oauth.OperationProcessingError) {
    return new UpstreamError('unavailable', `${step}: ${error.code ?? 'processing error'}: ${error.message}`, error);
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new UpstreamError('unavailable', `${step}: the provider did not answer in time`, error);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'non-error thrown';
  return new UpstreamError('unavailable', `${step}: ${message}`, error);
}
