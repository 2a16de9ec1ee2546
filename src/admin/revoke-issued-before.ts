import * as z from 'zod';
import { shortDigest } from '../crypto/encoding.js';
import type { ReplayStore } from '../store/replay-store.js';
import { revokeIssuedBefore } from '../store/revocation.js';

/**
 * "Revoke everything of this user, or of this client, issued until now": the
 * request shared by the admin API and `mcp-capsule revoke`.
 */
export const issuedBeforeRequestSchema = z
  .object({
    /** The upstream subject (user ID), as the audit log's `user.sub` shows it. */
    user: z.string().min(1).max(1024).optional(),
    /** A client_id, or the client id digest the audit log shows as `client.id`. */
    client: z.string().min(1).max(8192).optional(),
  })
  .strict()
  .refine((request) => (request.user === undefined) !== (request.client === undefined), 'give exactly one of "user" and "client"');
export type IssuedBeforeRequest = z.infer<typeof issuedBeforeRequestSchema>;

export async function revokeEverythingIssuedBefore(
  replay: ReplayStore,
  request: IssuedBeforeRequest,
  ctx: { readonly nowSeconds: number; readonly refreshTtlSeconds: number },
): Promise<{ readonly not_before: number }> {
  const { nowSeconds, refreshTtlSeconds } = ctx;
  if (request.user !== undefined) {
    await revokeIssuedBefore(replay, { user: request.user }, nowSeconds, refreshTtlSeconds);
  } else {
    const client = request.client!;
    // Tokens name their client by digest; an operator may hold either the client_id or the digest from the audit log.
    for (const cid of new Set([await shortDigest(client), client])) {
      await revokeIssuedBefore(replay, { cid }, nowSeconds, refreshTtlSeconds);
    }
  }
  return { not_before: nowSeconds };
}
