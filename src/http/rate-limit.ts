import { LRUCache } from 'lru-cache';

/**
 * A fixed-window counter per key (a client address), in memory and bounded:
 * a flood of distinct addresses evicts the oldest windows rather than growing.
 */
export class RateLimiter {
  private readonly windows: LRUCache<string, { start: number; count: number }>;

  constructor(
    private readonly options: { perMinute: number; clock: () => number; maxKeys?: number },
  ) {
    this.windows = new LRUCache({ max: options.maxKeys ?? 100_000 });
  }

  /** Counts one event for `key`; returns the seconds to wait when over the limit, or 0 when allowed. */
  take(key: string): number {
    const now = this.options.clock();
    const window = this.windows.get(key);
    if (!window || now - window.start >= 60_000) {
      this.windows.set(key, { start: now, count: 1 });
      return 0;
    }
    if (window.count >= this.options.perMinute) return Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000));
    window.count += 1;
    return 0;
  }
}
