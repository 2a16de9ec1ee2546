import { credentialDigest } from '../credential.js';
import { authenticatedTokenRequest, secretForms, type TokenClient } from '../token-endpoint/client-auth.js';
import { CachedTokens, type CachedToken, type TokenCacheOptions, type TokenCacheStats } from '../token-endpoint/cached-tokens.js';
import { grantParameters, type ExchangeGrant } from './grant.js';

/** One user's upstream token, to be traded for the downstream's. */
export interface ExchangeRequest {
  /** The checked token endpoint. */
  readonly tokenUrl: URL;
  readonly client: TokenClient;
  readonly grant: ExchangeGrant;
  /** The user's upstream token that the grant sends. */
  readonly subjectToken: string;
}

/**
 * Everything that makes one exchanged token different from another: the endpoint, the client,
 * what is asked for, and whose token it stands for. The subject token is in it only as its
 * SHA-256, so a cached token goes only to a request that carries the very token it was exchanged
 * for, and no user's token is kept as a key. A JSON array, so no value can forge a separator.
 */
export function exchangeKey(request: ExchangeRequest): string {
  const { grant } = request;
  const asked = grant.kind === 'token-exchange' ? [grant.subjectToken, grant.audience ?? null, grant.resource ?? null] : [];
  return JSON.stringify([request.tokenUrl.href, request.client.clientId, grant.kind, ...asked, grant.scopes, credentialDigest(request.subjectToken)]);
}

/**
 * Tokens obtained by exchanging users' upstream tokens (RFC 8693 token exchange, Entra's
 * on-behalf-of), cached per user and request until shortly before they expire. Concurrent misses
 * for one key share one request; refusals and failures are not cached.
 */
export class TokenExchanges {
  private readonly tokens: CachedTokens;

  constructor(options: TokenCacheOptions = {}) {
    this.tokens = new CachedTokens('exchanged token', options);
  }

  exchange(request: ExchangeRequest): Promise<CachedToken> {
    const { grant, client, subjectToken } = request;
    return this.tokens.get({
      key: exchangeKey(request),
      url: request.tokenUrl,
      build: () => authenticatedTokenRequest(client, grantParameters(grant, subjectToken)),
      secrets: () => [...secretForms(client), subjectToken, encodeURIComponent(subjectToken)],
      fields: {
        clientId: client.clientId,
        grant: grant.kind,
        ...(grant.kind === 'token-exchange' ? { audience: grant.audience, resource: grant.resource } : {}),
        scope: grant.scopes.join(' '),
      },
    });
  }

  /** Forgets the token exchanged for this request, unless it was already renewed since `rejectedAccessToken` was handed out. */
  invalidate(request: ExchangeRequest, rejectedAccessToken?: string): void {
    this.tokens.invalidate(exchangeKey(request), rejectedAccessToken);
  }

  stats(): TokenCacheStats {
    return this.tokens.stats();
  }
}
