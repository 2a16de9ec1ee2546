import * as oauth from 'oauth4webapi';
import type { Identity } from '../../domain/capsule-schemas.js';
import type { ResolvedOidcUpstream } from '../settings.js';
import { UpstreamError } from '../upstream-client.js';
import { identityFromClaims, missingClaims } from './claims.js';

/**
 * The identity in the ID token oauth4webapi validated (issuer, audience, nonce,
 * expiry), completed from userinfo when mapped claims are missing. Userinfo
 * must name the same subject; it never replaces what the ID token says.
 */
export async function oidcIdentity(
  resolved: ResolvedOidcUpstream,
  server: oauth.AuthorizationServer,
  client: oauth.Client,
  result: oauth.TokenEndpointResponse,
  options: oauth.UserInfoRequestOptions,
): Promise<Identity> {
  const idToken = oauth.getValidatedIdTokenClaims(result);
  if (!idToken) throw new UpstreamError('unavailable', 'token response: no ID token');
  const claims: Record<string, unknown> = { ...idToken };
  if (resolved.userinfo === 'when-missing' && server.userinfo_endpoint && missingClaims(claims, resolved.claims).length > 0) {
    const response = await oauth.userInfoRequest(server, client, result.access_token, options);
    const userinfo = await oauth.processUserInfoResponse(server, client, idToken.sub, response);
    for (const [name, value] of Object.entries(userinfo)) claims[name] ??= value;
  }
  return identityFromClaims(claims, resolved.claims);
}
