import { credentialDigest } from '../credential.js';
import type { ClientCredentialsRequest } from './token-request.js';

/**
 * Everything that makes one token different from another. The secret is in it only as its
 * SHA-256, so a cached token is handed out only to a caller who presents the very secret it
 * was obtained with, and no secret is ever kept as a key. A JSON array, so no value can
 * forge a separator. It runs on every proxied request, hence a synchronous digest.
 */
export function cacheKey(tokenUrl: URL, request: ClientCredentialsRequest, scopes: readonly string[]): string {
  return JSON.stringify([
    tokenUrl.href,
    request.clientId,
    credentialDigest(request.clientSecret),
    request.authMethod,
    scopes,
    request.resource ?? null,
    request.audience ?? null,
  ]);
}
