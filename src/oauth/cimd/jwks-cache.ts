import { DEFAULT_FETCH_TIMEOUT_MS } from '../../net/safe-fetch.js';
import { publicJwksSchema, type PublicJwks } from '../../domain/public-jwks.js';
import { ClientAssertionError } from './errors.js';
import { PublishedJson, type PublishedJsonOptions } from './published-json.js';

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

/**
 * Gives the key set at a client's jwks_uri; `refresh` asks for a rate-limited refetch after a
 * key-id miss; `address`, the requesting client's, is charged for a fetch the cache cannot spare.
 */
export type JwksFetcher = (jwksUri: string, options: { refresh: boolean; address?: string }) => Promise<PublicJwks>;

export interface ClientJwksCacheOptions extends PublishedJsonOptions {
  refetchCooldownSeconds?: number;
  /** Whose key sets these are, for the log: `client` (the default) or `issuer`. */
  whose?: string;
  /** Counts a fetch caused by a client address: 0 lets it go ahead, more refuses it (see ClientMetadataDocuments.chargeFetch). */
  chargeFetch?: (address: string) => number;
}

/**
 * Key sets published at clients' jwks_uri (and trusted identity issuers'), fetched through the
 * SSRF guard and cached per HTTP caching headers within bounds. A failed refetch keeps the cached set.
 */
export class ClientJwksCache {
  private readonly keySets: PublishedJson<PublicJwks>;

  private readonly whose: string;

  constructor(private readonly options: ClientJwksCacheOptions) {
    this.keySets = new PublishedJson(options, CLIENT_JWKS_DEFAULTS, 'application/jwk-set+json, application/json');
    this.whose = options.whose ?? 'client';
  }

  readonly fetch: JwksFetcher = (jwksUri, { refresh, address }) => {
    const cooldownMs = (this.options.refetchCooldownSeconds ?? CLIENT_JWKS_DEFAULTS.refetchCooldownSeconds) * 1000;
    return this.keySets.get(
      jwksUri,
      () => {
        // As for documents: failures are never cached, so without this a key set that keeps
        // failing would be fetched again on every attempt to authenticate.
        if (address !== undefined && (this.options.chargeFetch?.(address) ?? 0) > 0) {
          this.keySets.logger.info(`${this.whose} jwks_uri fetch refused: too many fetches for this address`, { jwks_uri: jwksUri });
          return Promise.reject(new ClientAssertionError('keys_unavailable', 'jwks_uri: too many fetches for this client address'));
        }
        return this.load(jwksUri);
      },
      refresh ? { refreshOlderThanMs: cooldownMs } : {},
    );
  };

  private async load(jwksUri: string): Promise<{ value: PublicJwks; ttlSeconds: number }> {
    const fetched = await this.keySets.fetch(jwksUri);
    let detail: string;
    let cause: unknown;
    if (fetched.ok) {
      const parsed = publicJwksSchema.safeParse(fetched.json);
      if (parsed.success) return { value: parsed.data, ttlSeconds: fetched.ttlSeconds };
      detail = `invalid key set: ${parsed.error.issues[0]?.message ?? 'unknown'}`;
    } else {
      detail = fetched.detail;
      cause = fetched.cause;
    }
    this.keySets.logger.warn(`${this.whose} jwks_uri refused`, { jwks_uri: jwksUri, detail });
    throw new ClientAssertionError('keys_unavailable', `jwks_uri: ${detail}`, cause);
  }
}
