import { base64url } from 'jose';

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/**
 * Bytes from base64 or base64url text (RFC 4648 §4, §5), either alphabet: operators paste keys
 * in both. Padding may be left out, but where present it must complete the last group; anything
 * else throws a TypeError.
 */
export function decodeBase64(text: string): Uint8Array {
  const match = /^([A-Za-z0-9+/_-]*)(={0,2})$/.exec(text);
  if (!match || (match[2] !== '' && text.length % 4 !== 0)) throw new TypeError('The text is not base64.');
  return base64url.decode(match[1]!.replace(/\+/g, '-').replace(/\//g, '_'));
}

export function randomToken(byteLength = 16): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(byteLength)));
}

export async function sha256(input: string | Uint8Array): Promise<Uint8Array> {
  const data = typeof input === 'string' ? utf8(input) : new Uint8Array(input);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

export async function sha256Base64url(input: string): Promise<string> {
  return base64url.encode(await sha256(input));
}

/**
 * A 128-bit digest that stands in for a long value (a client_id capsule, a
 * browser-binding nonce) inside other capsules, keeping them small.
 */
export async function shortDigest(input: string): Promise<string> {
  return (await sha256Base64url(input)).slice(0, 22);
}

/** Constant-time comparison of two strings of possibly different length. */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const left = utf8(a);
  const right = utf8(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++) difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

/** Joins byte chunks read from a stream; a lone chunk is returned as it is. */
export function concatBytes<B extends ArrayBufferLike>(
  chunks: readonly Uint8Array<B>[],
  total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0),
): Uint8Array<B | ArrayBuffer> {
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
