import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Clock } from '../../domain/clock.js';
import type { Identity } from '../../domain/capsule-schemas.js';
import { replayKeys } from '../../store/replay-keys.js';
import type { ReplayStore } from '../../store/replay-store.js';
import { identityFromClaims, type ClaimNames } from '../../upstream/identity/claims.js';
import { acceptedAudiences, verifySignedJwt } from '../signed-jwt.js';
import { IdentityAssertionError } from './errors.js';
import type { TrustedIssuerKeys } from './issuer-keys.js';

/** The JWS `typ` of an identity assertion (draft-ietf-oauth-identity-assertion-authz-grant §3). */
const ID_JAG_TYPE = 'oauth-id-jag+jwt';

const MAX_ASSERTION_LENGTH = 16 * 1024;
const CLOCK_TOLERANCE_SECONDS = 30;
/** The longest an assertion may live, counted from `iat` and from now: what its `jti` costs the replay set. */
const MAX_LIFETIME_SECONDS = 60 * 60;

/** The identity an assertion asserts: the provider's own claim names, and `groups` for group names. */
const CLAIMS: ClaimNames = { subject: 'sub', email: 'email', emailVerified: 'email_verified', name: 'name', groups: 'groups' };

export interface IdentityAssertionInput {
  readonly assertion: string;
  /** The authenticated client, which the assertion's `client_id` must name. */
  readonly clientId: string;
  /** The proxy's issuer: the audience the assertion must name. */
  readonly audience: string;
  readonly issuers: Pick<TrustedIssuerKeys, 'trusts' | 'keysOf'>;
  readonly replay: ReplayStore;
  readonly clock: Clock;
  /** The requesting client's address, charged for any key fetch the verification causes. */
  readonly address: string;
}

export interface VerifiedIdentityAssertion {
  readonly identity: Identity;
  /** The resource indicators the assertion names (RFC 8707): one, several, or none. */
  readonly resources: readonly string[];
  /** The scope the identity provider granted, when it says. */
  readonly scope: string | undefined;
}

/** RFC 7515 §4.1.9: a media type, compared without case and without an `application/` prefix. */
function isIdJagType(typ: unknown): boolean {
  return typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === ID_JAG_TYPE;
}

/** The header and claims, unverified: only to refuse early and to pick the issuer's keys. */
function decode(assertion: string): { header: ReturnType<typeof decodeProtectedHeader>; claims: JWTPayload } {
  if (assertion.length > MAX_ASSERTION_LENGTH) throw new IdentityAssertionError('malformed', 'the assertion is too long');
  try {
    return { header: decodeProtectedHeader(assertion), claims: decodeJwt(assertion) };
  } catch (error) {
    throw new IdentityAssertionError('malformed', 'the assertion is not a signed JWT', error);
  }
}

/**
 * Verifies an Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-
 * authz-grant §4.4, RFC 7521 §5.2, RFC 7523 §3): `typ` oauth-id-jag+jwt, an asymmetric signature by
 * a key of a trusted issuer, `aud` this server's issuer, `client_id` the authenticated client, `exp`
 * and `iat` within a small tolerance and at most an hour apart from now, and a `jti` used once.
 * `sub` (and `email`, `email_verified`, `name`, `groups` when present) become the identity; a
 * subject of the form reserved for clients is refused.
 */
export async function verifyIdentityAssertion(input: IdentityAssertionInput): Promise<VerifiedIdentityAssertion> {
  const { header, claims } = decode(input.assertion);
  // The type first: an ID token or an access token of the same provider is never taken for a grant (RFC 8725 §3.11).
  if (!isIdJagType(header.typ)) throw new IdentityAssertionError('wrong_type', `typ ${String(header.typ).slice(0, 40)}`);
  const issuer = claims.iss;
  if (typeof issuer !== 'string' || !input.issuers.trusts(issuer)) throw new IdentityAssertionError('unknown_issuer', `iss ${String(issuer).slice(0, 200)} is not trusted`);

  const { payload, jti, replayTtl } = await verifySignedJwt(input.assertion, {
    keys: () => input.issuers.keysOf(issuer, input.address),
    claims: { issuer, audience: acceptedAudiences([input.audience]), maxTokenAge: MAX_LIFETIME_SECONDS, requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'] },
    now: input.clock(),
    toleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
    whose: 'issuer',
    fail: (code, detail, cause) => new IdentityAssertionError(code, detail, cause),
  });
  if (payload.client_id !== input.clientId) throw new IdentityAssertionError('wrong_client', 'client_id names another client');
  let identity: Identity;
  try {
    identity = identityFromClaims(payload, CLAIMS);
  } catch (error) {
    throw new IdentityAssertionError('invalid_claims', (error as { detail?: string }).detail ?? 'no usable subject', error);
  }
  if (!(await input.replay.markOnce(replayKeys.usedIdentityAssertion(issuer, jti), replayTtl))) throw new IdentityAssertionError('replayed', 'jti already used');

  const { resource, scope } = payload;
  const resources = typeof resource === 'string' ? [resource] : Array.isArray(resource) ? resource.filter((value): value is string => typeof value === 'string') : [];
  return { identity, resources, scope: typeof scope === 'string' ? scope : undefined };
}
