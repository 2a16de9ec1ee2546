import type { Config } from '../../config/schema.js';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../observability/logger.js';
import type { ReplayStore } from '../../store/replay-store.js';
import type { AssertionVerifier } from '../client-auth.js';
import type { MetadataDocumentResolver } from '../clients.js';
import { looksLikeClientIdUrl } from './client-id-url.js';
import { ClientMetadataDocuments } from './document-cache.js';
import { ClientMetadataError, ClientMetadataFetchLimited } from './errors.js';
import { ClientJwksCache } from './jwks-cache.js';
import { verifyClientAssertion } from './private-key-jwt.js';

export interface MetadataDocumentSupport {
  readonly documents: MetadataDocumentResolver;
  readonly verifyAssertion: AssertionVerifier;
}

/** Client ID metadata documents as the rest of the proxy sees them, or undefined where the operator turned them off. */
export function metadataDocumentSupport(
  config: Config,
  deps: { clock: Clock; logger: Logger; replay: ReplayStore; audiences: readonly string[]; onDocumentCacheLookup?: (hit: boolean) => void },
): MetadataDocumentSupport | undefined {
  const settings = config.clientMetadataDocuments;
  if (!settings.enabled) return undefined;
  const common = { allowPrivateNetwork: settings.allowPrivateNetwork, clock: deps.clock, logger: deps.logger };
  const documents = new ClientMetadataDocuments({
    ...common,
    redirectSchemes: config.redirectSchemes,
    ...(deps.onDocumentCacheLookup ? { onCacheLookup: deps.onDocumentCacheLookup } : {}),
  });
  const jwks = new ClientJwksCache({ ...common, chargeFetch: (address) => documents.chargeFetch(address) });
  return {
    documents: {
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
        clientId: client.clientId,
        document: client.document,
        audiences: deps.audiences,
        replay: deps.replay,
        clock: deps.clock,
        fetchJwks: (jwksUri, options) => jwks.fetch(jwksUri, { ...options, address }),
      });
    },
  };
}
