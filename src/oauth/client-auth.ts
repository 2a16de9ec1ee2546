import { base64url } from 'jose';
import { verifyClientSecret } from '../crypto/client-secret.js';
import { timingSafeEqualStrings } from '../crypto/encoding.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { ClientSigningKeys } from './cimd/private-key-jwt.js';
import type { ClientAuthMethod, ClientDirectory, ResolvedClient } from './clients.js';
import { invalidClient, invalidRequest, OAuthError, tooManyRequests } from './errors.js';
import type { Params } from './params.js';

/**
 * invalid_client, always 401 with a challenge: RFC 6749 §5.2 requires it when the
 * client tried HTTP authentication and allows it otherwise.
 */
function rejectClient(description: string, detail?: string, cause?: unknown): OAuthError {
  const error = invalidClient(description, detail, cause);
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

/** Verifies a private_key_jwt assertion with the keys of the client it claims to come from; throws on any failure. */
export type AssertionVerifier = (
  client: ClientSigningKeys,
  assertion: string,
  assertionType: string | undefined,
  /** The requesting client's address, charged for any key-set fetch the verification causes. */
  address: string,
) => Promise<void>;

export interface ClientAuthDeps {
  readonly clients: ClientDirectory;
  readonly keys: KeyRing;
  readonly verifyAssertion?: AssertionVerifier;
}

async function secretMatches(client: ResolvedClient, secret: string, keys: KeyRing): Promise<boolean> {
  if (client.kind === 'registered') return verifyClientSecret(keys, client.kid, client.clientId, secret);
  if (client.kind === 'configured') return client.secret !== undefined && timingSafeEqualStrings(client.secret, secret);
  return false;
}

/** The keys a client's private_key_jwt assertions are verified with: from its metadata document or its configuration. */
function signingKeysOf(client: ResolvedClient): ClientSigningKeys | undefined {
  if (client.kind === 'metadata-document') return client.document;
  return client.kind === 'configured' ? client.keys : undefined;
}

/** The client_id a JWT assertion names as its issuer, read without trusting it: it only picks the keys to verify with. */
function assertionIssuer(assertion: string): string | undefined {
  try {
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(assertion.split('.')[1]!)));
    return typeof payload?.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Authenticates the client at the token endpoint with exactly the method it
 * registered (OAuth 2.1 §2.4, §3.2.1): none, client_secret_post,
 * client_secret_basic, or private_key_jwt for metadata-document and configured clients.
 */
export async function authenticateClient(
  request: { readonly authorization: string | undefined; readonly params: Params; readonly address: string },
  deps: ClientAuthDeps,
): Promise<ResolvedClient> {
  const { authorization, params } = request;
  const usedBasic = authorization !== undefined && /^Basic\s/i.test(authorization);
  const basic = usedBasic ? decodeBasic(authorization!) : undefined;
  if (usedBasic && !basic) throw rejectClient('The Basic authorization header is malformed.');
  const bodyId = params.optional('client_id');
  const bodySecret = params.optional('client_secret');
  const assertion = params.optional('client_assertion');
  const presented = [basic, bodySecret, assertion].filter((value) => value !== undefined).length;
  if (presented > 1) throw invalidRequest('Use only one client authentication method.');

  const clientId = basic?.id ?? bodyId ?? (assertion ? assertionIssuer(assertion) : undefined);
  if (clientId === undefined) throw rejectClient('Client authentication is required.');
  if (bodyId !== undefined && bodyId !== clientId) throw invalidRequest('client_id does not match the authenticated client.');
  const found = await deps.clients.lookup(clientId, request.address);
  if ('problem' in found) {
    if (found.problem === 'rate-limited') {
      throw tooManyRequests('Too many client metadata documents fetched for this address; try again later.', found.retryAfterSeconds, found.detail);
    }
    throw rejectClient('The client is unknown or its registration is no longer valid; register again.', found.detail);
  }
  const { client } = found;

  const method = client.registration.token_endpoint_auth_method;
  const used: ClientAuthMethod = basic ? 'client_secret_basic' : bodySecret !== undefined ? 'client_secret_post' : assertion ? 'private_key_jwt' : 'none';
  if (used !== method) throw rejectClient(`This client must authenticate with ${method}.`, `client used ${used}`);

  if (method === 'private_key_jwt') {
    const keys = signingKeysOf(client);
    if (!keys || !deps.verifyAssertion) throw rejectClient('Client authentication failed.', 'no assertion verifier');
    try {
      await deps.verifyAssertion(keys, assertion!, params.optional('client_assertion_type'), request.address);
    } catch (error) {
      throw rejectClient('Client authentication failed.', error instanceof Error ? error.message : String(error), error);
    }
  } else if (method !== 'none' && !(await secretMatches(client, basic?.secret ?? bodySecret!, deps.keys))) {
    throw rejectClient('Client authentication failed.');
  }
  return client;
}
