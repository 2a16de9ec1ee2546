import type { Logger } from '../../observability/logger.js';
import { silentLogger } from '../../observability/logger.js';
import { SafeFetchError } from '../../net/errors.js';
import { safeFetch } from '../../net/safe-fetch.js';
import type { HostLookup } from '../../net/target-guard.js';
import { cacheBoundsFrom, cacheLifetimeSeconds, type CacheBounds } from './cache-lifetime.js';
import { FetchCache, type GetOptions, type Loaded } from './fetch-cache.js';

/** The settings every cache of client-published JSON takes; each cache has its own defaults. */
export interface PublishedJsonOptions {
  /** Development only: fetches to private and loopback addresses, and plain http to loopback. */
  allowPrivateNetwork: boolean;
  clock?: () => number;
  logger?: Logger;
  fetchTimeoutMs?: number;
  maxBytes?: number;
  /** Floor of the cache lifetime, also applied to `no-store` responses; 0 honours no-store literally. */
  minCacheSeconds?: number;
  maxCacheSeconds?: number;
  /** Lifetime when the response has no caching headers (clamped to the bounds as well). */
  defaultCacheSeconds?: number;
  maxEntries?: number;
  /** DNS resolution, injectable for tests. */
  lookup?: HostLookup;
}

export type PublishedJsonDefaults = Required<
  Pick<PublishedJsonOptions, 'fetchTimeoutMs' | 'maxBytes' | 'minCacheSeconds' | 'maxCacheSeconds' | 'defaultCacheSeconds' | 'maxEntries'>
>;

/** A fetch's outcome: the JSON and how long it may be kept, or why there is none (for the log) and the error it came from. */
export type FetchedJson =
  | { readonly ok: true; readonly json: unknown; readonly ttlSeconds: number }
  | { readonly ok: false; readonly reason: 'fetch_failed' | 'not_json'; readonly detail: string; readonly cause: unknown };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON that clients publish at URLs (metadata documents, key sets), fetched through the SSRF
 * guard and cached per its HTTP caching headers within the operator's bounds. What makes a
 * value valid, and what a failure means, is the owner's business.
 */
export class PublishedJson<T> {
  readonly clock: () => number;
  readonly logger: Logger;
  private readonly cache: FetchCache<T>;
  private readonly bounds: CacheBounds;

  constructor(
    private readonly options: PublishedJsonOptions,
    private readonly defaults: PublishedJsonDefaults,
    private readonly accept: string,
    onLookup?: (hit: boolean) => void,
  ) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.bounds = cacheBoundsFrom(options, defaults);
    this.cache = new FetchCache(options.maxEntries ?? defaults.maxEntries, this.clock, onLookup);
  }

  /** The cached value for `url`, or what `load` makes of it (see FetchCache for sharing and failures). */
  get(url: string, load: () => Promise<Loaded<T>>, options?: GetOptions): Promise<T> {
    return this.cache.get(url, load, options);
  }

  delete(url: string): void {
    this.cache.delete(url);
  }

  /** GETs `url` and parses the body as UTF-8 JSON. */
  async fetch(url: string): Promise<FetchedJson> {
    let response;
    try {
      response = await safeFetch(url, {
        allowPrivateNetwork: this.options.allowPrivateNetwork,
        timeoutMs: this.options.fetchTimeoutMs ?? this.defaults.fetchTimeoutMs,
        maxBytes: this.options.maxBytes ?? this.defaults.maxBytes,
        accept: this.accept,
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      });
    } catch (error) {
      if (!(error instanceof SafeFetchError)) throw error;
      return { ok: false, reason: 'fetch_failed', detail: `${error.code}: ${error.message}`, cause: error };
    }
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(response.body));
    } catch (error) {
      return { ok: false, reason: 'not_json', detail: 'the body is not UTF-8 JSON', cause: error };
    }
    return { ok: true, json, ttlSeconds: cacheLifetimeSeconds(response.headers, this.clock(), this.bounds) };
  }
}
