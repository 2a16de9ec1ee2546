/**
 * A fixed-window counter per key (a client address), in memory and bounded: a flood of
 * distinct addresses evicts the windows opened longest ago rather than growing.
 *
 * A Map in the order windows were opened, not an LRU: nothing is allocated up front for
 * the 100,000 keys it may hold (an lru-cache of that size costs start-up time and idle
 * memory for each limiter), and a fixed window needs no recency.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #perMinute: number;
  readonly #clock: () => number;
  readonly #maxKeys: number;

  constructor(options: { perMinute: number; clock: () => number; maxKeys?: number }) {
    this.#perMinute = options.perMinute;
    this.#clock = options.clock;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** Counts one event for `key`; returns the seconds to wait when over the limit, or 0 when allowed. */
  take(key: string): number {
    const now = this.#clock();
    const window = this.#windows.get(key);
    if (!window || now - window.start >= 60_000) {
      // Re-inserted, so the Map's order stays the order windows were opened.
      this.#windows.delete(key);
      this.#windows.set(key, { start: now, count: 1 });
      if (this.#windows.size > this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
      return 0;
    }
    if (window.count >= this.#perMinute) return Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000));
    window.count += 1;
    return 0;
  }

  /** How many keys have a window; for tests of the bound. */
  get size(): number {
    return this.#windows.size;
  }
}

/** The key a request is counted under: the client address the runtime found, or one shared key where it knows none. */
export function rateLimitKey(address: string | undefined): string {
  return address ?? 'unknown';
}
