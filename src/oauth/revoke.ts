import { CapsuleError, type CapsuleCodec } from '../crypto/capsule.js';
import type { AccessPayload, RefreshPayload } from '../domain/capsule-schemas.js';
import { replayKeys } from '../store/replay-keys.js';
import type { ReplayStore } from '../store/replay-store.js';
import type { ResolvedClient } from './clients.js';
import { OAuthError } from './errors.js';
import type { Params } from './params.js';

export type Opened = { kind: 'refresh'; token: RefreshPayload } | { kind: 'access'; token: AccessPayload };

export type RevocationOutcome = { readonly outcome: 'revoked'; readonly revoked: Opened } | { readonly outcome: 'unknown' };

async function tryOpen(capsules: CapsuleCodec, kind: 'refresh' | 'access', value: string): Promise<Opened | undefined> {
  try {
    return kind === 'refresh' ? { kind, token: await capsules.open('refresh', value) } : { kind, token: await capsules.open('access', value) };
  } catch (error) {
    if (error instanceof CapsuleError) return undefined;
    throw error;
  }
}

/**
 * RFC 7009. The hint only decides which kind is tried first (§2.1: the other is
 * searched too). Revoking a refresh token ends its whole grant, access tokens
 * included; revoking an access token ends that token. Unknown, expired or
 * foreign-key tokens are answered like successes (§2.2).
 */
export async function revokeToken(
  client: ResolvedClient,
  params: Params,
  ctx: { capsules: CapsuleCodec; replay: ReplayStore; refreshTtl: number },
): Promise<RevocationOutcome> {
  const value = params.required('token');
  const hint = params.optional('token_type_hint');
  const order: Array<'refresh' | 'access'> = hint === 'access_token' ? ['access', 'refresh'] : ['refresh', 'access'];
  let opened: Opened | undefined;
  for (const kind of order) {
    opened ??= await tryOpen(ctx.capsules, kind, value);
  }
  if (!opened) return { outcome: 'unknown' };
  // §2.1: a client may revoke only its own tokens.
  if (opened.token.cid !== client.cid) throw new OAuthError('unauthorized_client', 'The token was not issued to this client.', 400);
  if (opened.kind === 'refresh') {
    await ctx.replay.markOnce(replayKeys.revokedGrant(opened.token.gid), ctx.refreshTtl);
  } else {
    const remaining = Math.max(1, opened.token.exp - ctx.capsules.nowSeconds());
    await ctx.replay.markOnce(replayKeys.revokedAccessToken(opened.token.jti), remaining);
  }
  return { outcome: 'revoked', revoked: opened };
}

/**
 * What to revoke at the upstream provider for a revoked refresh token: the
 * upstream refresh token ends the provider's whole grant, as ours ended.
 */
export function upstreamRevocation(token: RefreshPayload): { token: string; hint: 'access_token' | 'refresh_token' } {
  if (token.upstream.refresh_token) return { token: token.upstream.refresh_token, hint: 'refresh_token' };
  return { token: token.upstream.access_token, hint: 'access_token' };
}
