import { describe, expect, it } from 'vitest';
import { isValidS256Challenge, s256Challenge, verifyS256 } from '../../src/crypto/pkce.js';

describe('PKCE S256', () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('computes the RFC 7636 Appendix B example', async () => {
    expect(await s256Challenge(verifier)).toBe(challenge);
    expect(await verifyS256(verifier, challenge)).toBe(true);
  });

  it('refuses a wrong verifier, a plain verifier and malformed verifiers', async () => {
    expect(await verifyS256(verifier.replace('d', 'e'), challenge)).toBe(false);
    // "plain" would compare the verifier itself to the challenge.
    expect(await verifyS256(challenge, challenge)).toBe(false);
    expect(await verifyS256('short', await s256Challenge('short'))).toBe(false);
    expect(await verifyS256('x'.repeat(129), await s256Challenge('x'.repeat(129)))).toBe(false);
    expect(await verifyS256(`${verifier.slice(0, 42)}!`, challenge)).toBe(false);
  });

  it('recognises the shape of an S256 challenge', () => {
    expect(isValidS256Challenge(challenge)).toBe(true);
    expect(isValidS256Challenge(verifier + 'abc')).toBe(false);
    expect(isValidS256Challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=')).toBe(false);
  });
});
