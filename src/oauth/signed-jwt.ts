import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyResult } from 'jose';
import { ProblemError } from '../domain/errors.js';
import type { PublicJwks } from '../domain/public-jwks.js';
import { CLIENT_ASSERTION_ALGORITHMS } from './cimd/document.js';
import type { JwksFetcher } from './cimd/jwks-cache.js';

/**
 * Verifying JWTs that others sign with keys they publish: a client's private_key_jwt assertion,
 * an identity provider's identity assertion (ID-JAG). What the claims must say is each caller's.
 */

/** Why a signed JWT did not verify, in the words of the errors that report it. */
export type SignedJwtFailure =
  | 'bad_signature'
  | 'expired'
  | 'invalid_claims'
  | 'lifetime_too_long'
  | 'unsupported_alg'
  | 'unknown_key'
  | 'keys_unavailable'
  | 'malformed';

/** The signer's keys: inline, or published at a URL that `fetchJwks` reads (and caches). */
export type SignerKeys = { readonly jwks: PublicJwks } | { readonly jwksUri: string; readonly fetchJwks: JwksFetcher };

type VerifyOptions = NonNullable<Parameters<typeof jwtVerify>[2]>;

const MAX_JTI_LENGTH = 256;

/** An audience names this server with or without a trailing slash; both spellings are accepted. */
export function acceptedAudiences(audiences: readonly string[]): string[] {
  const result = new Set<string>();
  for (const audience of audiences) {
    result.add(audience);
    result.add(audience.endsWith('/') ? audience.slice(0, -1) : `${audience}/`);
  }
  return [...result];
}

/** What a jose error means, and a detail for the log; `whose` names the key set (`client`, `issuer`). */
function joseFailure(error: unknown, whose: string): { code: SignedJwtFailure; detail: string } {
  const { code, claim, reason } = (error ?? {}) as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { code: 'bad_signature', detail: 'signature did not verify' };
    case 'ERR_JWT_EXPIRED':
      return { code: 'expired', detail: 'exp is in the past' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return { code: 'invalid_claims', detail: `${claim ?? 'claim'} ${reason ?? 'invalid'}` };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { code: 'unsupported_alg', detail: 'algorithm not allowed' };
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return { code: 'unknown_key', detail: `no key in the ${whose} key set matches` };
    case 'ERR_JWKS_INVALID':
      return { code: 'keys_unavailable', detail: `the ${whose} key set is invalid` };
    default:
      return { code: 'malformed', detail: code ?? 'the JWT could not be verified' };
  }
}

/** Verifies against a key set, trying every candidate when several keys match the header. */
async function verifyWith(jwt: string, jwks: PublicJwks, options: VerifyOptions): Promise<JWTVerifyResult> {
  const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
  try {
    return await jwtVerify(jwt, keySet, options);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    let last: unknown = error;
    for await (const key of error as AsyncIterable<CryptoKey>) {
      try {
        return await jwtVerify(jwt, key, options);
      } catch (attempt) {
        last = attempt;
      }
    }
    throw last;
  }
}

/** Keys behind a URL are the cached set first; when no key matches, the signer may have rotated its keys: one rate-limited refetch, then a second try. */
async function verifyWithKeys(jwt: string, keys: SignerKeys, options: VerifyOptions): Promise<JWTPayload> {
  if ('jwks' in keys) return (await verifyWith(jwt, keys.jwks, options)).payload;
  const cached = await keys.fetchJwks(keys.jwksUri, { refresh: false });
  try {
    return (await verifyWith(jwt, cached, options)).payload;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
    const refreshed = await keys.fetchJwks(keys.jwksUri, { refresh: true });
    if (refreshed === cached) throw error;
    return (await verifyWith(jwt, refreshed, options)).payload;
  }
}

export interface SignedJwtRules {
  /** The signer's keys, looked up once the header passed; what they throw (a ProblemError) goes through as it is. */
  readonly keys: () => SignerKeys | Promise<SignerKeys>;
  /** What jose checks besides the signature, `exp` and `nbf`. */
  readonly claims: Pick<VerifyOptions, 'issuer' | 'subject' | 'audience' | 'requiredClaims' | 'maxTokenAge'>;
  /** Milliseconds since the epoch. */
  readonly now: number;
  readonly toleranceSeconds: number;
  /** The furthest `exp` may lie ahead, beyond the tolerance: what remembering its `jti` may cost. */
  readonly maxLifetimeSeconds: number;
  /** Whose keys they are, for the log: `client`, `issuer`. */
  readonly whose: string;
  /** The caller's error for each failure. */
  readonly fail: (code: SignedJwtFailure, detail: string, cause?: unknown) => Error;
}

export interface VerifiedSignedJwt {
  readonly payload: JWTPayload;
  readonly jti: string;
  readonly exp: number;
  /** Seconds the `jti` must be remembered to be refused again: until `exp`, with the tolerance. */
  readonly replayTtl: number;
}

/**
 * A JWT checked as `rules` say: an asymmetric algorithm we accept (refused before any key is
 * fetched), the signature, the claims, an `exp` not too far ahead, and a `jti` fit for the replay
 * set, which the caller marks. Every failure is the caller's error, its cause jose's.
 */
export async function verifySignedJwt(jwt: string, rules: SignedJwtRules): Promise<VerifiedSignedJwt> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(jwt).alg;
  } catch (error) {
    throw rules.fail('malformed', 'not a JWS', error);
  }
  if (typeof alg !== 'string' || !(CLIENT_ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) {
    throw rules.fail('unsupported_alg', `alg ${String(alg).slice(0, 20)} is not accepted`);
  }
  let payload: JWTPayload;
  try {
    payload = await verifyWithKeys(jwt, await rules.keys(), {
      ...rules.claims,
      algorithms: [...CLIENT_ASSERTION_ALGORITHMS],
      clockTolerance: rules.toleranceSeconds,
      currentDate: new Date(rules.now),
    });
  } catch (error) {
    if (error instanceof ProblemError) throw error;
    const { code, detail } = joseFailure(error, rules.whose);
    throw rules.fail(code, detail, error);
  }
  const nowSeconds = Math.floor(rules.now / 1000);
  const exp = payload.exp;
  if (typeof exp !== 'number') throw rules.fail('invalid_claims', 'exp missing');
  if (exp > nowSeconds + rules.maxLifetimeSeconds + rules.toleranceSeconds) throw rules.fail('lifetime_too_long', `exp is ${exp - nowSeconds}s away`);
  const { jti } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw rules.fail('invalid_claims', 'jti invalid');
  return { payload, jti, exp, replayTtl: Math.max(1, exp - nowSeconds + rules.toleranceSeconds) };
}
