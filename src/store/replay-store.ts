import { LRUCache } from 'lru-cache';

/**
 * The little state a stateless proxy cannot avoid (DESIGN §2): used code jtis,
 * consumed refresh generations, revoked grants, not-before times. Keys expire
 * with what they guard. Losing this set never loses a login; it only weakens
 * replay detection.
 */
export interface ReplayStore {
  /** Records `key`; true when it was new, false when it was already there (a replay). */
  markOnce(key: string, ttlSeconds: number): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Several keys in one round trip: the number stored under each, or undefined. */
  read(keys: readonly string[]): Promise<Array<number | undefined>>;
  /** Stores `value` under `key` unless a larger value is already there (not-before times only move forward). */
  raise(key: string, value: number, ttlSeconds: number): Promise<void>;
}

/** Exact for one instance; bounded so a flood of codes cannot exhaust memory. */
export class MemoryReplayStore implements ReplayStore {
  private readonly entries: LRUCache<string, number>;

  constructor(options: { max?: number; clock?: () => number } = {}) {
    const clock = options.clock ?? Date.now;
    this.entries = new LRUCache<string, number>({
      max: options.max ?? 1_000_000,
      ttlAutopurge: false,
      perf: { now: clock },
      // lru-cache would otherwise reuse a reading of the clock until a 1 ms timer fires: an injected
      // clock that moves (or faked timers that never fire) would not be seen.
      ttlResolution: 0,
    });
  }

  async markOnce(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.entries.has(key)) return false;
    this.entries.set(key, 1, { ttl: ttlMs(ttlSeconds) });
    return true;
  }

  async has(key: string): Promise<boolean> {
    return this.entries.has(key);
  }

  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    return keys.map((key) => this.entries.get(key));
  }

  async raise(key: string, value: number, ttlSeconds: number): Promise<void> {
    const current = this.entries.get(key);
    if (current === undefined || current < value) this.entries.set(key, value, { ttl: ttlMs(ttlSeconds) });
  }
}

function ttlMs(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds)) * 1000;
}
