import { SCOPE_TOKEN } from '../../domain/scope.js';
import { HTTPS_OR_LOOPBACK, isHttpsOrLoopback } from '../../net/loopback.js';
import { TokenEndpointError } from './errors.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** The proxy's client at a token endpoint, and how its secret travels there. */
export interface TokenClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: ClientAuthMethod;
}

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
    throw new TokenEndpointError('invalid_configuration', 'the token URL is not an absolute URL');
  }
  const where = `${url.protocol}//${url.host}${url.pathname}`;
  if (!isHttpsOrLoopback(url)) throw new TokenEndpointError('invalid_configuration', `the token URL ${where} ${HTTPS_OR_LOOPBACK}`);
  if (url.username || url.password) throw new TokenEndpointError('invalid_configuration', `the token URL ${where} must not carry credentials`);
  if (url.hash) throw new TokenEndpointError('invalid_configuration', `the token URL ${where} must not have a fragment`);
  return url;
}

/** Scopes as a set: sorted and without duplicates, so that order never splits a cache. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw new TokenEndpointError('invalid_configuration', 'a scope is empty or has characters RFC 6749 §3.3 forbids');
  }
  return [...new Set(scopes)].sort();
}

const AUTH_METHODS: ReadonlySet<string> = new Set<ClientAuthMethod>(['client_secret_basic', 'client_secret_post']);

/** A client that can be sent: printable client_id and secret, a known authentication method. */
export function checkClient(client: TokenClient): void {
  if (client.clientId === '' || !VSCHAR.test(client.clientId)) {
    throw new TokenEndpointError('invalid_configuration', 'the client_id is empty or not printable ASCII');
  }
  // The secret is described, never quoted.
  if (client.clientSecret === '' || !VSCHAR.test(client.clientSecret)) {
    throw new TokenEndpointError('invalid_configuration', 'the client_secret is empty or not printable ASCII');
  }
  if (!AUTH_METHODS.has(client.authMethod)) {
    throw new TokenEndpointError('invalid_configuration', 'the client authentication method must be client_secret_basic or client_secret_post');
  }
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 requires inside the Basic header. */
function formUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*~]|%20/g, (match) =>
    match === '%20' ? '+' : `%${match.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** RFC 6749 §2.3.1: each part form-urlencoded before they are joined and base64-encoded (ASCII by then). */
function basicCredentials(client: TokenClient): string {
  return btoa(`${formUrlEncode(client.clientId)}:${formUrlEncode(client.clientSecret)}`);
}

/** The forms in which a client's secret could travel, for scrubbing text about a request. */
export function secretForms(client: TokenClient): string[] {
  return [client.clientSecret, formUrlEncode(client.clientSecret), encodeURIComponent(client.clientSecret), basicCredentials(client)];
}

/** The POST of a grant's parameters to the token endpoint, the client authenticated by its method (RFC 6749 §2.3.1). */
export function authenticatedTokenRequest(client: TokenClient, grant: URLSearchParams): { headers: Headers; body: URLSearchParams } {
  const body = new URLSearchParams(grant);
  const headers = new Headers({
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'mcp-capsule',
  });
  if (client.authMethod === 'client_secret_basic') {
    headers.set('authorization', `Basic ${basicCredentials(client)}`);
  } else {
    body.set('client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  }
  return { headers, body };
}
