import { describe, expect, it } from 'vitest';
import { OpenedCapsules } from '../../src/crypto/opened-capsules.js';

const capsule = (n: number) => `header..iv${n}.ciphertext${n}.tag${n}`;

describe('OpenedCapsules', () => {
  it('answers a capsule kept before with its payload, and nothing for one never kept', () => {
    const cache = new OpenedCapsules<{ n: number }>(10);
    const payload = { n: 1 };
    cache.set(capsule(1), payload);
    expect(cache.get(capsule(1), 0)).toBe(payload);
    expect(cache.get(capsule(2), 0)).toBeUndefined();
  });

  it('does not answer another capsule that ends in the same tag', () => {
    const cache = new OpenedCapsules<{ n: number }>(10);
    cache.set('header..iv.ciphertext.tag', { n: 1 });
    expect(cache.get('header..iv.forged.tag', 0)).toBeUndefined();
    expect(cache.get('tag', 0)).toBeUndefined();
    // The miss left the entry in place.
    expect(cache.get('header..iv.ciphertext.tag', 0)).toEqual({ n: 1 });
  });

  it('answers until the payload expires, then drops it; a payload without exp does not expire', () => {
    const cache = new OpenedCapsules<{ exp?: number }>(10);
    cache.set(capsule(1), { exp: 100 });
    cache.set(capsule(2), {});
    expect(cache.get(capsule(1), 99)).toEqual({ exp: 100 });
    expect(cache.get(capsule(1), 100)).toBeUndefined();
    // Dropped, not just hidden: an earlier clock does not bring it back.
    expect(cache.get(capsule(1), 50)).toBeUndefined();
    expect(cache.get(capsule(2), Number.MAX_SAFE_INTEGER)).toEqual({});
  });

  it('keeps at most its bound, letting the entry kept longest ago go first', () => {
    const cache = new OpenedCapsules<{ n: number }>(3);
    for (const n of [1, 2, 3]) cache.set(capsule(n), { n });
    // Kept again: now the newest.
    cache.set(capsule(1), { n: 1 });
    cache.set(capsule(4), { n: 4 });
    expect(cache.get(capsule(2), 0)).toBeUndefined();
    expect([1, 3, 4].map((n) => cache.get(capsule(n), 0)?.n)).toEqual([1, 3, 4]);
  });
});
