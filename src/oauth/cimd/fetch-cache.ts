import { LRUCache } from 'lru-cache';

interface Entry<T> {
  readonly value: T;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

export interface Loaded<T> {
  readonly value: T;
  readonly ttlSeconds: number;
}

export interface GetOptions {
  /** Reload even a fresh entry, but only if it was fetched at least this long ago (rate limit). */
  readonly refreshOlderThanMs?: number;
}

/**
 * Values fetched from the network, kept until their own expiry and bounded in number.
 * Concurrent misses for one key share a single load; a failed load is never stored,
 * so the next request tries again.
 */
export class FetchCache<T> {
  private readonly entries: LRUCache<string, Entry<T>>;
  private readonly pending = new Map<string, Promise<T>>();

  constructor(
    maxEntries: number,
    private readonly clock: () => number,
    /** Told of every lookup, for metrics: true when a fresh entry was served without loading. */
    private readonly onLookup?: (hit: boolean) => void,
  ) {
    this.entries = new LRUCache<string, Entry<T>>({ max: maxEntries });
  }

  async get(key: string, load: () => Promise<Loaded<T>>, options: GetOptions = {}): Promise<T> {
    const now = this.clock();
    let entry = this.entries.get(key);
    if (entry && now >= entry.expiresAt) {
      this.entries.delete(key);
      entry = undefined;
    }
    const refresh = entry !== undefined && options.refreshOlderThanMs !== undefined && now - entry.fetchedAt >= options.refreshOlderThanMs;
    this.onLookup?.(entry !== undefined && !refresh);
    if (entry && !refresh) return entry.value;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;

    const fresh = entry;
    const task = (async () => {
      try {
        const loaded = await load();
        const fetchedAt = this.clock();
        if (loaded.ttlSeconds > 0) this.entries.set(key, { value: loaded.value, fetchedAt, expiresAt: fetchedAt + loaded.ttlSeconds * 1000 });
        else this.entries.delete(key);
        return loaded.value;
      } catch (error) {
        // A failed refresh keeps serving what we already trusted until it expires.
        if (fresh) return fresh.value;
        throw error;
      } finally {
        this.pending.delete(key);
      }
    })();
    this.pending.set(key, task);
    return task;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
