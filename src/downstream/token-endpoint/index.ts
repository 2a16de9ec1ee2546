export { TokenEndpointError, type TokenEndpointErrorCode } from './errors.js';
export { checkTokenUrl, type ClientAuthMethod, type TokenClient } from './client-auth.js';
export { CachedTokens, TOKEN_CACHE_DEFAULTS, type CachedToken, type TokenCacheOptions, type TokenCacheStats } from './cached-tokens.js';
