import type { Logger } from '../observability/logger.js';
import { UpstreamError, type UpstreamClient } from '../upstream/upstream-client.js';
import { upstreamRevocation, type Opened } from './revoke.js';

/**
 * Tells the provider too, where it has a revocation endpoint. Our revocation
 * already holds, so a provider that fails is logged, never surfaced: RFC 7009
 * gives the client nothing to do about it.
 *
 * Only a revoked refresh token, which ends our whole grant, is forwarded. One
 * access token is not the grant: its upstream token is shared by every access
 * token of the grant until the next upstream refresh, and providers such as
 * oidc-provider and Google end the whole upstream grant when it is revoked.
 */
export async function forwardRevocation(upstream: UpstreamClient, revoked: Opened, logger: Logger): Promise<void> {
  if (revoked.kind === 'access') return;
  const { token, hint } = upstreamRevocation(revoked.token);
  try {
    const outcome = await upstream.revoke(token, hint);
    logger.info('upstream revocation', { outcome, token_type_hint: hint });
  } catch (error) {
    logger.warn('upstream revocation failed', { token_type_hint: hint, detail: error instanceof UpstreamError ? error.detail : String(error) });
  }
}
