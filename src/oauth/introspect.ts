import { verifyBearer } from '../mcp/bearer.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import type { ReplayStore } from '../store/replay-store.js';
import type { ResolvedClient } from './clients.js';
import type { Endpoints } from './endpoints.js';
import { OAuthError } from './errors.js';
import type { Params } from './params.js';

/**
 * RFC 7662 for MCP servers that check a proxy access token themselves. Only
 * confidential clients the operator configured may ask (§2.1: no token scanning by
 * self-registered clients); inactive tokens say nothing but `active: false`.
 */
export async function introspectToken(
  caller: ResolvedClient,
  params: Params,
  ctx: { capsules: CapsuleCodec; replay: ReplayStore; endpoints: Endpoints },
): Promise<Record<string, unknown>> {
  if (caller.kind !== 'configured' || caller.registration.token_endpoint_auth_method === 'none') {
    throw new OAuthError('unauthorized_client', 'Only confidential clients configured by the operator may introspect tokens.', 400);
  }
  const value = params.required('token');
  for (const route of ctx.endpoints.protectedRoutes) {
    const result = await verifyBearer(`Bearer ${value}`, { capsules: ctx.capsules, replay: ctx.replay, resource: route.resource });
    if (!result.ok) continue;
    const { token } = result;
    return {
      active: true,
      token_type: 'Bearer',
      iss: ctx.endpoints.issuer,
      aud: token.aud,
      sub: token.identity.sub,
      ...(token.identity.email && token.identity.email_verified === true ? { email: token.identity.email } : {}),
      ...(token.scope ? { scope: token.scope } : {}),
      client_id_digest: token.cid,
      iat: token.iat,
      exp: token.exp,
    };
  }
  return { active: false };
}
