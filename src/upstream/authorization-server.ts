import * as oauth from 'oauth4webapi';
import type { ResolvedOidcUpstream, ResolvedUpstream } from './settings.js';
import { UpstreamError } from './upstream-client.js';

const ENTRA_TENANT_ISSUER = /^\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/v2\.0$/;

/** Options every oauth4webapi request gets: our fetch enforces https-or-loopback, so its own check is off. */
export function requestOptions(fetchImpl: typeof fetch) {
  return { [oauth.customFetch]: fetchImpl, [oauth.allowInsecureRequests]: true } as const;
}

/**
 * An Entra tenant named by domain has a discovery issuer naming it by GUID. That
 * issuer is accepted only on the same host and in exactly the per-tenant shape,
 * never as the `{tenantid}` template of the multi-tenant endpoints.
 */
async function entraIssuerFor(configured: URL, response: Response): Promise<URL> {
  let issuer: unknown;
  try {
    issuer = ((await response.clone().json()) as { issuer?: unknown }).issuer;
  } catch {
    throw new UpstreamError('unavailable', 'discovery: the Entra discovery document is not JSON');
  }
  const url = typeof issuer === 'string' && URL.canParse(issuer) ? new URL(issuer) : undefined;
  if (!url || url.origin !== configured.origin || !ENTRA_TENANT_ISSUER.test(url.pathname) || url.search || url.hash) {
    throw new UpstreamError('unavailable', `discovery: Entra named an issuer other than ${configured.origin}/<tenant id>/v2.0`);
  }
  return url;
}

async function discover(resolved: ResolvedOidcUpstream, fetchImpl: typeof fetch): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(resolved.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(fetchImpl) });
  const expected = resolved.issuerValidation === 'entra-domain' ? await entraIssuerFor(issuer, response) : issuer;
  const discovered = await oauth.processDiscoveryResponse(expected, response);
  const { authorization, token, userinfo } = resolved.endpoints;
  return {
    ...discovered,
    ...(authorization ? { authorization_endpoint: authorization } : {}),
    ...(token ? { token_endpoint: token } : {}),
    ...(userinfo ? { userinfo_endpoint: userinfo } : {}),
  };
}

/**
 * The provider's metadata: discovered for OpenID Connect, built from the
 * settings for plain OAuth 2.0. Without a configured issuer, a plain OAuth
 * provider is named by its authorization endpoint's origin (oauth4webapi
 * needs a name; the proxy then ignores any `iss` callback parameter).
 */
export async function loadAuthorizationServer(resolved: ResolvedUpstream, fetchImpl: typeof fetch): Promise<oauth.AuthorizationServer> {
  switch (resolved.protocol) {
    case 'oidc':
      return discover(resolved, fetchImpl);
    case 'oauth2':
      return {
        issuer: resolved.issuer ?? new URL(resolved.authorizationUrl).origin,
        authorization_endpoint: resolved.authorizationUrl,
        token_endpoint: resolved.tokenUrl,
        userinfo_endpoint: resolved.userinfoUrl,
      };
    case 'github':
      return {
        issuer: new URL(resolved.authorizationUrl).origin,
        authorization_endpoint: resolved.authorizationUrl,
        token_endpoint: resolved.tokenUrl,
      };
  }
}

/** Whether the callback's `iss` parameter can be checked (RFC 9207), or must be ignored. */
export function checksCallbackIssuer(resolved: ResolvedUpstream): boolean {
  return resolved.protocol === 'oidc' || (resolved.protocol === 'oauth2' && resolved.issuer !== undefined);
}
