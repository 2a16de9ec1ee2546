import { HTTPS_OR_LOOPBACK, isHttpsOrLoopback } from '../../net/loopback.js';
import { ClientCredentialsError } from './errors.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface ClientCredentialsRequest {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly authMethod: ClientAuthMethod;
  /** RFC 8707 resource indicator. */
  readonly resource?: string | undefined;
  /** The `audience` parameter some providers (Auth0, Okta) use instead of `resource`. */
  readonly audience?: string | undefined;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
// RFC 6749 Appendix A.1/A.2: client_id and client_secret are VSCHAR (%x20-7E).
const VSCHAR = /^[\x20-\x7E]*$/;

/**
 * The token endpoint as a URL, or `invalid_configuration`: https, or plain http to a
 * loopback host (development); no credentials and no fragment in it. Exported so that
 * configuration can be checked at startup.
 */
export function checkTokenUrl(tokenUrl: string): URL {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new ClientCredentialsError('invalid_configuration', 'the token URL is not an absolute URL');
  }
  const where = `${url.protocol}//${url.host}${url.pathname}`;
  if (!isHttpsOrLoopback(url)) throw new ClientCredentialsError('invalid_configuration', `the token URL ${where} ${HTTPS_OR_LOOPBACK}`);
  if (url.username || url.password) throw new ClientCredentialsError('invalid_configuration', `the token URL ${where} must not carry credentials`);
  if (url.hash) throw new ClientCredentialsError('invalid_configuration', `the token URL ${where} must not have a fragment`);
  return url;
}

/** Scopes as a set: sorted and without duplicates, so that order never splits the cache. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw new ClientCredentialsError('invalid_configuration', 'a scope is empty or has characters RFC 6749 §3.3 forbids');
  }
  return [...new Set(scopes)].sort();
}

const AUTH_METHODS: ReadonlySet<string> = new Set<ClientAuthMethod>(['client_secret_basic', 'client_secret_post']);

/** Everything about a request that can be checked without sending it; returns the URL and the scopes to send. */
export function checkRequest(request: ClientCredentialsRequest): { url: URL; scopes: string[] } {
  const url = checkTokenUrl(request.tokenUrl);
  checkClientCredentials(request.clientId, request.clientSecret);
  if (!AUTH_METHODS.has(request.authMethod)) {
    throw new ClientCredentialsError('invalid_configuration', 'the client authentication method must be client_secret_basic or client_secret_post');
  }
  return { url, scopes: normalizeScopes(request.scopes) };
}

/** The forms in which a request's secret could travel, for scrubbing text about it. */
export function secretForms(request: ClientCredentialsRequest): string[] {
  return [request.clientSecret, formUrlEncode(request.clientSecret), encodeURIComponent(request.clientSecret), basicCredentials(request)];
}

export function checkClientCredentials(clientId: string, clientSecret: string): void {
  if (clientId === '' || !VSCHAR.test(clientId)) {
    throw new ClientCredentialsError('invalid_configuration', 'the client_id is empty or not printable ASCII');
  }
  // The secret is described, never quoted.
  if (clientSecret === '' || !VSCHAR.test(clientSecret)) {
    throw new ClientCredentialsError('invalid_configuration', 'the client_secret is empty or not printable ASCII');
  }
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 requires inside the Basic header. */
function formUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*~]|%20/g, (match) =>
    match === '%20' ? '+' : `%${match.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** RFC 6749 §2.3.1: each part form-urlencoded before they are joined and base64-encoded (ASCII by then). */
function basicCredentials(request: ClientCredentialsRequest): string {
  return btoa(`${formUrlEncode(request.clientId)}:${formUrlEncode(request.clientSecret)}`);
}

/** The POST for a client_credentials grant (RFC 6749 §4.4.2), from an already checked request. */
export function buildTokenRequest(request: ClientCredentialsRequest, scopes: readonly string[]): { headers: Headers; body: URLSearchParams } {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scopes.length > 0) body.set('scope', scopes.join(' '));
  if (request.resource !== undefined) body.set('resource', request.resource);
  if (request.audience !== undefined) body.set('audience', request.audience);
  const headers = new Headers({
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'mcp-capsule',
  });
  if (request.authMethod === 'client_secret_basic') {
    headers.set('authorization', `Basic ${basicCredentials(request)}`);
  } else {
    body.set('client_id', request.clientId);
    body.set('client_secret', request.clientSecret);
  }
  return { headers, body };
}
