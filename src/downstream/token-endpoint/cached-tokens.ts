import { LRUCache } from 'lru-cache';
import { silentLogger, type LogFields, type Logger } from '../../observability/logger.js';
import { TokenEndpointError, withoutSecrets } from './errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, describeEndpoint, sendTokenRequest } from './token-fetch.js';
import { parseTokenResponse } from './token-response.js';

/** Every default of a token cache, in one place. */
export const TOKEN_CACHE_DEFAULTS = {
  timeoutMs: 10_000,
  refreshMarginSeconds: 30,
  defaultLifetimeSeconds: 300,
  maxEntries: 1000,
  maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
} as const;

export interface TokenCacheOptions {
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

export interface CachedToken {
  readonly accessToken: string;
  /** When the endpoint said it expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * `misses` counts every call that found no fresh token, including those that joined a
 * request already in flight; `fetches` counts token requests sent, `errors` those that failed.
 * Hit ratio = hits / (hits + misses).
 */
export interface TokenCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly fetches: number;
  readonly errors: number;
}

/** One token request, as the cache sends it when it has no fresh token under `key`. */
export interface TokenCall {
  /** Everything that makes this token different from another; a secret only as its digest. */
  readonly key: string;
  /** The checked token endpoint. */
  readonly url: URL;
  /** The POST, built only when it is sent. */
  readonly build: () => { headers: Headers; body: URLSearchParams };
  /** Every form of every secret the request carries, cut out of any error text. */
  readonly secrets: () => readonly string[];
  /** What the log says about the request besides its endpoint: never a secret. */
  readonly fields: LogFields;
}

interface Entry {
  readonly token: CachedToken;
  readonly refreshAt: number;
}

/**
 * Tokens a token endpoint issues to the proxy, cached in memory under a key the caller derives
 * until shortly before they expire. Concurrent misses for one key share one request; failures
 * are not cached. `label` names the kind of token in log lines ("client credentials token").
 */
export class CachedTokens {
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly settings: Required<Omit<TokenCacheOptions, 'clock' | 'fetch' | 'logger' | 'onCacheLookup'>>;
  private readonly cache: LRUCache<string, Entry>;
  private readonly pending = new Map<string, Promise<CachedToken>>();
  private readonly counters = { hits: 0, misses: 0, fetches: 0, errors: 0 };

  constructor(
    private readonly label: string,
    private readonly options: TokenCacheOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.settings = {
      timeoutMs: options.timeoutMs ?? TOKEN_CACHE_DEFAULTS.timeoutMs,
      refreshMarginSeconds: options.refreshMarginSeconds ?? TOKEN_CACHE_DEFAULTS.refreshMarginSeconds,
      defaultLifetimeSeconds: options.defaultLifetimeSeconds ?? TOKEN_CACHE_DEFAULTS.defaultLifetimeSeconds,
      maxEntries: options.maxEntries ?? TOKEN_CACHE_DEFAULTS.maxEntries,
      maxResponseBytes: options.maxResponseBytes ?? TOKEN_CACHE_DEFAULTS.maxResponseBytes,
    };
    for (const [name, value] of Object.entries(this.settings)) {
      const valid = name === 'refreshMarginSeconds' ? value >= 0 : value > 0;
      const integer = name === 'maxEntries' || name === 'maxResponseBytes';
      if (!Number.isFinite(value) || !valid || (integer && !Number.isInteger(value))) {
        throw new RangeError(`${label} cache: ${name} must be a ${name === 'refreshMarginSeconds' ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`);
      }
    }
    // lru-cache reads the same clock (ttlResolution 0: no memoised "now"), so tests can move time.
    this.cache = new LRUCache<string, Entry>({ max: this.settings.maxEntries, ttlResolution: 0, perf: { now: this.clock } });
  }

  async get(call: TokenCall): Promise<CachedToken> {
    const entry = this.cache.get(call.key);
    if (entry && this.clock() < entry.refreshAt) {
      this.counters.hits++;
      this.options.onCacheLookup?.(true);
      return entry.token;
    }
    this.counters.misses++;
    this.options.onCacheLookup?.(false);
    const inFlight = this.pending.get(call.key);
    if (inFlight) return inFlight;
    const task = this.fetchToken(call).finally(() => this.pending.delete(call.key));
    this.pending.set(call.key, task);
    return task;
  }

  /**
   * Forgets the cached token under `key`, as when the downstream answered 401 with it. With
   * `rejectedAccessToken`, only if that is still the cached one, so a token that another
   * request has already renewed is not thrown away.
   */
  invalidate(key: string, rejectedAccessToken?: string): void {
    const entry = this.cache.get(key);
    if (entry && (rejectedAccessToken === undefined || entry.token.accessToken === rejectedAccessToken)) this.cache.delete(key);
  }

  stats(): TokenCacheStats {
    return { ...this.counters };
  }

  private async fetchToken(call: TokenCall): Promise<CachedToken> {
    const where = describeEndpoint(call.url);
    const fields = { endpoint: where, ...call.fields };
    this.counters.fetches++;
    // The token was issued no earlier than now, so its lifetime is counted from here.
    const sentAt = this.clock();
    try {
      const raw = await sendTokenRequest(call.url, call.build(), {
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
      if (ttl > 0) this.cache.set(call.key, { token, refreshAt }, { ttl });
      this.logger.debug(`${this.label} obtained`, { ...fields, lifetimeSeconds: lifetime, cached: ttl > 0 });
      return token;
    } catch (caught) {
      this.counters.errors++;
      const error = withoutSecrets(
        caught instanceof TokenEndpointError ? caught : new TokenEndpointError('unavailable', `${where}: unexpected failure`, undefined, undefined, caught),
        call.secrets(),
      );
      this.logger.warn(`${this.label} request failed`, {
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
