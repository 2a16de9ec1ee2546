/**
 * Errors of the browser-facing endpoints. Before the client and its redirect
 * URI are validated the user sees a page and is never redirected (OAuth 2.1
 * §4.1.2.1); after, the error goes back to the client with `state` and `iss`.
 */
import { ProblemError } from '../domain/errors.js';

/** The OAuth code a page's status stands for, so the log names a page's error as it names a redirect's. */
function pageCode(status: number): string {
  if (status === 429) return 'temporarily_unavailable';
  if (status >= 500) return 'server_error';
  return status === 403 ? 'access_denied' : 'invalid_request';
}

/** A page: `description` is the text the user reads under `title`; `status` the page's. */
export class ErrorPage extends ProblemError {
  override readonly name = 'ErrorPage';
  declare readonly status: number;

  constructor(
    readonly title: string,
    description: string,
    status = 400,
    detail?: string,
    cause?: unknown,
  ) {
    super(pageCode(status), description, { status, detail, cause, message: `${title}: ${description}` });
  }
}

/** A redirect to the validated redirect URI with `code` as `error`; its status (302 or 303) follows the request's method. */
export class RedirectToClient extends ProblemError {
  override readonly name = 'RedirectToClient';

  constructor(
    readonly redirectUri: string,
    readonly state: string | undefined,
    code: string,
    description: string,
    detail?: string,
    cause?: unknown,
  ) {
    super(code, description, { detail, cause, message: `${code}: ${description}` });
  }
}

/** The authorization response URL (RFC 6749 §4.1.2, RFC 9207 `iss`). */
export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return url.href;
}
