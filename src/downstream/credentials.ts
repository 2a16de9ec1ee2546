import type { DownstreamAuthMode } from '../config/schema.js';
import type { AccessPayload } from '../crypto/capsule-schemas.js';

/**
 * The headers that carry the downstream's credential, per mode. Each mode is a
 * pure function of the verified token, so adding a mode touches nothing else.
 */
export type CredentialMode = (token: AccessPayload) => Record<string, string>;

const upstreamToken: CredentialMode = (token) => ({ authorization: `Bearer ${token.upstream.access_token}` });

/** The obot convention. Email is passed only when the provider says it is verified. */
const identityHeaders: CredentialMode = (token) => {
  const headers: Record<string, string> = {
    'x-forwarded-user': token.identity.sub,
    'x-forwarded-access-token': token.upstream.access_token,
  };
  if (token.identity.email && token.identity.email_verified === true) headers['x-forwarded-email'] = token.identity.email;
  if (token.identity.name) headers['x-forwarded-name'] = encodeHeaderValue(token.identity.name);
  return headers;
};

/** Header values must be ByteStrings; a non-ASCII name travels percent-encoded. */
function encodeHeaderValue(value: string): string {
  return /^[\x20-\x7E]*$/.test(value) ? value : encodeURIComponent(value);
}

export const CREDENTIAL_MODES: Readonly<Record<DownstreamAuthMode, CredentialMode>> = {
  'upstream-token': upstreamToken,
  'identity-headers': identityHeaders,
};
