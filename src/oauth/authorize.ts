import type { Config } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import type { AuthorizationRequest } from '../domain/capsule-schemas.js';
import { randomToken, shortDigest } from '../crypto/encoding.js';
import { isValidS256Challenge } from '../crypto/pkce.js';
import { ErrorPage, RedirectToClient } from './browser-errors.js';
import type { ClientDirectory, ResolvedClient } from './clients.js';
import { consentKey } from './consent.js';
import type { Endpoints, RouteEndpoints } from './endpoints.js';
import { invalidScope, OAuthError } from './errors.js';
import { scopeTokens, scopesLacking } from '../domain/scope.js';
import { Params } from './params.js';
import { matchRedirectUri } from '../config/redirect-uri.js';

const MAX_STATE_LENGTH = 2048;
export const OFFLINE_ACCESS = 'offline_access';

export interface ValidatedAuthorization {
  readonly client: ResolvedClient;
  readonly redirectUri: string;
  /** The registered URI the request's redirect_uri matched (they differ only in a loopback port). */
  readonly registeredRedirectUri: string;
  readonly state: string | undefined;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly resource: string;
  readonly refresh: boolean;
}

interface Context {
  readonly clients: ClientDirectory;
  readonly endpoints: Endpoints;
}

/** Steps 1 and 2: the client and its redirect URI, before anything may redirect. */
async function checkClientAndRedirectUri(
  params: Params,
  address: string,
  ctx: Context,
): Promise<{ client: ResolvedClient; redirectUri: string; registeredRedirectUri: string }> {
  let clientId: string;
  let requestedRedirectUri: string | undefined;
  try {
    clientId = params.required('client_id');
    requestedRedirectUri = params.optional('redirect_uri');
  } catch (error) {
    throw new ErrorPage('Invalid request', error instanceof OAuthError ? error.description : 'The request is malformed.', 400, undefined, error);
  }
  const found = await ctx.clients.lookup(clientId, address);
  if ('problem' in found) {
    throw found.problem === 'rate-limited'
      ? new ErrorPage('Too many requests', 'Too many sign-in attempts from this address; try again in a minute.', 429, found.detail)
      : found.problem === 'unavailable'
        ? new ErrorPage('Application details unavailable', "The application's metadata document could not be fetched or is invalid, so it cannot sign in here.", 400, found.detail)
        : new ErrorPage('Unknown application', 'This application is not registered here, or its registration has expired. Reconnect it from your MCP client.', 400, found.detail);
  }
  const client = found.client;
  const registered = client.registration.redirect_uris;
  if (requestedRedirectUri === undefined) {
    if (registered.length !== 1) throw new ErrorPage('Invalid request', 'The redirect_uri parameter is required.');
    return { client, redirectUri: registered[0]!, registeredRedirectUri: registered[0]! };
  }
  const matched = matchRedirectUri(requestedRedirectUri, registered);
  if (!matched) throw new ErrorPage('Invalid redirect URI', 'The redirect URI does not match any URI this application registered.');
  return { client, redirectUri: requestedRedirectUri, registeredRedirectUri: matched };
}

/** The scopes a grant may carry, the first being what a client asking for none gets: a route's (RouteEndpoints), or fewer. */
export type ScopeOffer = Pick<RouteEndpoints, 'scopes' | 'basicScope'>;

/**
 * The scope of the grant (RFC 6749 §3.3): without a `scope` parameter, the route's basic scope; otherwise what was asked
 * for. A route that offers scopes refuses any it does not offer (invalid_scope, RFC 6749 §4.1.2.1); one that offers none
 * has nothing to protect and drops them, as the server may (the token response says what was granted).
 * `offline_access` is offered to clients that registered the refresh_token grant, and dropped for others.
 */
