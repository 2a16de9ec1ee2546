import { LRUCache } from 'lru-cache';

/**
 * The little state a stateless proxy cannot avoid (DESIGN §2): used code jtis,
 * consumed refresh generations, revoked grants. Keys expire with what they guard.
 * Losing this set never loses a login; it only weakens replay detection.
 */
export interface ReplayStore {
  /** Records `key`; true when it was new, false when it was already there (a replay). */
  markOnce(key: string, ttlSeconds: number): Promise<boolean>;
  has(key: string): Promise<boolean>;
}

/** Exact for one instance; bounded so a flood of codes cannot exhaust memory. */
export class MemoryReplayStore implements ReplayStore {
  private readonly entries: LRUCache<string, true>;

  constructor(options: { max?: number; clock?: () => number } = {}) {
    const clock = options.clock ?? Date.now;
    this.entries = new LRUCache<string, true>({
      max: options.max ?? 1_000_000,
      ttlAutopurge: false,
      perf: { now: clock },
    });
  }

  async markOnce(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.entries.has(key)) return false;
    this.entries.set(key, true, { ttl: Math.max(1, ttlSeconds) * 1000 });
    return true;
  }

  async has(key: string): Promise<boolean> {
    return this.entries.has(key);
  }
}
