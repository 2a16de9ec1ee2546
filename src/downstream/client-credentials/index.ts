export {
  credentialsFromRequest,
  DEFAULT_CREDENTIAL_HEADERS,
  MAX_CLIENT_ID_LENGTH,
  MAX_CLIENT_SECRET_LENGTH,
  type CredentialHeaderNames,
  type RequestCredentials,
} from './from-request.js';
export { type ClientCredentialsRequest } from './token-request.js';
export { ClientCredentialsTokens } from './token-source.js';
