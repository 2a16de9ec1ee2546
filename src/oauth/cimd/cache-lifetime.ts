/** How long a fetched document may be reused, from its HTTP caching headers, within the operator's bounds. */
export interface CacheBounds {
  readonly minSeconds: number;
  readonly maxSeconds: number;
  /** Used when the response says nothing about caching. */
  readonly defaultSeconds: number;
}

/** The bounds an operator set, each falling back to its default; the maximum never falls below the minimum. */
export function cacheBoundsFrom(
  options: { minCacheSeconds?: number; maxCacheSeconds?: number; defaultCacheSeconds?: number },
  defaults: { minCacheSeconds: number; maxCacheSeconds: number; defaultCacheSeconds: number },
): CacheBounds {
  const minSeconds = options.minCacheSeconds ?? defaults.minCacheSeconds;
  return {
    minSeconds,
    maxSeconds: Math.max(minSeconds, options.maxCacheSeconds ?? defaults.maxCacheSeconds),
    defaultSeconds: options.defaultCacheSeconds ?? defaults.defaultCacheSeconds,
  };
}

function directives(header: string | null): Map<string, string | true> {
  const result = new Map<string, string | true>();
  for (const part of (header ?? '').split(',')) {
    const [name, value] = part.split('=', 2).map((item) => item.trim());
    if (!name) continue;
    result.set(name.toLowerCase(), value === undefined ? true : value.replace(/^"|"$/g, ''));
  }
  return result;
}

function seconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Freshness in seconds as the server states it (RFC 9111 §4.2.1), or undefined when it
 * states nothing: `no-store` and `no-cache` mean 0; otherwise `s-maxage` (we act as a
 * cache shared by all users), then `max-age` less `Age`, then `Expires` minus `Date`.
 */
export function statedFreshness(headers: Headers, nowMs: number): number | undefined {
  const cacheControl = directives(headers.get('cache-control'));
  if (cacheControl.has('no-store') || cacheControl.has('no-cache')) return 0;
  const maxAge = seconds(cacheControl.get('s-maxage')) ?? seconds(cacheControl.get('max-age'));
  if (maxAge !== undefined) return Math.max(0, maxAge - (seconds(headers.get('age') ?? undefined) ?? 0));
  const expires = headers.get('expires');
  if (expires === null) return undefined;
  const expiresAt = Date.parse(expires);
  if (Number.isNaN(expiresAt)) return 0;
  const date = Date.parse(headers.get('date') ?? '');
  const reference = Number.isNaN(date) ? nowMs : date;
  return Math.max(0, Math.floor((expiresAt - reference) / 1000));
}

/**
 * The lifetime the cache applies: the stated freshness clamped to [min, max]. A
 * `no-store` document is therefore still kept for `minSeconds`: CIMD §4.4 lets the
 * server cache within its own bounds, and the floor stops one authorization (authorize,
 * then token) from fetching the document again and again. `minSeconds: 0` honours
 * `no-store` literally.
 */
export function cacheLifetimeSeconds(headers: Headers, nowMs: number, bounds: CacheBounds): number {
  const stated = statedFreshness(headers, nowMs) ?? bounds.defaultSeconds;
  return Math.min(bounds.maxSeconds, Math.max(bounds.minSeconds, stated));
}
