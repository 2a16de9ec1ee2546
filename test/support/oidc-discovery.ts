/**
 * An OpenID Provider's discovery document with the fields every provider publishes,
 * for tests in which msw plays the provider; `extra` adds or replaces fields.
 */
export function oidcDiscovery(issuer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    ...extra,
  };
}
