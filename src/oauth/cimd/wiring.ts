import type { Config } from '../../config/schema.js';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../observability/logger.js';
import { RateLimiter } from '../../store/rate-limit.js';
import type { ReplayStore } from '../../store/replay-store.js';
import type { AssertionVerifier } from '../client-auth.js';
import type { MetadataDocumentResolver } from '../clients.js';
import { looksLikeClientIdUrl } from './client-id-url.js';
import { CLIENT_METADATA_DEFAULTS, ClientMetadataDocuments } from './document-cache.js';
import { ClientMetadataError, ClientMetadataFetchLimited } from './errors.js';
import { ClientJwksCache } from './jwks-cache.js';
import { verifyClientAssertion } from './private-key-jwt.js';

export interface ClientKeySupport {
  /** Client ID metadata documents, or undefined where the operator turned them off. */
  readonly documents: MetadataDocumentResolver | undefined;
  /** private_key_jwt, for metadata-document clients and clients from the configuration alike. */
  readonly verifyAssertion: AssertionVerifier;
  /** Counts a fetch a client address causes against the per-address limit: 0 lets it go ahead, more refuses it. */
  readonly chargeFetch: (address: string) => number;
}

/**
 * What clients publish (metadata documents, key sets) as the rest of the proxy sees it. Key sets
 * are fetched through the same SSRF guard, and counted against the same per-address limit, whether
 * a metadata document or the configuration names them.
 */
export function clientKeySupport(
  config: Config,
  deps: { clock: Clock; logger: Logger; replay: ReplayStore; audiences: readonly string[]; onDocumentCacheLookup?: (hit: boolean) => void },
): ClientKeySupport {
  const settings = config.clientMetadataDocuments;
  const common = { allowPrivateNetwork: settings.allowPrivateNetwork, clock: deps.clock, logger: deps.logger };
  const documents = settings.enabled
    ? new ClientMetadataDocuments({
        ...common,
        redirectSchemes: config.redirectSchemes,
        ...(deps.onDocumentCacheLookup ? { onCacheLookup: deps.onDocumentCacheLookup } : {}),
      })
    : undefined;
  // Without documents, key sets named in the configuration (a client's, an identity issuer's) get the same limit of their own.
  const fetches = new RateLimiter({ perMinute: CLIENT_METADATA_DEFAULTS.fetchesPerAddressPerMinute, clock: deps.clock });
  const chargeFetch = documents ? (address: string) => documents.chargeFetch(address) : (address: string) => fetches.take(address);
  const jwks = new ClientJwksCache({ ...common, chargeFetch });
  return {
    chargeFetch,
    documents: documents && {
      accepts: looksLikeClientIdUrl,
      resolve: async (clientId, address) => {
        try {
          return { document: await documents.resolve(clientId, address) };
        } catch (error) {
          // The detail names what failed (fetch, size, schema, the fetch limit); it goes to the log with the client_id.
          const detail = error instanceof ClientMetadataError ? `${error.code}: ${error.detail ?? error.message}` : String(error);
          if (error instanceof ClientMetadataFetchLimited) return { problem: 'rate-limited', detail, retryAfterSeconds: error.retryAfterSeconds };
          return { problem: 'unavailable', detail };
        }
      },
    },
    verifyAssertion: async (client, assertion, assertionType, address) => {
      await verifyClientAssertion({
        assertion,
        assertionType,
        clientId: client.client_id,
        client,
        audiences: deps.audiences,
        replay: deps.replay,
        clock: deps.clock,
        fetchJwks: (jwksUri, options) => jwks.fetch(jwksUri, { ...options, address }),
      });
    },
  };
}