export function grantedScope(requested: string | undefined, route: ScopeOffer, refresh: boolean): string {
  if (requested === undefined) return route.basicScope ?? '';
  const tokens = scopeTokens(requested);
  const unknown = scopesLacking([...route.scopes, OFFLINE_ACCESS], tokens);
  if (unknown.length > 0 && route.scopes.length > 0) throw invalidScope('The scope parameter names a scope this MCP server does not offer (see scopes_supported in its metadata).');
  const grantable = refresh ? [...route.scopes, OFFLINE_ACCESS] : route.scopes;
  return tokens.filter((token) => grantable.includes(token)).join(' ');
}

/**
 * Validates an authorization request in the order OAuth 2.1 §4.1.2.1 demands:
 * client and redirect URI first (errors shown as a page), then everything else
 * (errors returned to the client by redirect). `address` is the requester's, which a
 * metadata document fetch is counted against.
 */
export async function validateAuthorizationRequest(query: URLSearchParams, address: string, ctx: Context): Promise<ValidatedAuthorization> {
  const params = new Params(query);
  const { client, redirectUri, registeredRedirectUri } = await checkClientAndRedirectUri(params, address, ctx);

  let state: string | undefined;
  try {
    state = params.optional('state');
  } catch {
    throw new RedirectToClient(redirectUri, undefined, 'invalid_request', 'The state parameter must not be repeated.');
  }
  const fail = (error: string, description: string) => new RedirectToClient(redirectUri, state, error, description);

  try {
    if (state !== undefined && state.length > MAX_STATE_LENGTH) throw fail('invalid_request', 'The state parameter is too long.');
    const responseType = params.optional('response_type');
    if (responseType !== 'code') throw fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (!client.registration.grant_types.includes('authorization_code')) {
      throw fail('unauthorized_client', 'This client did not register the authorization_code grant.');
    }

    const codeChallenge = params.optional('code_challenge');
    if (codeChallenge === undefined) throw fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256.');
    if (params.optional('code_challenge_method') !== 'S256') {
      throw fail('invalid_request', 'code_challenge_method must be S256; plain is not supported.');
    }
    if (!isValidS256Challenge(codeChallenge)) throw fail('invalid_request', 'code_challenge is not a valid S256 challenge.');

    const route = ctx.endpoints.routeRequested(params.optional('resource'));
    if (!route) throw fail('invalid_target', 'The resource parameter does not name an MCP server behind this proxy.');

    // Refresh tokens go to clients that registered the refresh_token grant (RFC 7591 §2, SEP-2207).
    const refresh = client.registration.grant_types.includes('refresh_token');
    const scope = grantedScope(params.optional('scope'), route, refresh);
    if (params.optional('prompt') === 'none') throw fail('consent_required', 'Interactive sign-in is required.');

    return {
      client,
      redirectUri,
      registeredRedirectUri,
      state,
      codeChallenge,
      scope,
      resource: route.resource,
      refresh,
    };
  } catch (error) {
    if (error instanceof OAuthError) throw fail(error.code, error.description);
    throw error;
  }
}

/** The pending request sealed into the consent form and, once approved, the upstream `state`. */
export async function pendingAuthorization(
  validated: ValidatedAuthorization,
  bindingValue: string,
  ctx: { capsules: CapsuleCodec; config: Config },
): Promise<AuthorizationRequest> {
  return {
    cid: validated.client.cid,
    ...(validated.client.registration.client_name ? { client_name: validated.client.registration.client_name } : {}),
    redirect_uri: validated.redirectUri,
    ...(validated.state !== undefined ? { state: validated.state } : {}),
    code_challenge: validated.codeChallenge,
    scope: validated.scope,
    resource: validated.resource,
    refresh: validated.refresh,
    upstream_verifier: randomToken(32),
    upstream_nonce: randomToken(32),
    binding: await shortDigest(bindingValue),
    consent_key: await consentKey(validated.client.cid, validated.registeredRedirectUri, validated.resource),
    jti: randomToken(32),
    exp: ctx.capsules.nowSeconds() + ctx.config.ttl.transaction,
  };
}
