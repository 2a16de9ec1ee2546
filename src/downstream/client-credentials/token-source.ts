import { LRUCache } from 'lru-cache';
import { silentLogger, type Logger } from '../../observability/logger.js';
import { cacheKey } from './cache-key.js';
import { ClientCredentialsError, withoutSecrets } from './errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, describeEndpoint, sendTokenRequest } from './token-fetch.js';
import { buildTokenRequest, checkRequest, secretForms, type ClientCredentialsRequest } from './token-request.js';
import { parseTokenResponse } from './token-response.js';

/** Every default of this module, in one place. */
export const CLIENT_CREDENTIALS_DEFAULTS = {
  timeoutMs: 10_000,
  refreshMarginSeconds: 30,
  defaultLifetimeSeconds: 300,
  maxEntries: 1000,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
} as const;

export interface ClientCredentialsTokensOptions {
  /** Milliseconds since the epoch. */
  clock?: () => number;
  /** Resolved at each call when absent, so a fetch patched later (msw) is the one used. */
  fetch?: typeof fetch;
  logger?: Logger;
  /** Covers the whole exchange, body included. */
  timeoutMs?: number;
  /** A token is reused until this long before it expires (at most half its lifetime). */
  refreshMarginSeconds?: number;
  /** The lifetime assumed when the response has no expires_in. */
  defaultLifetimeSeconds?: number;
  maxEntries?: number;
  maxResponseBytes?: number;
  /** Told of every lookup, for metrics: true when a fresh cached token was found. */
  onCacheLookup?: (hit: boolean) => void;
}

export interface ClientCredentialsToken {
  readonly accessToken: string;
  /** When the endpoint said it expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * `misses` counts every call that found no fresh token, including those that joined a
 * request already in flight; `fetches` counts token requests sent, `errors` those that failed.
 * Hit ratio = hits / (hits + misses).
 */
export interface ClientCredentialsStats {
  readonly hits: number;
  readonly misses: number;
  readonly fetches: number;
  readonly errors: number;
}

interface Entry {
  readonly token: ClientCredentialsToken;
  readonly refreshAt: number;
}

/**
 * Access tokens obtained with the client_credentials grant (RFC 6749 §4.4), cached per
 * (token URL, client_id, secret hash, auth method, scopes, resource, audience) until shortly
 * before they expire. Concurrent misses for one key share one request; failures are not cached.
 */
export class ClientCredentialsTokens {
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly settings: Required<Omit<ClientCredentialsTokensOptions, 'clock' | 'fetch' | 'logger' | 'onCacheLookup'>>;
  private readonly cache: LRUCache<string, Entry>;
  private readonly pending = new Map<string, Promise<ClientCredentialsToken>>();
  private readonly counters = { hits: 0, misses: 0, fetches: 0, errors: 0 };
  /**
   * The checked form and cache key of each request object, worked out once: a route's own client
   * sends the same (immutable) request object on every proxied call, and the key's digest and the
   * URL parse were a measurable share of one. Requests built per call are simply not found again.
   */
  private readonly checked = new WeakMap<ClientCredentialsRequest, { readonly url: URL; readonly scopes: string[]; readonly key: string }>();

  constructor(private readonly options: ClientCredentialsTokensOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.settings = {
      timeoutMs: options.timeoutMs ?? CLIENT_CREDENTIALS_DEFAULTS.timeoutMs,
      refreshMarginSeconds: options.refreshMarginSeconds ?? CLIENT_CREDENTIALS_DEFAULTS.refreshMarginSeconds,
      defaultLifetimeSeconds: options.defaultLifetimeSeconds ?? CLIENT_CREDENTIALS_DEFAULTS.defaultLifetimeSeconds,
      maxEntries: options.maxEntries ?? CLIENT_CREDENTIALS_DEFAULTS.maxEntries,
      maxResponseBytes: options.maxResponseBytes ?? CLIENT_CREDENTIALS_DEFAULTS.maxResponseBytes,
    };
    for (const [name, value] of Object.entries(this.settings)) {
      const valid = name === 'refreshMarginSeconds' ? value >= 0 : value > 0;
      const integer = name === 'maxEntries' || name === 'maxResponseBytes';
      if (!Number.isFinite(value) || !valid || (integer && !Number.isInteger(value))) {
        throw new RangeError(`ClientCredentialsTokens: ${name} must be a ${name === 'refreshMarginSeconds' ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`);
      }
    }
    // lru-cache reads the same clock (ttlResolution 0: no memoised "now"), so tests can move time.
    this.cache = new LRUCache<string, Entry>({ max: this.settings.maxEntries, ttlResolution: 0, perf: { now: this.clock } });
  }

  async getToken(request: ClientCredentialsRequest): Promise<ClientCredentialsToken> {
    const { url, scopes, key } = this.check(request);
    const entry = this.cache.get(key);
    if (entry && this.clock() < entry.refreshAt) {
      this.counters.hits++;
      this.options.onCacheLookup?.(true);
      return entry.token;
    }
    this.counters.misses++;
    this.options.onCacheLookup?.(false);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const task = this.fetchToken(url, request, scopes, key).finally(() => this.pending.delete(key));
    this.pending.set(key, task);
    return task;
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
   * With `rejectedAccessToken`, only if that is still the cached one, so a token that
   * another request has already renewed is not thrown away.
   */
  invalidate(request: ClientCredentialsRequest, rejectedAccessToken?: string): void {
    let key: string;
    try {
      key = this.check(request).key;
    } catch {
      return; // a request that cannot be sent never had a token
    }
    const entry = this.cache.get(key);
    if (entry && (rejectedAccessToken === undefined || entry.token.accessToken === rejectedAccessToken)) this.cache.delete(key);
  }

  stats(): ClientCredentialsStats {
    return { ...this.counters };
  }

  private async fetchToken(url: URL, request: ClientCredentialsRequest, scopes: readonly string[], key: string): Promise<ClientCredentialsToken> {
    const where = describeEndpoint(url);
    const fields = { endpoint: where, clientId: request.clientId, scope: scopes.join(' ') };
    this.counters.fetches++;
    // The token was issued no earlier than now, so its lifetime is counted from here.
    const sentAt = this.clock();
    try {
      const raw = await sendTokenRequest(url, buildTokenRequest(request, scopes), {
        fetch: this.options.fetch ?? globalThis.fetch,
        timeoutMs: this.settings.timeoutMs,
        maxResponseBytes: this.settings.maxResponseBytes,
      });
      const issued = parseTokenResponse(raw, where);
      const lifetime = issued.expiresInSeconds ?? this.settings.defaultLifetimeSeconds;
      const token = { accessToken: issued.accessToken, expiresAt: sentAt + lifetime * 1000 };
      // Short-lived tokens are still reused for half their life rather than never.
      const refreshAt = token.expiresAt - Math.min(this.settings.refreshMarginSeconds, lifetime / 2) * 1000;
      const ttl = Math.floor(refreshAt - this.clock());
      if (ttl > 0) this.cache.set(key, { token, refreshAt }, { ttl });
      this.logger.debug('client credentials token obtained', { ...fields, lifetimeSeconds: lifetime, cached: ttl > 0 });
      return token;
    } catch (caught) {
      this.counters.errors++;
      const error = withoutSecrets(
        caught instanceof ClientCredentialsError ? caught : new ClientCredentialsError('unavailable', `${where}: unexpected failure`, undefined, undefined, caught),
        secretForms(request),
      );
      this.logger.warn('client credentials token request failed', {
        ...fields,
        code: error.code,
        oauthError: error.oauthError,
        status: error.status,
        detail: error.detail,
      });
      throw error;
    }
  }
}
