import type { Logger } from '../../observability/logger.js';
import { silentLogger } from '../../observability/logger.js';
import { SafeFetchError } from '../../net/errors.js';
import { safeFetch, DEFAULT_FETCH_TIMEOUT_MS } from '../../net/safe-fetch.js';
import type { HostLookup } from '../../net/target-guard.js';
import { cacheBoundsFrom, cacheLifetimeSeconds, type CacheBounds } from './cache-lifetime.js';
import { publicJwksSchema, type PublicJwks } from './document.js';
import { ClientAssertionError } from './errors.js';
import { FetchCache } from './fetch-cache.js';

export const CLIENT_JWKS_DEFAULTS = {
  fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  /** A handful of RSA keys fit comfortably. */
  maxBytes: 32 * 1024,
  minCacheSeconds: 60,
  maxCacheSeconds: 60 * 60,
  defaultCacheSeconds: 5 * 60,
  /** A key-id miss refetches a cached set at most this often. */
  refetchCooldownSeconds: 30,
  maxEntries: 1_000,
} as const;

/** Gives the key set at a client's jwks_uri; `refresh` asks for a rate-limited refetch after a key-id miss. */
export type JwksFetcher = (jwksUri: string, options: { refresh: boolean }) => Promise<PublicJwks>;

export interface ClientJwksCacheOptions {
  allowPrivateNetwork: boolean;
  clock?: () => number;
  logger?: Logger;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  minCacheSeconds?: number;
  maxCacheSeconds?: number;
  defaultCacheSeconds?: number;
  refetchCooldownSeconds?: number;
  maxEntries?: number;
  lookup?: HostLookup;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Key sets published at clients' jwks_uri, fetched through the SSRF guard and cached
 * per HTTP caching headers within bounds. A failed refetch keeps the cached set.
 */
export class ClientJwksCache {
  private readonly cache: FetchCache<PublicJwks>;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly bounds: CacheBounds;

  constructor(private readonly options: ClientJwksCacheOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.bounds = cacheBoundsFrom(options, CLIENT_JWKS_DEFAULTS);
    this.cache = new FetchCache(options.maxEntries ?? CLIENT_JWKS_DEFAULTS.maxEntries, this.clock);
  }

  readonly fetch: JwksFetcher = (jwksUri, { refresh }) => {
    const cooldownMs = (this.options.refetchCooldownSeconds ?? CLIENT_JWKS_DEFAULTS.refetchCooldownSeconds) * 1000;
    return this.cache.get(jwksUri, () => this.load(jwksUri), refresh ? { refreshOlderThanMs: cooldownMs } : {});
  };

  private async load(jwksUri: string): Promise<{ value: PublicJwks; ttlSeconds: number }> {
    let detail: string;
    try {
      const response = await safeFetch(jwksUri, {
        allowPrivateNetwork: this.options.allowPrivateNetwork,
        timeoutMs: this.options.fetchTimeoutMs ?? CLIENT_JWKS_DEFAULTS.fetchTimeoutMs,
        maxBytes: this.options.maxBytes ?? CLIENT_JWKS_DEFAULTS.maxBytes,
        accept: 'application/jwk-set+json, application/json',
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      });
      const parsed = publicJwksSchema.safeParse(JSON.parse(decoder.decode(response.body)));
      if (parsed.success) return { value: parsed.data, ttlSeconds: cacheLifetimeSeconds(response.headers, this.clock(), this.bounds) };
      detail = `invalid key set: ${parsed.error.issues[0]?.message ?? 'unknown'}`;
    } catch (error) {
      detail = error instanceof SafeFetchError ? `${error.code}: ${error.message}` : 'the body is not UTF-8 JSON';
    }
    this.logger.warn('client jwks_uri refused', { jwks_uri: jwksUri, detail });
    throw new ClientAssertionError('keys_unavailable', `jwks_uri: ${detail}`);
  }
}
