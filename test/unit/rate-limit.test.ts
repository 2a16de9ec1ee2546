import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/store/rate-limit.js';

describe('RateLimiter', () => {
  it('allows perMinute events per key and window, then says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ perMinute: 3, clock: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    now += 20_000;
    expect(limiter.take('a')).toBe(40);
    // Another key has its own window.
    expect(limiter.take('b')).toBe(0);
    now += 40_000;
    expect(limiter.take('a')).toBe(0);
  });

  it('never waits less than a second', () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 1, clock: () => now });
    limiter.take('a');
    now = 59_999;
    expect(limiter.take('a')).toBe(1);
  });

  it('holds at most maxKeys windows and evicts the one opened longest ago', () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 1, clock: () => now, maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    expect(limiter.take('a')).toBeGreaterThan(0);
    // A window that restarts counts as opened now.
    now = 60_000;
    expect(limiter.take('a')).toBe(0);
    now = 60_001;
    limiter.take('d');
    expect(limiter.size).toBe(3);
    // 'b' was the oldest window: evicted, so it starts afresh; 'a' (reopened) is still limited.
    expect(limiter.take('b')).toBe(0);
    expect(limiter.take('a')).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) limiter.take(`flood-${i}`);
    expect(limiter.size).toBe(3);
  });
});
