import { replayKeys } from './replay-keys.js';
import type { ReplayStore } from './replay-store.js';

/** What a token or code says about the grant it belongs to. */
export interface GrantReference {
  readonly gid: string;
  readonly cid: string;
  readonly subject: string;
  /** When this token (or code) was issued, in epoch seconds. */
  readonly issuedAt: number;
  /** Access tokens only: they can be revoked one by one. */
  readonly jti?: string;
}

export type RevocationReason = 'grant revoked' | 'token revoked' | 'revoked for the user' | 'revoked for the client';

/**
 * Why a token may no longer be used, if it may not: its grant or itself was
 * revoked, or it was issued at or before a not-before time of its user or client.
 * One read, so a shared backend costs one round trip per check.
 */
export async function revocationOf(replay: ReplayStore, ref: GrantReference): Promise<RevocationReason | undefined> {
  const keys = [replayKeys.revokedGrant(ref.gid), replayKeys.userNotBefore(ref.subject), replayKeys.clientNotBefore(ref.cid)];
  if (ref.jti !== undefined) keys.push(replayKeys.revokedAccessToken(ref.jti));
  const [grant, userNotBefore, clientNotBefore, token] = await replay.read(keys);
  if (grant !== undefined) return 'grant revoked';
  if (token !== undefined) return 'token revoked';
  // "At or before": a token issued in the same second as the revocation may predate it.
  if (userNotBefore !== undefined && ref.issuedAt <= userNotBefore) return 'revoked for the user';
  if (clientNotBefore !== undefined && ref.issuedAt <= clientNotBefore) return 'revoked for the client';
  return undefined;
}

export type RevocationTarget = { readonly user: string } | { readonly cid: string };

/**
 * Ends every token of a user or a client issued until now. The time is kept as
 * long as the longest-lived token it could apply to.
 */
export async function revokeIssuedBefore(replay: ReplayStore, target: RevocationTarget, nowSeconds: number, refreshTtlSeconds: number): Promise<void> {
  const key = 'user' in target ? replayKeys.userNotBefore(target.user) : replayKeys.clientNotBefore(target.cid);
  await replay.raise(key, nowSeconds, refreshTtlSeconds);
}
