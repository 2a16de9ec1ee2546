import type { HeaderSource } from '../../domain/header-source.js';

/** The request headers that carry a caller's own client credentials, unless configured otherwise. */
export const DEFAULT_CREDENTIAL_HEADERS = { clientId: 'X-Client-Id', clientSecret: 'X-Client-Secret' } as const;

export interface CredentialHeaderNames {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface RequestCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export const MAX_CLIENT_ID_LENGTH = 256;
export const MAX_CLIENT_SECRET_LENGTH = 1024;

// RFC 6749 Appendix A: client_id and client_secret are VSCHAR (%x20-7E). Header values arrive
// trimmed, so an inner space is kept and an outer one cannot matter.
const VSCHAR = /^[\x20-\x7E]+$/;

function valid(value: string | null, maxLength: number): value is string {
  return value !== null && value.length > 0 && value.length <= maxLength && VSCHAR.test(value);
}

/**
 * "Bring your own client credentials": the caller's client_id and secret from two request
 * headers, for a `getToken` keyed by them (the secret by its hash). Undefined when either is
 * missing, empty, too long or not printable ASCII; the values are never echoed anywhere.
 * The caller must strip both headers before the request goes downstream.
 */
export function credentialsFromRequest(headers: HeaderSource, names: CredentialHeaderNames = DEFAULT_CREDENTIAL_HEADERS): RequestCredentials | undefined {
  const clientId = headers.get(names.clientId);
  const clientSecret = headers.get(names.clientSecret);
  if (!valid(clientId, MAX_CLIENT_ID_LENGTH) || !valid(clientSecret, MAX_CLIENT_SECRET_LENGTH)) return undefined;
  return { clientId, clientSecret };
}
