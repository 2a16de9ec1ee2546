import { describe, expect, it } from 'vitest';
import { requestIdSource } from '../../src/observability/request-id.js';

describe('requestIdSource', () => {
  it('makes well-formed ids that never repeat, within a process and across processes', () => {
    const one = requestIdSource();
    const other = requestIdSource();
    const ids = [...Array.from({ length: 1000 }, one), ...Array.from({ length: 1000 }, other)];
    expect(new Set(ids).size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[\w.-]{1,64}$/);
    // Each process has its own random prefix.
    const prefixOf = (id: string) => id.slice(0, id.lastIndexOf('-'));
    expect(prefixOf(one())).not.toBe(prefixOf(other()));
  });

  it('is the prefix and a base-36 counter', () => {
    const next = requestIdSource('abc');
    expect([next(), next(), next()]).toEqual(['abc-0', 'abc-1', 'abc-2']);
  });
});
