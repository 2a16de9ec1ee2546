import type { Config } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import { randomToken } from '../crypto/encoding.js';
import type { Identity, UpstreamTokens } from '../domain/capsule-schemas.js';

interface GrantBase {
  readonly identity: Identity;
  readonly cid: string;
  /** The scope of the grant, which a rotated refresh token keeps. */
  readonly scope: string;
  /** A narrower scope the client asked for in this refresh, for the access token only. */
  readonly accessScope?: string;
  readonly resource: string;
  readonly gid: string;
}

/**
 * A grant with the user's upstream session, which may be refreshed; or one without (client
 * credentials, an identity assertion), which never gets a refresh token: there is nothing it
 * could be refreshed from but the credential the client presents anew.
 */
export type GrantState =
  | (GrantBase & {
      readonly upstream: UpstreamTokens;
      /** The generation the new refresh token carries; undefined when none is issued. */
      readonly refreshGeneration: number | undefined;
    })
  | (GrantBase & { readonly upstream?: undefined; readonly refreshGeneration?: undefined });

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

/**
 * Seals an access token (and a rotated refresh token) for a grant. The access
 * token never outlives the upstream access token it carries, so the client
 * refreshes before the downstream would start refusing it.
 */
export async function issueTokens(grant: GrantState, ctx: { capsules: CapsuleCodec; config: Config }): Promise<TokenResponse> {
  const now = ctx.capsules.nowSeconds();
  const upstreamExpiry = grant.upstream?.expires_at;
  const exp = Math.max(now + 1, Math.min(now + ctx.config.ttl.accessToken, upstreamExpiry ?? Number.POSITIVE_INFINITY));
  const accessScope = grant.accessScope ?? grant.scope;
  const accessToken = await ctx.capsules.seal('access', {
    identity: grant.identity,
    ...(grant.upstream ? { upstream: upstreamAccessOf(grant.upstream) } : {}),
    cid: grant.cid,
    scope: accessScope,
    aud: grant.resource,
    gid: grant.gid,
    jti: randomToken(32),
    iat: now,
    exp,
  });
  const response: TokenResponse = { access_token: accessToken, token_type: 'Bearer', expires_in: exp - now };
  if (accessScope) response.scope = accessScope;
  if (grant.refreshGeneration !== undefined) {
    response.refresh_token = await ctx.capsules.seal('refresh', {
      identity: grant.identity,
      upstream: grant.upstream,
      cid: grant.cid,
      scope: grant.scope,
      aud: grant.resource,
      gid: grant.gid,
      gen: grant.refreshGeneration,
      jti: randomToken(32),
      iat: now,
      exp: now + ctx.config.ttl.refreshToken,
    });
  }
  return response;
}

/** Only the access token travels in access capsules; the refresh token stays in refresh capsules. */
function upstreamAccessOf({ refresh_token: _refresh, ...access }: UpstreamTokens) {
  return access;
}
