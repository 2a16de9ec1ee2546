import { CapsuleError, type CapsuleCodec } from '../crypto/capsule.js';
import type { AccessPayload } from '../domain/capsule-schemas.js';
import { revocationOf } from '../store/revocation.js';
import type { ReplayStore } from '../store/replay-store.js';

export type BearerResult =
  | { readonly ok: true; readonly token: AccessPayload }
  | { readonly ok: false; readonly reason: 'missing' | 'invalid'; readonly detail: string };

/** RFC 6750 §2.1: the scheme in any case, one or more spaces, a b64token; surrounding whitespace is ignored. */
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i;
/** How nearly every client writes it. */
const USUAL_PREFIX = 'Bearer ';

/**
 * Checks the access token of one MCP request: ours, this kind, this audience,
 * unexpired, not revoked. Tokens are read from the Authorization header only.
 */
export async function verifyBearer(
  authorization: string | undefined,
  ctx: { capsules: CapsuleCodec; replay: ReplayStore; resource: string },
): Promise<BearerResult> {
  if (!authorization) return { ok: false, reason: 'missing', detail: 'no Authorization header' };
  // A token opened before, written the usual way, skips the syntax check: an opened token is a
  // compact serialization, itself a b64token, so BEARER would accept the header as it is.
  let token = authorization.startsWith(USUAL_PREFIX) ? ctx.capsules.openedAccess(authorization.slice(USUAL_PREFIX.length)) : undefined;
  if (token === undefined) {
    const match = BEARER.exec(authorization.trim());
    if (!match) return { ok: false, reason: 'invalid', detail: 'not a Bearer credential' };
    try {
      // Cached once opened; the revocation check below still runs on every request.
      token = await ctx.capsules.openAccess(match[1]!);
    } catch (error) {
      if (error instanceof CapsuleError) return { ok: false, reason: 'invalid', detail: error.reason };
      throw error;
    }
  }
  if (token.aud !== ctx.resource) return { ok: false, reason: 'invalid', detail: `audience ${token.aud}` };
  const revoked = await revocationOf(ctx.replay, { gid: token.gid, cid: token.cid, subject: token.identity.sub, issuedAt: token.iat, jti: token.jti });
  if (revoked) return { ok: false, reason: 'invalid', detail: revoked };
  const upstreamExpiry = token.upstream?.expires_at;
  if (upstreamExpiry !== undefined && upstreamExpiry <= ctx.capsules.nowSeconds()) {
    return { ok: false, reason: 'invalid', detail: 'upstream token expired' };
  }
  return { ok: true, token };
}
