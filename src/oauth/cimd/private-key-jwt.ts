import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyResult } from 'jose';
import type { ReplayStore } from '../../store/replay-store.js';
import type { PublicJwks } from '../../domain/public-jwks.js';
import { CLIENT_ASSERTION_ALGORITHMS } from './document.js';
import { ClientAssertionError } from './errors.js';
import type { JwksFetcher } from './jwks-cache.js';

export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const MAX_ASSERTION_LENGTH = 8 * 1024;
const MAX_JTI_LENGTH = 256;

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

function acceptedAudiences(audiences: readonly string[]): string[] {
  const result = new Set<string>();
  for (const audience of audiences) {
    result.add(audience);
    result.add(audience.endsWith('/') ? audience.slice(0, -1) : `${audience}/`);
  }
  return [...result];
}

function joseFailure(error: unknown): ClientAssertionError {
  const { code, claim, reason } = (error ?? {}) as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new ClientAssertionError('bad_signature', 'signature did not verify', error);
    case 'ERR_JWT_EXPIRED':
      return new ClientAssertionError('expired', 'exp is in the past', error);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return new ClientAssertionError('invalid_claims', `${claim ?? 'claim'} ${reason ?? 'invalid'}`, error);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new ClientAssertionError('unsupported_alg', 'algorithm not allowed', error);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new ClientAssertionError('unknown_key', 'no key in the client key set matches', error);
    case 'ERR_JWKS_INVALID':
      return new ClientAssertionError('keys_unavailable', 'the client key set is invalid', error);
    default:
      return new ClientAssertionError('malformed', code ?? 'the assertion could not be verified', error);
  }
}

type VerifyOptions = Parameters<typeof jwtVerify>[2];

/** Verifies against a key set, trying every candidate when several keys match the header. */
async function verifyWith(assertion: string, jwks: PublicJwks, options: VerifyOptions): Promise<JWTVerifyResult> {
  const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
  try {
    return await jwtVerify(assertion, keySet, options);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    let last: unknown = error;
    for await (const key of error as AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(assertion, key, options);
      } catch (attempt) {
        last = attempt;
      }
    }
    throw last;
  }
}

async function verifySignature(input: ClientAssertionInput, assertion: string, options: VerifyOptions): Promise<JWTPayload> {
  const { client } = input;
  if (client.jwks) return (await verifyWith(assertion, client.jwks, options)).payload;
  if (!client.jwks_uri || !input.fetchJwks) throw new ClientAssertionError('keys_unavailable', 'no jwks or jwks_uri to verify with');
  const cached = await input.fetchJwks(client.jwks_uri, { refresh: false });
  try {
    return (await verifyWith(assertion, cached, options)).payload;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
    // The client may have rotated its keys: one rate-limited refetch, then a second try.
    const refreshed = await input.fetchJwks(client.jwks_uri, { refresh: true });
    if (refreshed === cached) throw error;
    return (await verifyWith(assertion, refreshed, options)).payload;
  }
}

/**
 * Authenticates a private_key_jwt client (RFC 7523 §2.2, §3; OAuth 2.1 §2.4.1): an
 * asymmetric signature by a key the client published (in its metadata document or configuration), `iss` = `sub` = client_id,
 * `aud` naming this server, a short-lived `exp`, and a `jti` used only once.
 */
export async function verifyClientAssertion(input: ClientAssertionInput): Promise<VerifiedClientAssertion> {
  const clock = input.clock ?? Date.now;
  const tolerance = input.clockToleranceSeconds ?? 30;
  const maxLifetime = input.maxLifetimeSeconds ?? 300;
  const { assertion, clientId, client } = input;

  if (input.assertionType !== JWT_BEARER_ASSERTION_TYPE) throw new ClientAssertionError('invalid_assertion_type', 'unexpected client_assertion_type');
  if (!assertion || assertion.length > MAX_ASSERTION_LENGTH) throw new ClientAssertionError('malformed', 'missing or oversized client_assertion');
  if (client.token_endpoint_auth_method !== 'private_key_jwt' || client.client_id !== clientId) {
    throw new ClientAssertionError('wrong_auth_method', 'the client is not registered for private_key_jwt');
  }
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch (error) {
    throw new ClientAssertionError('malformed', 'the assertion is not a JWS', error);
  }
  if (typeof alg !== 'string' || !(CLIENT_ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new ClientAssertionError('unsupported_alg', `alg ${String(alg).slice(0, 20)} is not accepted`);
  }

  const now = clock();
  let payload: JWTPayload;
  try {
    payload = await verifySignature(input, assertion, {
      algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
      issuer: clientId,
      subject: clientId,
      audience: acceptedAudiences(input.audiences),
      clockTolerance: tolerance,
      currentDate: new Date(now),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
    });
  } catch (error) {
    throw error instanceof ClientAssertionError ? error : joseFailure(error);
  }

  const nowSeconds = Math.floor(now / 1000);
  const exp = payload.exp!;
  if (exp > nowSeconds + maxLifetime + tolerance) throw new ClientAssertionError('lifetime_too_long', `exp is ${exp - nowSeconds}s away`);
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new ClientAssertionError('invalid_claims', 'jti invalid');
  const ttl = Math.max(1, exp - nowSeconds + tolerance);
  if (!(await input.replay.markOnce(`pkjwt:${clientId}:${jti}`, ttl))) throw new ClientAssertionError('replayed', 'jti already used');
  return { jti, expiresAt: exp };
}
