import { describe, expect, it } from 'vitest';
import { identityFromClaims, MAX_GROUPS, missingClaims, readClaim } from '../../src/upstream/identity/claims.js';
import { DEFAULT_CLAIMS } from '../../src/upstream/presets.js';
import { UpstreamError } from '../../src/upstream/upstream-client.js';

describe('claim mapping', () => {
  it('reads an exact name before a dotted path, so namespaced claims work', () => {
    const source = { 'https://example.com/groups': ['a'], data: { user: { id: 7 } }, 'data.user.id': 'flat' };
    expect(readClaim(source, 'https://example.com/groups')).toEqual(['a']);
    expect(readClaim(source, 'data.user.id')).toBe('flat');
    expect(readClaim({ data: { user: { id: 7 } } }, 'data.user.id')).toBe(7);
    expect(readClaim({ data: { user: null } }, 'data.user.id')).toBeUndefined();
  });

  it('never walks into inherited properties', () => {
    expect(readClaim({}, 'constructor')).toBeUndefined();
    expect(readClaim({ data: {} }, 'data.__proto__.constructor')).toBeUndefined();
    expect(readClaim({ data: {} }, 'data.toString')).toBeUndefined();
  });

  it('treats an email as verified only on an explicit true', () => {
    const base = { sub: 's', email: 'a@example.test' };
    expect(identityFromClaims({ ...base, email_verified: true }, DEFAULT_CLAIMS).email_verified).toBe(true);
    expect(identityFromClaims({ ...base, email_verified: 'true' }, DEFAULT_CLAIMS).email_verified).toBe(true);
    for (const value of [undefined, false, 'false', 1, 'yes', null]) {
      expect(identityFromClaims({ ...base, email_verified: value }, DEFAULT_CLAIMS).email_verified).toBe(false);
    }
    expect(identityFromClaims({ ...base, email_verified: true }, { ...DEFAULT_CLAIMS, emailVerified: undefined }).email_verified).toBe(false);
    expect(identityFromClaims({ sub: 's', email_verified: true }, DEFAULT_CLAIMS)).toEqual({ sub: 's' });
  });

  it('accepts string and integer subjects only', () => {
    expect(identityFromClaims({ sub: 42 }, DEFAULT_CLAIMS).sub).toBe('42');
    for (const sub of [undefined, '', 1.5, { id: 1 }, ['x'], true]) {
      expect(() => identityFromClaims({ sub }, DEFAULT_CLAIMS)).toThrow(UpstreamError);
    }
  });

  it('reads groups as a list of names, keeps a single string whole, and caps the count', () => {
    expect(identityFromClaims({ sub: 's', groups: ['a', 3, null, '', 'b'] }, DEFAULT_CLAIMS).groups).toEqual(['a', '3', 'b']);
    expect(identityFromClaims({ sub: 's', groups: 'Domain Users' }, DEFAULT_CLAIMS).groups).toEqual(['Domain Users']);
    expect(identityFromClaims({ sub: 's', groups: [] }, DEFAULT_CLAIMS)).not.toHaveProperty('groups');
    const many = Array.from({ length: MAX_GROUPS + 50 }, (_, i) => `g${i}`);
    expect(identityFromClaims({ sub: 's', groups: many }, DEFAULT_CLAIMS).groups).toHaveLength(MAX_GROUPS);
  });

  it('lists the mapped claims a source lacks', () => {
    expect(missingClaims({ sub: 's', email: 'e', name: 'n' }, DEFAULT_CLAIMS)).toEqual(['groups']);
    expect(missingClaims({ sub: 's', email: 'e', name: 'n' }, { ...DEFAULT_CLAIMS, groups: undefined })).toEqual([]);
  });
});
