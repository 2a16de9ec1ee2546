import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { replayKeys } from '../../src/store/replay-keys.js';
import { MemoryReplayStore, type ReplayStore } from '../../src/store/replay-store.js';
import { revocationOf, revokeIssuedBefore, type GrantReference } from '../../src/store/revocation.js';
import { SharedReplayStore, type SharedBackend, type SharedStoreState } from '../../src/store/shared-replay-store.js';
import { manualClock } from '../support/deps.js';

describe('MemoryReplayStore', () => {
  it('marks a key once; the second mark is a replay', async () => {
    const store = new MemoryReplayStore();
    expect(await store.markOnce('code:a', 60)).toBe(true);
    expect(await store.markOnce('code:a', 60)).toBe(false);
    expect(await store.has('code:a')).toBe(true);
    expect(await store.has('code:b')).toBe(false);
  });

  it('reads several keys at once: the stored number, or undefined', async () => {
    const store = new MemoryReplayStore();
    await store.markOnce('marked', 60);
    await store.raise('raised', 1234, 60);
    expect(await store.read(['marked', 'missing', 'raised'])).toEqual([1, undefined, 1234]);
    expect(await store.read([])).toEqual([]);
  });

  it('raise keeps the larger value: not-before times only move forward', async () => {
    const store = new MemoryReplayStore();
    await store.raise('nbf', 100, 60);
    await store.raise('nbf', 50, 60);
    expect(await store.read(['nbf'])).toEqual([100]);
    await store.raise('nbf', 200, 60);
    expect(await store.read(['nbf'])).toEqual([200]);
  });

  it('stays within its bound by dropping the oldest writes first', async () => {
    const store = new MemoryReplayStore({ max: 3 });
    for (const key of ['a', 'b', 'c']) await store.markOnce(key, 60);
    await store.raise('b', 5, 60); // a rewrite counts as new
    await store.markOnce('d', 60);
    expect(await store.read(['a', 'b', 'c', 'd'])).toEqual([undefined, 5, 1, 1]);
  });

  it('forgets keys when their ttl is over, by the injected clock', async () => {
    const clock = manualClock();
    const store = new MemoryReplayStore({ clock });
    await store.markOnce('code:a', 10);
    await store.raise('nbf', 100, 20);
    clock.advance(10);
    expect(await store.has('code:a')).toBe(true);
    clock.advance(1);
    expect(await store.has('code:a')).toBe(false);
    expect(await store.markOnce('code:a', 10)).toBe(true);
    expect(await store.read(['nbf'])).toEqual([100]);
    clock.advance(10);
    expect(await store.read(['nbf'])).toEqual([undefined]);
  });

  it('follows the injected clock even while timers are faked', async () => {
    vi.useFakeTimers();
    try {
      const clock = manualClock();
      const store = new MemoryReplayStore({ clock });
      await store.markOnce('k', 1);
      expect(await store.has('k')).toBe(true);
      clock.advance(2);
      expect(await store.has('k')).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a fresh raise after expiry stores even a smaller value', async () => {
    const clock = manualClock();
    const store = new MemoryReplayStore({ clock });
    await store.raise('nbf', 100, 5);
    clock.advance(6);
    await store.raise('nbf', 50, 5);
    expect(await store.read(['nbf'])).toEqual([50]);
  });
});

describe('revocationOf', () => {
  const ref = (overrides: Partial<GrantReference> = {}): GrantReference => ({ gid: 'g1', cid: 'c1', subject: 'alice', issuedAt: 1000, ...overrides });
  const TTL = 3600;

  it('passes a token nothing revoked', async () => {
    const store = new MemoryReplayStore();
    expect(await revocationOf(store, ref())).toBeUndefined();
    expect(await revocationOf(store, ref({ jti: 'j1' }))).toBeUndefined();
  });

  it('names each reason', async () => {
    const store = new MemoryReplayStore();
    await store.markOnce(replayKeys.revokedGrant('g-revoked'), TTL);
    await store.markOnce(replayKeys.revokedAccessToken('j-revoked'), TTL);
    await revokeIssuedBefore(store, { user: 'mallory' }, 1000, TTL);
    await revokeIssuedBefore(store, { cid: 'c-revoked' }, 1000, TTL);
    expect(await revocationOf(store, ref({ gid: 'g-revoked' }))).toBe('grant revoked');
    expect(await revocationOf(store, ref({ jti: 'j-revoked' }))).toBe('token revoked');
    expect(await revocationOf(store, ref({ subject: 'mallory' }))).toBe('revoked for the user');
    expect(await revocationOf(store, ref({ cid: 'c-revoked' }))).toBe('revoked for the client');
    // A revoked access token matters only when the token names its jti.
    expect(await revocationOf(store, ref())).toBeUndefined();
  });

  it('revokes what was issued at or before the not-before time, and nothing later', async () => {
    const store = new MemoryReplayStore();
    await revokeIssuedBefore(store, { user: 'alice' }, 1000, TTL);
    expect(await revocationOf(store, ref({ issuedAt: 999 }))).toBe('revoked for the user');
    expect(await revocationOf(store, ref({ issuedAt: 1000 }))).toBe('revoked for the user');
    expect(await revocationOf(store, ref({ issuedAt: 1001 }))).toBeUndefined();

    await revokeIssuedBefore(store, { cid: 'c1' }, 2000, TTL);
    expect(await revocationOf(store, ref({ issuedAt: 2000 }))).toBe('revoked for the client');
    expect(await revocationOf(store, ref({ issuedAt: 2001 }))).toBeUndefined();
    expect(await revocationOf(store, ref({ cid: 'c2', issuedAt: 1500 }))).toBeUndefined();
  });

  it('never moves a not-before time back', async () => {
    const store = new MemoryReplayStore();
    await revokeIssuedBefore(store, { user: 'alice' }, 2000, TTL);
    await revokeIssuedBefore(store, { user: 'alice' }, 1000, TTL);
    expect(await revocationOf(store, ref({ issuedAt: 1500 }))).toBe('revoked for the user');
  });

  it('checks everything in one read', async () => {
    const store = new MemoryReplayStore();
    const read = vi.spyOn(store, 'read');
    await revocationOf(store, ref({ jti: 'j1' }));
    expect(read).toHaveBeenCalledTimes(1);
    expect(read.mock.calls[0]![0]).toEqual([
      replayKeys.revokedGrant('g1'),
      replayKeys.userNotBefore('alice'),
      replayKeys.clientNotBefore('c1'),
      replayKeys.revokedAccessToken('j1'),
    ]);
  });
});

type BackendCall = { op: 'markOnce' | 'has' | 'read' | 'raise'; key: string; value?: number; ttlSeconds?: number };

/** Redis as the shared store sees it: a set that other instances write too, and that can go away. */
class FakeBackend implements SharedBackend {
  readonly store: MemoryReplayStore;
  connected = true;
  failing = false;
  /** Every set operation that reached the backend (pings are counted apart). */
  readonly calls: BackendCall[] = [];
  pings = 0;
  /** While set, every call waits for it, so that a test can act while a replay is under way. */
  private gate: Promise<void> | undefined;
  private onHeld: (() => void) | undefined;
  private readonly ready: Array<() => void> = [];
  private readonly down: Array<(error?: unknown) => void> = [];

  constructor(clock: () => number) {
    this.store = new MemoryReplayStore({ clock });
  }

  onReady(listener: () => void): void {
    this.ready.push(listener);
  }
  onDown(listener: (error?: unknown) => void): void {
    this.down.push(listener);
  }

  /** The connection is lost: calls fail from now on. */
  goDown(error: unknown = connectionRefused()): void {
    this.connected = false;
    this.failing = true;
    for (const listener of this.down) listener(error);
  }
  /** Back without telling anyone (as the probe finds it). */
  comeBackQuietly(): void {
    this.connected = true;
    this.failing = false;
  }
  comeBack(): void {
    this.comeBackQuietly();
    for (const listener of this.ready) listener();
  }

  async ping(): Promise<void> {
    this.pings += 1;
    await this.check();
  }
  async markOnce(key: string, ttlSeconds: number): Promise<boolean> {
    this.calls.push({ op: 'markOnce', key, ttlSeconds });
    await this.check();
    return this.store.markOnce(key, ttlSeconds);
  }
  async has(key: string): Promise<boolean> {
    this.calls.push({ op: 'has', key });
    await this.check();
    return this.store.has(key);
  }
  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    this.calls.push({ op: 'read', key: keys.join(',') });
    await this.check();
    return this.store.read(keys);
  }
  async raise(key: string, value: number, ttlSeconds: number): Promise<void> {
    this.calls.push({ op: 'raise', key, value, ttlSeconds });
    await this.check();
    return this.store.raise(key, value, ttlSeconds);
  }

  /** Calls wait from now on: `reached` resolves once the first one does, `release` lets them all go on. */
  hold(): { reached: Promise<void>; release: () => void } {
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    const reached = new Promise<void>((resolve) => (this.onHeld = resolve));
    return {
      reached,
      release: () => {
        this.gate = undefined;
        open();
      },
    };
  }

  private async check(): Promise<void> {
    if (this.gate) {
      this.onHeld?.();
      await this.gate;
    }
    if (this.failing) throw connectionRefused();
  }
}

