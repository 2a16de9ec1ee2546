/**
 * Errors of the browser-facing endpoints. Before the client and its redirect
 * URI are validated the user sees a page and is never redirected (OAuth 2.1
 * §4.1.2.1); after, the error goes back to the client with `state` and `iss`.
 */
export class ErrorPage extends Error {
  constructor(
    readonly title: string,
    readonly userMessage: string,
    readonly status = 400,
    readonly detail?: string,
  ) {
    super(`${title}: ${userMessage}`);
    this.name = 'ErrorPage';
  }
}

export class RedirectToClient extends Error {
  constructor(
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly error: string,
    readonly description: string,
    readonly detail?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'RedirectToClient';
  }
}

/** The authorization response URL (RFC 6749 §4.1.2, RFC 9207 `iss`). */
export function authorizationResponseUrl(redirectUri: string, issuer: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  url.searchParams.set('iss', issuer);
  return url.href;
}
