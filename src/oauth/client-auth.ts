import type { CapsuleCodec } from '../crypto/capsule.js';
import { verifyClientSecret } from '../crypto/client-secret.js';
import type { KeyRing } from '../crypto/keyring.js';
import { resolveClient, type ResolvedClient } from './clients.js';
import { invalidClient, invalidRequest, OAuthError } from './errors.js';
import type { Params } from './params.js';

/**
 * invalid_client, always 401 with a challenge: RFC 6749 §5.2 requires it when the
 * client tried HTTP authentication and allows it otherwise.
 */
function rejectClient(description: string, detail?: string): OAuthError {
  const error = invalidClient(description, detail);
  error.challenge = 'Basic realm="mcp-capsule"';
  return error;
}

function decodeBasic(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  let decoded: string;
  try {
    decoded = atob(match[1]!);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

/**
 * Authenticates the client at the token endpoint with exactly the method it
 * registered (OAuth 2.1 §2.4, §3.2.1): none, client_secret_post or client_secret_basic.
 */
export async function authenticateClient(
  authorization: string | undefined,
  params: Params,
  deps: { capsules: CapsuleCodec; keys: KeyRing },
): Promise<ResolvedClient> {
  const usedBasic = authorization !== undefined && /^Basic\s/i.test(authorization);
  const basic = usedBasic ? decodeBasic(authorization!) : undefined;
  if (usedBasic && !basic) throw rejectClient('The Basic authorization header is malformed.');
  const bodyId = params.optional('client_id');
  const bodySecret = params.optional('client_secret');
  if (basic && bodySecret !== undefined) throw invalidRequest('Use only one client authentication method.');
  if (basic && bodyId !== undefined && bodyId !== basic.id) throw invalidRequest('client_id does not match the authenticated client.');

  const clientId = basic?.id ?? bodyId;
  if (clientId === undefined) throw rejectClient('Client authentication is required.');
  const client = await resolveClient(deps.capsules, clientId);
  if (!client) throw rejectClient('The client is unknown or its registration is no longer valid; register again.');

  const method = client.registration.token_endpoint_auth_method;
  const used = basic ? 'client_secret_basic' : bodySecret !== undefined ? 'client_secret_post' : 'none';
  if (used !== method) {
    throw rejectClient(`This client must authenticate with ${method}.`, `client used ${used}`);
  }
  if (method !== 'none') {
    const secret = basic?.secret ?? bodySecret!;
    if (!(await verifyClientSecret(deps.keys, client.kid, clientId, secret))) {
      throw rejectClient('Client authentication failed.');
    }
  }
  return client;
}