function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:6379'), { code: 'ECONNREFUSED' });
}

function sharedStore(options: { connected?: boolean } = {}) {
  const clock = manualClock();
  const backend = new FakeBackend(clock);
  backend.connected = options.connected ?? true;
  backend.failing = !backend.connected;
  const local = new MemoryReplayStore({ clock });
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>), clock });
  const states: SharedStoreState[] = [];
  let changed = () => {};
  const store = new SharedReplayStore(backend, local, {
    logger,
    clock,
    onStateChange: (state) => {
      states.push(state);
      changed();
    },
  });
  /** Resolves once the store is in `state`: a recovery started by an event (fire and forget) reports its end there. */
  const settled = async (state: SharedStoreState = 'shared') => {
    while (store.state !== state) await new Promise<void>((resolve) => (changed = resolve));
  };
  const warnings = () => lines.filter((line) => line['level'] === 'warn');
  const infos = () => lines.filter((line) => line['level'] === 'info');
  return { clock, backend, local, store, lines, warnings, infos, states, settled };
}

describe('SharedReplayStore', () => {
  const stores: SharedReplayStore[] = [];
  const track = <T extends { store: SharedReplayStore }>(setup: T): T => {
    stores.push(setup.store);
    return setup;
  };
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    vi.useRealTimers();
  });

  it('agrees with the backend: a key another instance marked is a replay here', async () => {
    const { backend, store, states } = track(sharedStore());
    expect(store.state).toBe('shared');
    expect(states).toEqual(['shared']);
    await backend.store.markOnce('code:elsewhere', 60);
    expect(await store.markOnce('code:elsewhere', 60)).toBe(false);
    expect(await store.has('code:elsewhere')).toBe(true);

    expect(await store.markOnce('code:here', 60)).toBe(true);
    expect(await backend.store.has('code:here')).toBe(true);
    expect(await store.markOnce('code:here', 60)).toBe(false);
  });

  it('reads the larger of the local and the shared value, and raises both', async () => {
    const { backend, local, store } = track(sharedStore());
    await backend.store.raise('nbf-user:alice', 2000, 60);
    await local.raise('nbf-user:alice', 1000, 60);
    await local.raise('nbf-user:bob', 3000, 60);
    expect(await store.read(['nbf-user:alice', 'nbf-user:bob', 'nbf-user:carol'])).toEqual([2000, 3000, undefined]);
    await store.raise('nbf-client:c1', 500, 60);
    expect(await backend.store.read(['nbf-client:c1'])).toEqual([500]);
    expect(await local.read(['nbf-client:c1'])).toEqual([500]);
  });

  it('degrades on a failure: one warning, the backend left alone, answers from the local copy', async () => {
    const { backend, store, warnings, states, lines } = track(sharedStore());
    expect(await store.markOnce('code:before', 60)).toBe(true);
    backend.failing = true;
    expect(await store.markOnce('code:during', 60)).toBe(true);
    expect(store.state).toBe('degraded');
    expect(states).toEqual(['shared', 'degraded']);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ msg: expect.stringContaining('shared replay set unreachable'), error: 'ECONNREFUSED' });
    // The log names no host or URL.
    expect(JSON.stringify(lines)).not.toContain('10.0.0.7');

    const callsWhenDegraded = backend.calls.length;
    expect(await store.markOnce('code:during', 60)).toBe(false);
    expect(await store.markOnce('code:before', 60)).toBe(false);
    expect(await store.has('code:during')).toBe(true);
    expect(await store.has('code:unknown')).toBe(false);
    await store.raise('nbf-user:alice', 1000, 60);
    expect(await store.read(['nbf-user:alice'])).toEqual([1000]);
    expect(backend.calls.length).toBe(callsWhenDegraded);

    // More failures, reported by the connection, are not logged again.
    backend.goDown();
    backend.goDown(new Error('socket closed'));
    expect(await store.markOnce('code:later', 60)).toBe(true);
    expect(warnings()).toHaveLength(1);
    expect(states).toEqual(['shared', 'degraded']);
  });

  it('degrades when the connection reports it is down, before any call fails', async () => {
    const { backend, store, warnings } = track(sharedStore());
    backend.goDown();
    expect(store.state).toBe('degraded');
    expect(warnings()).toHaveLength(1);
    expect(await store.markOnce('code:a', 60)).toBe(true);
    expect(backend.calls).toEqual([]);
  });

  it('recovers on the ready event: one info line, the pending writes replayed, expired ones skipped', async () => {
    const { backend, clock, store, infos, warnings, states, settled } = track(sharedStore());
    backend.goDown();
    await store.markOnce('code:short', 5);
    await store.markOnce('code:long', 600);
    await store.raise('nbf-user:alice', 1000, 600);
    await store.raise('nbf-client:c1', 2000, 600);
    clock.advance(10);
    expect(backend.calls).toEqual([]);

    backend.comeBack();
    await settled();
    expect(states).toEqual(['shared', 'degraded', 'shared']);
    expect(warnings()).toHaveLength(1);
    expect(infos()).toHaveLength(1);
    expect(infos()[0]).toMatchObject({ msg: 'shared replay set reachable again', replayed_writes: 3 });

    expect(backend.calls.map((call) => call.key)).toEqual(['code:long', 'nbf-user:alice', 'nbf-client:c1']);
    expect(await backend.store.has('code:short')).toBe(false);
    expect(await backend.store.has('code:long')).toBe(true);
    expect(await backend.store.read(['nbf-user:alice', 'nbf-client:c1'])).toEqual([1000, 2000]);
    // The ttl sent is what is left of it, not the whole of it again.
    const replayedTtl = backend.calls.find((call) => call.key === 'code:long')!.ttlSeconds!;
    expect(replayedTtl).toBeGreaterThan(585);
    expect(replayedTtl).toBeLessThanOrEqual(590);

    // Shared again: the backend is asked, and another instance's keys count.
    await backend.store.markOnce('code:elsewhere', 60);
    expect(await store.markOnce('code:elsewhere', 60)).toBe(false);
  });

  it('recovers through the one-second probe when no ready event comes', async () => {
    vi.useFakeTimers();
    const { backend, store, infos, states } = track(sharedStore());
    backend.failing = true;
    await store.markOnce('code:during', 600);
    expect(store.state).toBe('degraded');

    await vi.advanceTimersByTimeAsync(1000);
    expect(backend.pings).toBe(1);
    expect(store.state).toBe('degraded');

    backend.comeBackQuietly();
    await vi.advanceTimersByTimeAsync(1000);
    expect(store.state).toBe('shared');
    expect(states).toEqual(['shared', 'degraded', 'shared']);
    expect(infos()).toHaveLength(1);
    expect(await backend.store.has('code:during')).toBe(true);

    // The probe stops once shared.
    const pings = backend.pings;
    await vi.advanceTimersByTimeAsync(5000);
    expect(backend.pings).toBe(pings);
  });

  it('replays a write made while the replay is under way before going back to shared', async () => {
    const { backend, store, settled } = track(sharedStore());
    backend.goDown();
    for (let i = 0; i < 3; i++) await store.markOnce(`code:${i}`, 600);
    const replay = backend.hold();
    backend.comeBack();
    // The replay's first write is waiting at the backend.
    await replay.reached;
    await store.raise('nbf-user:alice', 1000, 600);
    replay.release();
    await settled();
    expect(await backend.store.read(['nbf-user:alice'])).toEqual([1000]);
  });

  it('recovers once when the ready event and /readyz race, and replays writes made meanwhile', async () => {
    const { backend, store, infos, states, settled } = track(sharedStore());
    backend.goDown();
    for (let i = 0; i < 5; i++) await store.markOnce(`code:${i}`, 600);
    const replay = backend.hold();
    backend.comeBack();
    await replay.reached;
    // While the replay is under way, a request writes and /readyz asks.
    await store.raise('nbf-user:alice', 1000, 600);
    const ready = store.reachable();
    replay.release();
    expect(await ready).toBe(true);
    await settled();
    expect(infos()).toHaveLength(1);
    expect(states).toEqual(['shared', 'degraded', 'shared']);
    for (let i = 0; i < 5; i++) expect(await backend.store.has(`code:${i}`)).toBe(true);
    expect(await backend.store.read(['nbf-user:alice'])).toEqual([1000]);
    expect(backend.calls.filter((call) => call.op === 'markOnce')).toHaveLength(5);
  });

  it('keeps what is left to replay when the backend fails again during the replay', async () => {
    const { backend, store, infos, settled } = track(sharedStore());
    backend.goDown();
    await store.markOnce('code:a', 600);
    await store.markOnce('code:b', 600);
    let calls = 0;
    let secondFailed!: () => void;
    const failedAgain = new Promise<void>((resolve) => (secondFailed = resolve));
    const markOnce = backend.markOnce.bind(backend);
    backend.markOnce = async (key, ttl) => {
      calls += 1;
      if (calls === 2) {
        backend.failing = true;
        backend.connected = false;
        return markOnce(key, ttl).finally(secondFailed);
      }
      return markOnce(key, ttl);
    };
    backend.comeBack();
    await failedAgain;
    // The interrupted replay's own continuations run before the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBe(2);
    expect(store.state).toBe('degraded');
    expect(infos()).toHaveLength(0);

    backend.comeBack();
    await settled();
    expect(await backend.store.has('code:a')).toBe(true);
    expect(await backend.store.has('code:b')).toBe(true);
    expect(infos()).toHaveLength(1);
  });

  it('reachable() pings, recovers when the backend answers and degrades when it does not', async () => {
    const { backend, store, warnings, infos } = track(sharedStore());
    expect(await store.reachable()).toBe(true);
    backend.failing = true;
    expect(await store.reachable()).toBe(false);
    expect(store.state).toBe('degraded');
    expect(warnings()).toHaveLength(1);
    await store.markOnce('code:pending', 600);

    backend.comeBackQuietly();
    expect(await store.reachable()).toBe(true);
    expect(store.state).toBe('shared');
    expect(infos()).toHaveLength(1);
    expect(await backend.store.has('code:pending')).toBe(true);
  });

  it('starts degraded, and says so once, when the backend is not there at start', async () => {
    const { backend, store, warnings, states, settled } = track(sharedStore({ connected: false }));
    expect(store.state).toBe('degraded');
    expect(states).toEqual(['degraded']);
    expect(warnings()).toHaveLength(1);
    backend.goDown();
    expect(warnings()).toHaveLength(1);
    expect(await store.markOnce('code:a', 60)).toBe(true);
    expect(backend.calls).toEqual([]);
    backend.comeBack();
    await settled();
    expect(states).toEqual(['degraded', 'shared']);
    expect(await backend.store.has('code:a')).toBe(true);
  });
});

// The interface the fake and the stores share, so a drift in ReplayStore breaks this file at compile time.
const _stores: ReplayStore[] = [new MemoryReplayStore()];
void _stores;
