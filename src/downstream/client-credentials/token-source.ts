import { secretForms } from '../token-endpoint/client-auth.js';
import { CachedTokens, type CachedToken, type TokenCacheOptions, type TokenCacheStats } from '../token-endpoint/cached-tokens.js';
import { cacheKey } from './cache-key.js';
import { buildTokenRequest, checkRequest, type ClientCredentialsRequest } from './token-request.js';

/**
 * Access tokens obtained with the client_credentials grant (RFC 6749 §4.4), cached per
 * (token URL, client_id, secret hash, auth method, scopes, resource, audience) until shortly
 * before they expire. Concurrent misses for one key share one request; failures are not cached.
 */
export class ClientCredentialsTokens {
  private readonly tokens: CachedTokens;
  /**
   * The checked form and cache key of each request object, worked out once: a route's own client
   * sends the same (immutable) request object on every proxied call, and the key's digest and the
   * URL parse were a measurable share of one. Requests built per call are simply not found again.
   */
  private readonly checked = new WeakMap<ClientCredentialsRequest, { readonly url: URL; readonly scopes: string[]; readonly key: string }>();

  constructor(options: TokenCacheOptions = {}) {
    this.tokens = new CachedTokens('client credentials token', options);
  }

  async getToken(request: ClientCredentialsRequest): Promise<CachedToken> {
    const { url, scopes, key } = this.check(request);
    return this.tokens.get({
      key,
      url,
      build: () => buildTokenRequest(request, scopes),
      secrets: () => secretForms(request),
      fields: { clientId: request.clientId, scope: scopes.join(' ') },
    });
  }

  /** The request checked (it throws for one that cannot be sent), with its cache key. */
  private check(request: ClientCredentialsRequest): { readonly url: URL; readonly scopes: string[]; readonly key: string } {
    let checked = this.checked.get(request);
    if (checked === undefined) {
      const { url, scopes } = checkRequest(request);
      checked = { url, scopes, key: cacheKey(url, request, scopes) };
      this.checked.set(request, checked);
    }
    return checked;
  }

  /**
   * Forgets the cached token for this request, as when the downstream answered 401 with it.
   * With `rejectedAccessToken`, only if that is still the cached one.
   */
  invalidate(request: ClientCredentialsRequest, rejectedAccessToken?: string): void {
    let key: string;
    try {
      key = this.check(request).key;
    } catch {
      return; // a request that cannot be sent never had a token
    }
    this.tokens.invalidate(key, rejectedAccessToken);
  }

  stats(): TokenCacheStats {
    return this.tokens.stats();
  }
}
