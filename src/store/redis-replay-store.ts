import { Redis } from 'ioredis';
import type { ReplayStore } from './replay-store.js';

// Atomic "keep the larger": two instances revoking at once must not move a not-before time back.
const RAISE_SCRIPT = `local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1`;

export interface RedisConnectionEvents {
  /** The connection is (again) usable. */
  onReady(listener: () => void): void;
  /** The connection was lost or could not be made. */
  onDown(listener: (error?: unknown) => void): void;
}

/**
 * The replay set on Redis: every instance sees the same keys. Commands fail
 * fast while disconnected (no offline queue) so the caller can fall back
 * instead of piling requests up behind a dead server.
 */
export class RedisReplayStore implements ReplayStore, RedisConnectionEvents {
  private constructor(private readonly redis: Redis) {}

  static connect(url: string, options: { keyPrefix: string; commandTimeoutMs?: number }): RedisReplayStore {
    const redis = new Redis(url, {
      keyPrefix: options.keyPrefix,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      // Reconnect forever, backing off to one attempt every two seconds.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Until a listener is attached, a failed connect would be reported by ioredis on the console as unhandled.
    redis.on('error', () => undefined);
    return new RedisReplayStore(redis);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  onReady(listener: () => void): void {
    this.redis.on('ready', listener);
  }

  onDown(listener: (error?: unknown) => void): void {
    // ioredis emits 'error' for every failed reconnect; an 'error' listener must exist or the process would crash.
    this.redis.on('error', (error: unknown) => listener(error));
    this.redis.on('close', () => listener());
  }

  /** Resolves once connected, or false after `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.connected) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.redis.off('ready', ready);
        resolve(false);
      }, timeoutMs);
      const ready = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.redis.once('ready', ready);
    });
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async markOnce(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(key, '1', 'EX', wholeSeconds(ttlSeconds), 'NX')) === 'OK';
  }

  async has(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }

  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys);
    return values.map((value) => (value === null ? undefined : Number(value)));
  }

  async raise(key: string, value: number, ttlSeconds: number): Promise<void> {
    await this.redis.eval(RAISE_SCRIPT, 1, key, String(value), String(wholeSeconds(ttlSeconds)));
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function wholeSeconds(ttlSeconds: number): number {
  return Math.max(1, Math.ceil(ttlSeconds));
}
