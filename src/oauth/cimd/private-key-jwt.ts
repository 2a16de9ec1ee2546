import { decodeJwt } from 'jose';
import type { ReplayStore } from '../../store/replay-store.js';
import type { PublicJwks } from '../../domain/public-jwks.js';
import { ClientAssertionError } from './errors.js';
import type { JwksFetcher } from './jwks-cache.js';
import { acceptedAudiences, verifySignedJwt, type SignerKeys } from '../signed-jwt.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const MAX_ASSERTION_LENGTH = 8 * 1024;

/** Whose assertion it may be and the keys that may sign it: a metadata document, or a client from the configuration. */
export interface ClientSigningKeys {
  readonly client_id: string;
  readonly token_endpoint_auth_method: string;
  readonly jwks?: PublicJwks;
  readonly jwks_uri?: string;
}

export interface ClientAssertionInput {
  /** The `client_assertion` form parameter. */
  assertion: string | undefined;
  /** The `client_assertion_type` form parameter. */
  assertionType: string | undefined;
  clientId: string;
  client: ClientSigningKeys;
  /** The proxy's issuer and token endpoint URL; each is accepted with or without a trailing slash. */
  audiences: readonly string[];
  replay: ReplayStore;
  clock?: () => number;
  /** Needed when the client names a jwks_uri (ClientJwksCache#fetch). */
  fetchJwks?: JwksFetcher;
  clockToleranceSeconds?: number;
  /** The latest `exp` accepted, counted from now. */
  maxLifetimeSeconds?: number;
}

export interface VerifiedClientAssertion {
  readonly jti: string;
  readonly expiresAt: number;
}

/** The assertion's `iss`, unverified: lets the token endpoint find the client when the body has no client_id. */
export function unverifiedAssertionIssuer(assertion: string): string | undefined {
  try {
    const { iss } = decodeJwt(assertion);
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** The client's keys as the verifier takes them; undefined when it has none it could use. */
function signerKeys(input: ClientAssertionInput): SignerKeys | undefined {
  const { client, fetchJwks } = input;
  if (client.jwks) return { jwks: client.jwks };
  return client.jwks_uri && fetchJwks ? { jwksUri: client.jwks_uri, fetchJwks } : undefined;
}

/**
 * Authenticates a private_key_jwt client (RFC 7523 §2.2, §3; OAuth 2.1 §2.4.1): an
 * asymmetric signature by a key the client published (in its metadata document or configuration), `iss` = `sub` = client_id,
 * `aud` naming this server, a short-lived `exp`, and a `jti` used only once.
 */
export async function verifyClientAssertion(input: ClientAssertionInput): Promise<VerifiedClientAssertion> {
  const clock = input.clock ?? Date.now;
  const { assertion, clientId, client } = input;

  if (input.assertionType !== JWT_BEARER_ASSERTION_TYPE) throw new ClientAssertionError('invalid_assertion_type', 'unexpected client_assertion_type');
  if (!assertion || assertion.length > MAX_ASSERTION_LENGTH) throw new ClientAssertionError('malformed', 'missing or oversized client_assertion');
  if (client.token_endpoint_auth_method !== 'private_key_jwt' || client.client_id !== clientId) {
    throw new ClientAssertionError('wrong_auth_method', 'the client is not registered for private_key_jwt');
  }
  const verified = await verifySignedJwt(assertion, {
    keys: () => {
      const keys = signerKeys(input);
      if (!keys) throw new ClientAssertionError('keys_unavailable', 'no jwks or jwks_uri to verify with');
      return keys;
    },
    claims: { issuer: clientId, subject: clientId, audience: acceptedAudiences(input.audiences), requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'] },
    now: clock(),
    toleranceSeconds: input.clockToleranceSeconds ?? 30,
    maxLifetimeSeconds: input.maxLifetimeSeconds ?? 300,
    whose: 'client',
    fail: (code, detail, cause) => new ClientAssertionError(code, detail, cause),
  });
  const { jti, exp } = verified;
  if (!(await input.replay.markOnce(`pkjwt:${clientId}:${jti}`, verified.replayTtl))) throw new ClientAssertionError('replayed', 'jti already used');
  return { jti, expiresAt: exp };
}
