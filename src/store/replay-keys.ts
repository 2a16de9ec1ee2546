/** The keys of the replay and revocation set, in one place so every backend agrees on them. */
export const replayKeys = {
  usedCode: (jti: string) => `code:${jti}`,
  usedTransaction: (jti: string) => `tx:${jti}`,
  consumedRefresh: (gid: string, generation: number) => `rt:${gid}:${generation}`,
  refreshGrace: (gid: string, generation: number) => `rt-grace:${gid}:${generation}`,
  revokedGrant: (gid: string) => `grant:${gid}`,
  revokedAccessToken: (jti: string) => `at:${jti}`,
  /** The grant's token was just refused for lacking a scope: its refresh is refused for a while (see step-up.ts). */
  stepUp: (gid: string) => `step-up:${gid}`,
  /** An identity assertion (ID-JAG) already exchanged: its issuer and `jti`. */
  usedIdentityAssertion: (issuer: string, jti: string) => `idjag:${JSON.stringify([issuer, jti])}`,
  /** Tokens of this user (upstream subject) issued at or before the stored time are revoked. */
  userNotBefore: (subject: string) => `nbf-user:${subject}`,
  /** Tokens of this client (its cid) issued at or before the stored time are revoked. */
  clientNotBefore: (cid: string) => `nbf-client:${cid}`,
} as const;
