import type { Config } from '../config/schema.js';
import { CapsuleError, type CapsuleCodec } from '../crypto/capsule.js';
import { verifyS256 } from '../crypto/pkce.js';
import type { Logger } from '../observability/logger.js';
import type { AccessPolicy } from '../policy/access-policy.js';
import { replayKeys } from '../store/replay-keys.js';
import type { ReplayStore } from '../store/replay-store.js';
import { revocationOf } from '../store/revocation.js';
import { UpstreamError, type UpstreamClient } from '../upstream/upstream-client.js';
import type { ResolvedClient } from './clients.js';
import { invalidGrant, invalidRequest, invalidScope, invalidTarget, temporarilyUnavailable } from './errors.js';
import type { Params } from './params.js';
import { matchResource } from '../config/redirect-uri.js';
import type { Identity } from '../domain/capsule-schemas.js';
import { scopeTokens, scopesLacking } from '../domain/scope.js';
import { issueTokens, type GrantState, type TokenResponse } from './token-issuer.js';

export interface GrantContext {
  readonly capsules: CapsuleCodec;
  readonly config: Config;
  readonly replay: ReplayStore;
  /** The route a token's audience names: its identity provider and access policy; undefined when no route serves it any more. */
  readonly routeOf: (audience: string) => { readonly upstream: UpstreamClient; readonly access: AccessPolicy } | undefined;
  readonly logger: Logger;
}

// Refresh the upstream access token when it has less than this left.
const UPSTREAM_REFRESH_MARGIN_SECONDS = 60;
/**
 * A refresh token presented again this soon after its first use is a client
 * racing itself (the MCP SDK refreshes from its POST and its GET stream at
 * once), not a thief: it gets tokens too instead of ending the grant.
 */
export const REFRESH_REUSE_GRACE_SECONDS = 30;

async function openOrInvalidGrant<K extends 'code' | 'refresh'>(ctx: GrantContext, kind: K, value: string, what: string) {
  try {
    return await ctx.capsules.open(kind, value);
  } catch (error) {
    if (error instanceof CapsuleError) throw invalidGrant(`The ${what} is invalid or expired.`, error.detail, error);
    throw error;
  }
}

function checkResource(params: Params, bound: string): void {
  const resource = params.optional('resource');
  if (resource !== undefined && !matchResource(resource, bound)) {
    throw invalidTarget('The resource parameter does not match the resource of this grant.');
  }
}

/** OAuth 2.1 §4.1.3: the code, the client it was issued to, redirect_uri, PKCE, resource; once only. */
/** The tokens, and whom they were issued to (for the audit log). */
export interface GrantResult {
  readonly response: TokenResponse;
  readonly identity: Identity;
  readonly resource: string;
}

export async function issueGrant(grant: GrantState, ctx: { capsules: CapsuleCodec; config: Config }): Promise<GrantResult> {
  return { response: await issueTokens(grant, ctx), identity: grant.identity, resource: grant.resource };
}

export async function authorizationCodeGrant(client: ResolvedClient, params: Params, ctx: GrantContext): Promise<GrantResult> {
  const code = await openOrInvalidGrant(ctx, 'code', params.required('code'), 'authorization code');
  if (code.cid !== client.cid) throw invalidGrant('The authorization code was issued to another client.');
  const redirectUri = params.optional('redirect_uri');
  if (redirectUri !== undefined && redirectUri !== code.redirect_uri) {
    throw invalidGrant('redirect_uri does not match the authorization request.');
  }
  const verifier = params.optional('code_verifier');
  if (verifier === undefined) throw invalidRequest('The code_verifier parameter is required (PKCE).');
  if (!(await verifyS256(verifier, code.code_challenge))) throw invalidGrant('The code_verifier does not match the code_challenge.');
  checkResource(params, code.resource);
  const issuedAt = code.exp - ctx.config.ttl.authorizationCode;
  const revoked = await revocationOf(ctx.replay, { gid: code.jti, cid: code.cid, subject: code.identity.sub, issuedAt });
  if (revoked) throw invalidGrant('The authorization code has been revoked.', revoked);

  // Only a fully valid redemption counts: a second one revokes what the first obtained (OAuth 2.1 §4.1.3).
  if (!(await ctx.replay.markOnce(replayKeys.usedCode(code.jti), ctx.config.ttl.authorizationCode + 60))) {
    await ctx.replay.markOnce(replayKeys.revokedGrant(code.jti), ctx.config.ttl.refreshToken);
    ctx.logger.warn('authorization code replayed; grant revoked', { gid: code.jti });
    throw invalidGrant('The authorization code has already been used.');
  }
  return issueGrant(
    {
      identity: code.identity,
      upstream: code.upstream,
      cid: code.cid,
      scope: code.scope,
      resource: code.resource,
      gid: code.jti,
      refreshGeneration: code.refresh ? 0 : undefined,
    },
    ctx,
  );
}

