import type { Config } from '../config/schema.js';
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../domain/capsule-schemas.js';
import { CLIENT_ASSERTION_ALGORITHMS } from './cimd/document.js';
import type { Endpoints, RouteEndpoints } from './endpoints.js';
import { scopeUnion } from '../domain/scope.js';
import { OFFLINE_ACCESS } from './authorize.js';

/** RFC 8414 metadata with every field MCP clients read; absent fields have defaults that would mislead them. */
export function authorizationServerMetadata(config: Config, endpoints: Endpoints) {
  const documents = config.clientMetadataDocuments.enabled;
  return {
    issuer: endpoints.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    ...(endpoints.registration ? { registration_endpoint: endpoints.registration } : {}),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS, ...(documents ? ['private_key_jwt'] : [])],
    ...(documents
      ? { token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGORITHMS], client_id_metadata_document_supported: true }
      : {}),
    revocation_endpoint: endpoints.revocation,
    ...(config.clients.length > 0 ? { introspection_endpoint: endpoints.introspection } : {}),
    revocation_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS, ...(documents ? ['private_key_jwt'] : [])],
    scopes_supported: scopeUnion(...endpoints.protectedRoutes.map((route) => route.scopes), [OFFLINE_ACCESS]),
    authorization_response_iss_parameter_supported: true,
  };
}

/** RFC 9728 metadata; `resource` is exactly the MCP URL clients connect to. */
export function protectedResourceMetadata(config: Config, endpoints: Endpoints, route: RouteEndpoints) {
  return {
    resource: route.resource,
    authorization_servers: [endpoints.issuer],
    bearer_methods_supported: ['header'],
    ...(route.scopes.length > 0 ? { scopes_supported: [...route.scopes] } : {}),
  };
}
