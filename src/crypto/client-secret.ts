import { base64url } from 'jose';
import { utf8 } from './encoding.js';
import type { KeyRing } from './keyring.js';

/**
 * Confidential clients' secrets are derived, never stored:
 * client_secret = HMAC(secret key of the kid that sealed the client_id, client_id).
 */
export async function deriveClientSecret(keys: KeyRing, kid: string, clientId: string): Promise<string | undefined> {
  const keySet = keys.find(kid);
  if (!keySet) return undefined;
  return base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', keySet.clientSecretKey, utf8(clientId))));
}

/** Verifies in constant time (Web Crypto's HMAC verify) rather than comparing strings. */
export async function verifyClientSecret(keys: KeyRing, kid: string, clientId: string, presented: string): Promise<boolean> {
  const keySet = keys.find(kid);
  if (!keySet || !/^[A-Za-z0-9_-]{43}$/.test(presented)) return false;
  return crypto.subtle.verify('HMAC', keySet.clientSecretKey, new Uint8Array(base64url.decode(presented)), utf8(clientId));
}
