import * as z from 'zod';
import type { TrustedIssuer } from '../../config/schema.js';
import type { Clock } from '../../domain/clock.js';
import { ProblemError } from '../../domain/errors.js';
import { tryUrl } from '../../domain/url.js';
import { isHttpsOrLoopback } from '../../net/loopback.js';
import { DEFAULT_FETCH_TIMEOUT_MS } from '../../net/safe-fetch.js';
import type { Logger } from '../../observability/logger.js';
import { ClientJwksCache } from '../cimd/jwks-cache.js';
import { PublishedJson } from '../cimd/published-json.js';
import type { SignerKeys } from '../signed-jwt.js';
import { IdentityAssertionError } from './errors.js';

const DISCOVERY_DEFAULTS = {
  fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  /** Discovery documents list every endpoint and claim; Keycloak's exceed 6 KB. */
  maxBytes: 64 * 1024,
  minCacheSeconds: 60,
  maxCacheSeconds: 24 * 60 * 60,
  defaultCacheSeconds: 60 * 60,
  maxEntries: 100,
} as const;

const discoveryDocument = z.looseObject({ issuer: z.string(), jwks_uri: z.string() });

export interface TrustedIssuerKeysOptions {
  readonly issuers: readonly TrustedIssuer[];
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts a fetch caused by a client address: 0 lets it go ahead, more refuses it. */
  readonly chargeFetch?: (address: string) => number;
}

/**
 * The keys of the identity providers the operator trusts: at the configured `jwksUri`, or at the
 * `jwks_uri` of the issuer's OpenID Connect discovery document (whose `issuer` must be the issuer
 * itself). Both are cached per their HTTP caching headers. These are the operator's own providers,
 * like the upstream one, so they may live on the private network: the fetches keep the guard's
 * timeout, size cap, address pinning and refusal of redirects, not its address check.
 */
export class TrustedIssuerKeys {
  private readonly issuers: ReadonlyMap<string, TrustedIssuer>;
  private readonly keySets: ClientJwksCache;
  private readonly discovery: PublishedJson<string>;

  constructor(private readonly options: TrustedIssuerKeysOptions) {
    this.issuers = new Map(options.issuers.map((issuer) => [issuer.issuer, issuer]));
    const common = { allowPrivateNetwork: true, clock: options.clock, logger: options.logger };
    this.keySets = new ClientJwksCache({ ...common, whose: 'issuer', ...(options.chargeFetch ? { chargeFetch: options.chargeFetch } : {}) });
    this.discovery = new PublishedJson(common, DISCOVERY_DEFAULTS, 'application/json');
  }

  trusts(issuer: string): boolean {
    return this.issuers.has(issuer);
  }

  /** The keys that sign the assertions of a trusted issuer; `address`, the requesting client's, is charged for fetches. */
  async keysOf(issuer: string, address: string): Promise<SignerKeys> {
    const trusted = this.issuers.get(issuer);
    if (!trusted) throw new IdentityAssertionError('unknown_issuer', 'the issuer is not trusted');
    const jwksUri = trusted.jwksUri ?? (await this.discoveredJwksUri(issuer, address));
    return {
      jwksUri,
      fetchJwks: async (uri, { refresh }) => {
        try {
          return await this.keySets.fetch(uri, { refresh, address });
        } catch (error) {
          throw new IdentityAssertionError('keys_unavailable', `issuer key set: ${error instanceof ProblemError ? error.detail : String(error)}`, error);
        }
      },
    };
  }

  private discoveredJwksUri(issuer: string, address: string): Promise<string> {
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    return this.discovery.get(url, async () => {
      if ((this.options.chargeFetch?.(address) ?? 0) > 0) throw new IdentityAssertionError('keys_unavailable', 'discovery: too many fetches for this client address');
      const fetched = await this.discovery.fetch(url);
      if (!fetched.ok) throw this.discoveryFailure(issuer, fetched.detail, fetched.cause);
      const parsed = discoveryDocument.safeParse(fetched.json);
      if (!parsed.success) throw this.discoveryFailure(issuer, 'no issuer or jwks_uri');
      if (parsed.data.issuer !== issuer) throw this.discoveryFailure(issuer, `the document names issuer ${parsed.data.issuer.slice(0, 200)}`);
      const jwksUri = tryUrl(parsed.data.jwks_uri);
      if (!jwksUri || !isHttpsOrLoopback(jwksUri)) throw this.discoveryFailure(issuer, 'jwks_uri is not an https URL');
      return { value: jwksUri.href, ttlSeconds: fetched.ttlSeconds };
    });
  }

  private discoveryFailure(issuer: string, detail: string, cause?: unknown): IdentityAssertionError {
    this.options.logger.warn('identity issuer discovery refused', { issuer, detail });
    return new IdentityAssertionError('keys_unavailable', `discovery: ${detail}`, cause);
  }
}
