import { scopeTokens } from '../domain/scope.js';
import { grantedScope } from './authorize.js';
import type { ResolvedClient } from './clients.js';
import type { Endpoints, RouteEndpoints } from './endpoints.js';
import { invalidGrant, invalidTarget, OAuthError } from './errors.js';
import type { GrantResult } from './grants.js';
import { IdentityAssertionError } from './identity-assertion/errors.js';
import type { VerifiedIdentityAssertion } from './identity-assertion/verify.js';
import type { Params } from './params.js';
import { issueSessionless, sessionlessRoute, type SessionlessGrantContext } from './sessionless-grant.js';

export interface IdentityAssertionGrantContext extends SessionlessGrantContext {
  readonly endpoints: SessionlessGrantContext['endpoints'] & Pick<Endpoints, 'routeForResource'>;
  /** Checks the assertion for the authenticated client (src/oauth/identity-assertion/verify.ts); `address` pays for key fetches. */
  readonly verify: (assertion: string, clientId: string, address: string) => Promise<VerifiedIdentityAssertion>;
}

/**
 * The route the assertion is for. MCP's enterprise-managed authorization requires the `resource`
 * claim; a request that names a resource too must name one the assertion does.
 */
function assertedRoute(asserted: readonly string[], requested: string | undefined, endpoints: IdentityAssertionGrantContext['endpoints']): RouteEndpoints {
  if (asserted.length === 0) throw invalidGrant('The identity assertion names no resource.');
  const named = requested ?? (asserted.length === 1 ? asserted[0] : undefined);
  if (named === undefined) throw invalidTarget('The identity assertion names several resources; name one with the resource parameter.');
  const route = sessionlessRoute(named, endpoints);
  if (!asserted.some((resource) => endpoints.routeForResource(resource) === route)) throw invalidTarget('The identity assertion was not issued for this MCP server.');
  return route;
}

/** What the identity provider granted (RFC 6749 §3.3), narrowed to what the client asks for, among the route's own scopes. */
function assertedScope(asserted: string | undefined, requested: string | undefined, route: RouteEndpoints): string {
  if (asserted === undefined) return grantedScope(requested, route, false);
  const granted = scopeTokens(asserted);
  const scopes = route.scopes.filter((scope) => granted.includes(scope));
  return grantedScope(requested, { scopes, basicScope: scopes.includes(route.basicScope ?? '') ? route.basicScope : scopes[0] }, false);
}

/**
 * RFC 7523 §2.1 with an Identity Assertion JWT Authorization Grant (MCP's enterprise-managed
 * authorization): a client that authenticates as usual presents an assertion its enterprise
 * identity provider issued for it, for one user and one MCP server, and gets an access token for
 * that user without a browser; no refresh token. Policy and routes as for client credentials.
 */
export async function identityAssertionGrant(client: ResolvedClient, params: Params, address: string, ctx: IdentityAssertionGrantContext): Promise<GrantResult> {
  // The draft's security considerations: confidential clients only. Anyone holding a public client's
  // assertion could redeem it; a confidential client must also prove who it is.
  if (client.registration.token_endpoint_auth_method === 'none') {
    throw new OAuthError('unauthorized_client', 'Identity assertions are exchanged only by clients that authenticate.');
  }
  let verified: VerifiedIdentityAssertion;
  try {
    verified = await ctx.verify(params.required('assertion'), client.clientId, address);
  } catch (error) {
    if (error instanceof IdentityAssertionError) throw invalidGrant('The identity assertion is invalid, expired or already used.', `${error.code}: ${error.detail}`, error);
    throw error;
  }
  const route = assertedRoute(verified.resources, params.optional('resource'), ctx.endpoints);
  return issueSessionless(
    route,
    { identity: verified.identity, cid: client.cid, scope: assertedScope(verified.scope, params.optional('scope'), route) },
    (reason) => invalidGrant('Your account is not allowed to use this MCP server.', reason),
    ctx,
  );
}
