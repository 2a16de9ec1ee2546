/**
 * The little state a stateless proxy cannot avoid: used code jtis,
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

/**
 * Exact for one instance; bounded so a flood of codes cannot exhaust memory.
 * A Map in insertion order rather than an LRU: recency of reads means nothing
 * for replay keys, and an LRU sized for a million keys allocates its arrays up
 * front, which cost a quarter of a second at start-up and a full scan at every
 * major garbage collection. Past the bound, the oldest writes go first.
 */
export class MemoryReplayStore implements ReplayStore {
  private readonly entries = new Map<string, { readonly value: number; readonly expiresAt: number }>();
  private readonly max: number;
  private readonly clock: () => number;
  private writesSinceSweep = 0;

  constructor(options: { max?: number; clock?: () => number } = {}) {
    this.max = options.max ?? 1_000_000;
    this.clock = options.clock ?? Date.now;
  }

  async markOnce(key: string, ttlSeconds: number): Promise<boolean> {
    if (this.get(key) !== undefined) return false;
    this.set(key, 1, ttlSeconds);
    return true;
  }

  async has(key: string): Promise<boolean> {
    return this.get(key) !== undefined;
  }

  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    return keys.map((key) => this.get(key));
  }

  async raise(key: string, value: number, ttlSeconds: number): Promise<void> {
    const current = this.get(key);
    if (current === undefined || current < value) this.set(key, value, ttlSeconds);
  }

  private get(key: string): number | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt >= this.clock()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  private set(key: string, value: number, ttlSeconds: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.clock() + Math.max(1, Math.ceil(ttlSeconds)) * 1000 });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    if (++this.writesSinceSweep >= SWEEP_EVERY_WRITES) this.sweep();
  }

  /** Drops expired entries now and then, so keys nobody reads again do not wait for the bound to leave. */
  private sweep(): void {
    this.writesSinceSweep = 0;
    const now = this.clock();
    for (const [key, entry] of this.entries) if (entry.expiresAt < now) this.entries.delete(key);
  }
}

// A sweep walks every entry; once per this many writes keeps its cost per write small.
const SWEEP_EVERY_WRITES = 10_000;