async function revokeReusedGrant(token: { gid: string; gen: number }, ctx: GrantContext): Promise<never> {
  await ctx.replay.markOnce(replayKeys.revokedGrant(token.gid), ctx.config.ttl.refreshToken);
  ctx.logger.warn('refresh token reused; grant revoked', { gid: token.gid, generation: token.gen });
  throw invalidGrant('The refresh token has already been used.');
}

/** RFC 6749 §6: a refresh may ask for part of the granted scope, never for more. */
function narrowedScope(requested: string | undefined, granted: string): string {
  if (requested === undefined) return granted;
  const tokens = scopeTokens(requested);
  if (scopesLacking(scopeTokens(granted), tokens).length > 0) throw invalidScope('A refresh cannot widen the granted scope.');
  return tokens.join(' ');
}

/**
 * OAuth 2.1 §4.3: rotation with reuse detection. Each refresh token carries a
 * generation; presenting one that was already consumed revokes the grant.
 */
export async function refreshTokenGrant(client: ResolvedClient, params: Params, ctx: GrantContext): Promise<GrantResult> {
  const token = await openOrInvalidGrant(ctx, 'refresh', params.required('refresh_token'), 'refresh token');
  if (token.cid !== client.cid) throw invalidGrant('The refresh token was issued to another client.');
  checkResource(params, token.aud);
  const accessScope = narrowedScope(params.optional('scope'), token.scope);
  const route = ctx.routeOf(token.aud);
  if (!route) throw invalidGrant('The MCP server of this grant is no longer served here.');
  // Policy can change while grants live: a user no longer allowed gets no new tokens.
  const decision = route.access.decide(token.identity);
  if (!decision.allowed) throw invalidGrant('Your account is no longer allowed to use this MCP server.', decision.reason);

  const consumedKey = replayKeys.consumedRefresh(token.gid, token.gen);
  const graceKey = replayKeys.refreshGrace(token.gid, token.gen);
  const revoked = await revocationOf(ctx.replay, { gid: token.gid, cid: token.cid, subject: token.identity.sub, issuedAt: token.iat });
  if (revoked) throw invalidGrant('The grant has been revoked.', revoked);
  // One read for all three: with Redis, one round trip.
  const [consumed, inGrace, steppingUp] = await ctx.replay.read([consumedKey, graceKey, replayKeys.stepUp(token.gid)]);
  if (consumed !== undefined && inGrace === undefined) await revokeReusedGrant(token, ctx);
  if (steppingUp !== undefined) throw invalidGrant('The MCP server needs a scope this grant lacks; authorize again with it.', 'step-up pending');

  // The upstream call comes before consuming the generation, so a failed upstream leaves the token usable for a retry.
  let upstream = token.upstream;
  const now = ctx.capsules.nowSeconds();
  if (upstream.expires_at !== undefined && upstream.expires_at - now < UPSTREAM_REFRESH_MARGIN_SECONDS) {
    if (!upstream.refresh_token) throw invalidGrant('The upstream session has expired; sign in again.');
    try {
      upstream = await route.upstream.refresh(upstream.refresh_token);
    } catch (error) {
      if (error instanceof UpstreamError && error.kind === 'invalid_grant') {
        throw invalidGrant('The upstream session has ended; sign in again.', error.detail, error);
      }
      throw temporarilyUnavailable(error instanceof UpstreamError ? error.detail : String(error), error);
    }
  }

  // The grace marker is set first so a concurrent second use always finds it.
  const graceStartedNow = await ctx.replay.markOnce(graceKey, REFRESH_REUSE_GRACE_SECONDS);
  const firstUse = await ctx.replay.markOnce(consumedKey, ctx.config.ttl.refreshToken);
  if (!firstUse && graceStartedNow) await revokeReusedGrant(token, ctx);
  return issueGrant(
    {
      identity: token.identity,
      upstream,
      cid: token.cid,
      scope: token.scope,
      accessScope,
      resource: token.aud,
      gid: token.gid,
      refreshGeneration: token.gen + 1,
    },
    ctx,
  );
}
