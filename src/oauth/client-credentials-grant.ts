import { clientSubject } from '../domain/client-subject.js';
import { grantedScope } from './authorize.js';
import type { ResolvedClient } from './clients.js';
import { OAuthError } from './errors.js';
import type { GrantResult } from './grants.js';
import type { Params } from './params.js';
import { issueSessionless, sessionlessRoute, type SessionlessGrantContext } from './sessionless-grant.js';

/**
 * OAuth 2.1 §4.2, for clients the operator configured with it (MCP's client-credentials
 * extension): the client, authenticated, gets an access token whose subject is itself
 * (`client:<client_id>`, see src/domain/client-subject.ts). Scope and resource are checked as
 * at /authorize; the route must need no user's upstream token.
 */
export async function clientCredentialsGrant(client: ResolvedClient, params: Params, ctx: SessionlessGrantContext): Promise<GrantResult> {
  // A public client proves nothing by naming itself; configuration refuses the combination too.
  if (client.registration.token_endpoint_auth_method === 'none') {
    throw new OAuthError('unauthorized_client', 'The client_credentials grant is only for clients that authenticate.');
  }
  const route = sessionlessRoute(params.optional('resource'), ctx.endpoints);
  const name = client.registration.client_name;
  return issueSessionless(
    route,
    {
      identity: { sub: clientSubject(client.clientId), ...(name ? { name } : {}) },
      cid: client.cid,
      scope: grantedScope(params.optional('scope'), route, false),
    },
    (reason) => new OAuthError('unauthorized_client', 'This client is not allowed to use this MCP server.', 400, reason),
    ctx,
  );
}
