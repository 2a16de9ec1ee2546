export { ClientCredentialsError, type ClientCredentialsErrorCode } from './errors.js';
export {
  credentialsFromRequest,
  DEFAULT_CREDENTIAL_HEADERS,
  MAX_CLIENT_ID_LENGTH,
  MAX_CLIENT_SECRET_LENGTH,
  type CredentialHeaderNames,
  type RequestCredentials,
} from './from-request.js';
export { checkTokenUrl, type ClientAuthMethod, type ClientCredentialsRequest } from './token-request.js';
export {
  CLIENT_CREDENTIALS_DEFAULTS,
  ClientCredentialsTokens,
  type ClientCredentialsStats,
  type ClientCredentialsToken,
  type ClientCredentialsTokensOptions,
} from './token-source.js';
