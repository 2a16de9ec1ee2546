import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../src/crypto/encoding.js';

// Bytes whose encodings use every character the two alphabets do not share.
const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0xfe, 0x00]);
const standard = Buffer.from(bytes).toString('base64'); // '+/+//gA='
const url = Buffer.from(bytes).toString('base64url'); // '-_-__gA'

describe('decodeBase64', () => {
  it('reads both alphabets, padded or not', () => {
    expect(standard).toMatch(/[+/].*=$/);
    expect(url).toMatch(/[-_]/);
    for (const text of [standard, standard.replace(/=+$/, ''), url, `${url}=`]) expect(decodeBase64(text)).toEqual(bytes);
  });

  it('refuses padding that does not complete the last group, and anything outside the alphabets', () => {
    for (const text of [`${url}==`, `${standard}=`, 'QQ=', 'QUJD=', 'A', 'QU JD', 'QUJD!', '=QUJD']) {
      expect(() => decodeBase64(text), text).toThrow(TypeError);
    }
  });
});
