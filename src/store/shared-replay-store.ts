import type { Logger } from '../observability/logger.js';
import type { RedisConnectionEvents } from './redis-replay-store.js';
import type { ReplayStore } from './replay-store.js';

export type SharedStoreState = 'shared' | 'degraded';

/** What the shared backend must offer besides the set itself. */
export interface SharedBackend extends ReplayStore, RedisConnectionEvents {
  readonly connected: boolean;
  ping(): Promise<void>;
}

type PendingWrite =
  | { readonly op: 'mark'; readonly key: string; readonly expiresAt: number }
  | { readonly op: 'raise'; readonly key: string; readonly value: number; readonly expiresAt: number };

// Writes made while the backend is away are replayed when it returns; beyond this many, the oldest are dropped.
const MAX_PENDING_WRITES = 10_000;
const PROBE_INTERVAL_MS = 1000;

/**
 * The shared set with a local copy. Every write lands in both, so when the
 * backend goes away this instance still knows what it has seen itself: the
 * proxy keeps serving with per-instance replay detection, logs the
 * change once, and goes back to the shared set by itself, replaying the writes
 * it made meanwhile. While degraded the backend is not asked at all, so a hung
 * Redis costs requests nothing; a probe and the client's reconnect bring it back.
 */
export class SharedReplayStore implements ReplayStore {
  private current: SharedStoreState;
  private pending: PendingWrite[] = [];
  private probe: ReturnType<typeof setInterval> | undefined;
  private recovering: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly backend: SharedBackend,
    private readonly local: ReplayStore,
    private readonly options: {
      readonly logger: Logger;
      readonly clock: () => number;
      readonly onStateChange?: (state: SharedStoreState) => void;
    },
  ) {
    this.current = backend.connected ? 'shared' : 'degraded';
    backend.onReady(() => void this.recover());
    backend.onDown((error) => this.degrade(error));
    if (this.current === 'degraded') {
      // Not there at start: said once here, since later failures of a degraded store are not logged.
      this.warnUnreachable();
      this.startProbe();
    }
    options.onStateChange?.(this.current);
  }

  get state(): SharedStoreState {
    return this.current;
  }

  /** For /readyz: asks the backend now (recovering if it answers). */
  async reachable(): Promise<boolean> {
    try {
      await this.backend.ping();
      if (this.current === 'degraded') await this.recover();
      return true;
    } catch (error) {
      this.degrade(error);
      return false;
    }
  }

  async markOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const locallyNew = await this.local.markOnce(key, ttlSeconds);
    const sharedNew = await this.remote(
      () => this.backend.markOnce(key, ttlSeconds),
      { op: 'mark', key, expiresAt: this.expiry(ttlSeconds) },
    );
    // A key either side has seen is a replay: the local copy covers writes the backend lost.
    return locallyNew && (sharedNew ?? true);
  }

  async has(key: string): Promise<boolean> {
    if (await this.local.has(key)) return true;
    return (await this.remote(() => this.backend.has(key))) ?? false;
  }

  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    const local = await this.local.read(keys);
    const shared = await this.remote(() => this.backend.read(keys));
    if (!shared) return local;
    return local.map((value, index) => larger(value, shared[index]));
  }

  async raise(key: string, value: number, ttlSeconds: number): Promise<void> {
    await this.local.raise(key, value, ttlSeconds);
    await this.remote(() => this.backend.raise(key, value, ttlSeconds), { op: 'raise', key, value, expiresAt: this.expiry(ttlSeconds) });
  }

  /** Before the backend connection is closed on shutdown, so that closing it is not reported as an outage. */
  close(): void {
    this.closed = true;
    this.stopProbe();
  }

  private async remote<T>(operation: () => Promise<T>, write?: PendingWrite): Promise<T | undefined> {
    if (this.current === 'degraded') {
      if (write) this.remember(write);
      return undefined;
    }
    try {
      return await operation();
    } catch (error) {
      this.degrade(error);
      if (write) this.remember(write);
      return undefined;
    }
  }

  private degrade(error?: unknown): void {
    if (this.current === 'degraded' || this.closed) return;
    this.current = 'degraded';
    this.warnUnreachable(error);
    this.options.onStateChange?.('degraded');
    this.startProbe();
  }

  private warnUnreachable(error?: unknown): void {
    this.options.logger.warn('shared replay set unreachable; replay and revocation checks are per instance until it returns', {
      error: describe(error),
    });
  }

  /** One recovery at a time: the ready event, the probe and /readyz may all ask at once. */
  private recover(): Promise<void> {
    this.recovering ??= this.replayPending().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async replayPending(): Promise<void> {
    if (this.current === 'shared' || !this.backend.connected) return;
    let replayed = 0;
    // Requests keep writing to `pending` while the replay runs (still degraded): drain until nothing is left.
    while (this.pending.length > 0) {
      const writes = this.pending;
      this.pending = [];
      const now = this.options.clock();
      let done = 0;
      try {
        for (const write of writes) {
          const ttlSeconds = (write.expiresAt - now) / 1000;
          if (ttlSeconds > 0) {
            if (write.op === 'mark') await this.backend.markOnce(write.key, ttlSeconds);
            else await this.backend.raise(write.key, write.value, ttlSeconds);
            replayed += 1;
          }
          done += 1;
        }
      } catch {
        // Gone again before the replay finished: keep what is left for the next recovery.
        this.pending = [...writes.slice(done), ...this.pending].slice(-MAX_PENDING_WRITES);
        return;
      }
    }
    this.current = 'shared';
    this.stopProbe();
    this.options.logger.info('shared replay set reachable again', { replayed_writes: replayed });
    this.options.onStateChange?.('shared');
  }

  private remember(write: PendingWrite): void {
    this.pending.push(write);
    if (this.pending.length > MAX_PENDING_WRITES) this.pending.shift();
  }

  private expiry(ttlSeconds: number): number {
    return this.options.clock() + Math.max(1, ttlSeconds) * 1000;
  }

  private startProbe(): void {
    if (this.probe) return;
    // A ping, not the connection status: a server that accepts connections but never answers is still away.
    this.probe = setInterval(() => {
      this.backend.ping().then(
        () => this.recover(),
        () => undefined,
      );
    }, PROBE_INTERVAL_MS);
    this.probe.unref?.();
  }

  private stopProbe(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }
}

function larger(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** Connection errors name host and port at most; never the URL, which may hold a password. */
function describe(error: unknown): string | undefined {
  if (error instanceof Error) return (error as { code?: string }).code ?? error.message.slice(0, 200);
  return undefined;
}
