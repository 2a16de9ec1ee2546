import { authenticatedTokenRequest, checkClient, checkTokenUrl, normalizeScopes, type TokenClient } from '../token-endpoint/client-auth.js';

export interface ClientCredentialsRequest extends TokenClient {
  readonly tokenUrl: string;
  readonly scopes: readonly string[];
  /** RFC 8707 resource indicator. */
  readonly resource?: string | undefined;
  /** The `audience` parameter some providers (Auth0, Okta) use instead of `resource`. */
  readonly audience?: string | undefined;
}

/** Everything about a request that can be checked without sending it; returns the URL and the scopes to send. */
export function checkRequest(request: ClientCredentialsRequest): { url: URL; scopes: string[] } {
  const url = checkTokenUrl(request.tokenUrl);
  checkClient(request);
  return { url, scopes: normalizeScopes(request.scopes) };
}

/** The POST for a client_credentials grant (RFC 6749 §4.4.2), from an already checked request. */
export function buildTokenRequest(request: ClientCredentialsRequest, scopes: readonly string[]): { headers: Headers; body: URLSearchParams } {
  const grant = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) grant.set('scope', scopes.join(' '));
  if (request.resource !== undefined) grant.set('resource', request.resource);
  if (request.audience !== undefined) grant.set('audience', request.audience);
  return authenticatedTokenRequest(request, grant);
}
