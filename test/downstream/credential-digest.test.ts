import { describe, expect, it } from 'vitest';
import { sha256Base64url } from '../../src/crypto/encoding.js';
import { credentialDigest } from '../../src/downstream/credential.js';

/**
 * The digest names a caller inside sealed session ids and keys cached tokens, so every instance
 * (and every version of the proxy still serving while another rolls out) must compute the same
 * one: SHA-256 of the parts as a JSON array, base64url, as Web Crypto computes it.
 */
describe('credentialDigest', () => {
  it('is SHA-256 of the parts as a JSON array, in base64url', async () => {
    for (const parts of [['ghp_personal-access-token'], ['client-id', 'client secret'], ['', 'é ✓ 𝄞'], ['a'.repeat(4096)]]) {
      expect(credentialDigest(...parts)).toBe(await sha256Base64url(JSON.stringify(parts)));
    }
  });

  it('cannot be forged by moving a separator between parts', () => {
    expect(credentialDigest('client', 'secret')).not.toBe(credentialDigest('client:secret'));
    expect(credentialDigest('a","b')).not.toBe(credentialDigest('a', 'b'));
    // Control: the same parts give the same digest.
    expect(credentialDigest('client', 'secret')).toBe(credentialDigest('client', 'secret'));
  });
});
