import type { Config } from '../../config/schema.js';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../observability/logger.js';
import type { ReplayStore } from '../../store/replay-store.js';
import { TrustedIssuerKeys } from './issuer-keys.js';
import { verifyIdentityAssertion, type VerifiedIdentityAssertion } from './verify.js';

/** Checks an identity assertion presented by the authenticated client `clientId`; `address` pays for key fetches. */
export type IdentityAssertionVerifier = (assertion: string, clientId: string, address: string) => Promise<VerifiedIdentityAssertion>;

/** The verifier of identity assertions, or undefined where the operator trusts no issuer (the grant is then unsupported). */
export function identityAssertionVerifier(
  config: Config,
  deps: { clock: Clock; logger: Logger; replay: ReplayStore; audience: string; chargeFetch: (address: string) => number },
): IdentityAssertionVerifier | undefined {
  if (config.trustedIdentityIssuers.length === 0) return undefined;
  const issuers = new TrustedIssuerKeys({ issuers: config.trustedIdentityIssuers, clock: deps.clock, logger: deps.logger, chargeFetch: deps.chargeFetch });
  return (assertion, clientId, address) =>
    verifyIdentityAssertion({ assertion, clientId, address, audience: deps.audience, issuers, replay: deps.replay, clock: deps.clock });
}
