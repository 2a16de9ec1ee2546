import type { Config } from '../config/schema.js';
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../domain/capsule-schemas.js';
import { JWT_BEARER_GRANT_TYPE } from '../domain/grant-types.js';
import { CLIENT_ASSERTION_ALGORITHMS } from './cimd/document.js';
import type { Endpoints, RouteEndpoints } from './endpoints.js';
import { scopeUnion } from '../domain/scope.js';
import { OFFLINE_ACCESS } from './authorize.js';

const ID_JAG_GRANT_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

/** RFC 8414 metadata with every field MCP clients read; absent fields have defaults that would mislead them. */
export function authorizationServerMetadata(config: Config, endpoints: Endpoints) {
  const documents = config.clientMetadataDocuments.enabled;
  const clientCredentials = config.clients.some((client) => client.grant_types.includes('client_credentials'));
  const identityAssertions = config.trustedIdentityIssuers.length > 0;
  const signedAssertions = documents || config.clients.some((client) => client.token_endpoint_auth_method === 'private_key_jwt');
  const authMethods = [...TOKEN_ENDPOINT_AUTH_METHODS, ...(signedAssertions ? ['private_key_jwt'] : [])];
  return {
    issuer: endpoints.issuer,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    ...(endpoints.registration ? { registration_endpoint: endpoints.registration } : {}),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      ...(clientCredentials ? ['client_credentials'] : []),
      ...(identityAssertions ? [JWT_BEARER_GRANT_TYPE] : []),
    ],
    // draft-ietf-oauth-identity-assertion-authz-grant: what MCP clients look for before exchanging an ID-JAG.
    ...(identityAssertions ? { authorization_grant_profiles_supported: [ID_JAG_GRANT_PROFILE] } : {}),
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: authMethods,
    ...(signedAssertions ? { token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGORITHMS] } : {}),
    ...(documents ? { client_id_metadata_document_supported: true } : {}),
    revocation_endpoint: endpoints.revocation,
    ...(config.clients.length > 0 ? { introspection_endpoint: endpoints.introspection } : {}),
    revocation_endpoint_auth_methods_supported: authMethods,
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
