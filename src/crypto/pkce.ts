import { base64url } from 'jose';
import { sha256, timingSafeEqualStrings } from './encoding.js';

// RFC 7636 §4.1: 43 to 128 unreserved characters.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
// An S256 challenge is the base64url SHA-256 digest: exactly 43 characters.
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isValidCodeVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

export function isValidS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

export async function s256Challenge(verifier: string): Promise<string> {
  return base64url.encode(await sha256(verifier));
}

export async function verifyS256(verifier: string, challenge: string): Promise<boolean> {
  if (!isValidCodeVerifier(verifier)) return false;
  return timingSafeEqualStrings(await s256Challenge(verifier), challenge);
}
