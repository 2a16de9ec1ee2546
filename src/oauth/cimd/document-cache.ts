import type { Logger } from '../../observability/logger.js';
import { silentLogger } from '../../observability/logger.js';
import { RateLimiter } from '../../store/rate-limit.js';
import { SafeFetchError } from '../../net/errors.js';
import { safeFetch, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BYTES } from '../../net/safe-fetch.js';
import type { HostLookup } from '../../net/target-guard.js';
import { cacheBoundsFrom, cacheLifetimeSeconds, type CacheBounds } from './cache-lifetime.js';
import { clientIdUrlProblem } from './client-id-url.js';
import { parseClientMetadataDocument, type ClientMetadataDocument } from './document.js';
import { ClientMetadataError, ClientMetadataFetchLimited } from './errors.js';
import { FetchCache } from './fetch-cache.js';

/** Every default of the resolver, in one place. */
export const CLIENT_METADATA_DEFAULTS = {
  fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  maxBytes: DEFAULT_MAX_BYTES,
  minCacheSeconds: 60,
  maxCacheSeconds: 24 * 60 * 60,
  defaultCacheSeconds: 5 * 60,
  maxEntries: 1_000,
  fetchesPerAddressPerMinute: 60,
} as const;

export interface ClientMetadataDocumentsOptions {
  /** Development only: http loopback client_ids and fetches to private and loopback addresses. */
  allowPrivateNetwork: boolean;
  /** Private-use redirect schemes on the operator's allowlist (as for dynamic registration). */
  redirectSchemes: readonly string[];
  clock?: () => number;
  logger?: Logger;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  /** Floor of the cache lifetime, also applied to `no-store` documents; 0 honours no-store literally. */
  minCacheSeconds?: number;
  maxCacheSeconds?: number;
  /** Lifetime when the response has no caching headers (clamped to the bounds as well). */
  defaultCacheSeconds?: number;
  maxEntries?: number;
  /** Document fetches one client address may cause per minute; documents served from the cache do not count. */
  fetchesPerAddressPerMinute?: number;
  /** DNS resolution, injectable for tests. */
  lookup?: HostLookup;
  /** Told of every cache lookup, for metrics: true for a hit. */
  onCacheLookup?: (hit: boolean) => void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Resolves URL client_ids (CIMD) to validated metadata documents: fetched through the
 * SSRF guard, parsed, validated, cached per HTTP caching headers within bounds.
 * Failures and invalid documents are never cached (CIMD §4.4).
 */
export class ClientMetadataDocuments {
  private readonly cache: FetchCache<ClientMetadataDocument>;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly bounds: CacheBounds;
  private readonly fetchesPerAddress: RateLimiter;

  constructor(private readonly options: ClientMetadataDocumentsOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.bounds = cacheBoundsFrom(options, CLIENT_METADATA_DEFAULTS);
    this.cache = new FetchCache(options.maxEntries ?? CLIENT_METADATA_DEFAULTS.maxEntries, this.clock, options.onCacheLookup);
    this.fetchesPerAddress = new RateLimiter({
      perMinute: options.fetchesPerAddressPerMinute ?? CLIENT_METADATA_DEFAULTS.fetchesPerAddressPerMinute,
      clock: this.clock,
    });
  }

  /**
   * The validated document for a URL client_id, or a ClientMetadataError; `address` is the
   * client address the request came from, which each actual fetch is counted against.
   */
  async resolve(clientId: string, address: string): Promise<ClientMetadataDocument> {
    const problem = clientIdUrlProblem(clientId, { allowHttpLoopback: this.options.allowPrivateNetwork });
    if (problem) {
      throw new ClientMetadataError('invalid_client_id', 'The client_id is not a valid client metadata document URL.', `client_id ${problem}`);
    }
    return this.cache.get(clientId, async () => {
      // Only here does a URL become an outbound request: a cached document, or one already
      // being fetched for someone else, costs the caller nothing, so known clients keep working.
      const wait = this.fetchesPerAddress.take(address);
      if (wait > 0) throw new ClientMetadataFetchLimited(wait);
      return this.load(clientId);
    });
  }

  /** Drops a cached document, e.g. after an operator blocks a client. */
  forget(clientId: string): void {
    this.cache.delete(clientId);
  }

  private async load(clientId: string): Promise<{ value: ClientMetadataDocument; ttlSeconds: number }> {
    try {
      const response = await safeFetch(clientId, {
        allowPrivateNetwork: this.options.allowPrivateNetwork,
        timeoutMs: this.options.fetchTimeoutMs ?? CLIENT_METADATA_DEFAULTS.fetchTimeoutMs,
        maxBytes: this.options.maxBytes ?? CLIENT_METADATA_DEFAULTS.maxBytes,
        accept: 'application/json',
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      }).catch((error: unknown) => {
        if (!(error instanceof SafeFetchError)) throw error;
        throw new ClientMetadataError('fetch_failed', 'The client metadata document could not be fetched.', `${error.code}: ${error.message}`);
      });
      let json: unknown;
      try {
        json = JSON.parse(decoder.decode(response.body));
      } catch {
        throw new ClientMetadataError('invalid_document', 'The client metadata document is invalid.', 'the body is not UTF-8 JSON');
      }
      const parsed = parseClientMetadataDocument(json, {
        clientId,
        redirectSchemes: this.options.redirectSchemes,
        allowHttpLoopback: this.options.allowPrivateNetwork,
      });
      if (!parsed.ok) throw new ClientMetadataError('invalid_document', 'The client metadata document is invalid.', parsed.problem);
      const ttlSeconds = cacheLifetimeSeconds(response.headers, this.clock(), this.bounds);
      this.logger.debug('client metadata document fetched', { client_id: clientId, ttl_seconds: ttlSeconds });
      return { value: parsed.document, ttlSeconds };
    } catch (error) {
      const failure =
        error instanceof ClientMetadataError
          ? error
          : new ClientMetadataError('fetch_failed', 'The client metadata document could not be fetched.', String(error));
      this.logger.warn('client metadata document refused', { client_id: clientId, reason: failure.code, detail: failure.detail });
      throw failure;
    }
  }
}
