export { clientIdUrlProblem, isClientIdMetadataUrl, looksLikeClientIdUrl, type ClientIdUrlOptions } from './client-id-url.js';
export {
  CLIENT_ASSERTION_ALGORITHMS,
  clientMetadataDocumentSchema,
  isConfidentialDocument,
  parseClientMetadataDocument,
  type ClientMetadataAuthMethod,
  type ClientMetadataDocument,
  type ClientMetadataGrantType,
  type DocumentContext,
  type DocumentParseResult,
} from './document.js';
export type { PublicJwks } from '../../domain/public-jwks.js';
export { cacheLifetimeSeconds, statedFreshness, type CacheBounds } from './cache-lifetime.js';
export { ClientMetadataDocuments, CLIENT_METADATA_DEFAULTS, type ClientMetadataDocumentsOptions } from './document-cache.js';
export { ClientJwksCache, CLIENT_JWKS_DEFAULTS, type ClientJwksCacheOptions, type JwksFetcher } from './jwks-cache.js';
export {
  JWT_BEARER_ASSERTION_TYPE,
  unverifiedAssertionIssuer,
  verifyClientAssertion,
  type ClientAssertionInput,
  type VerifiedClientAssertion,
} from './private-key-jwt.js';
export {
  ClientAssertionError,
  ClientMetadataError,
  type ClientAssertionErrorCode,
  type ClientMetadataErrorCode,
} from './errors.js';
