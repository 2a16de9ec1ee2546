import { routeScopes, routeServesWithoutUpstreamSession, routeSignsIn, type Config, type Route } from '../config/schema.js';
import { PATHS } from '../domain/paths.js';
import { scopeUnion } from '../domain/scope.js';
import { compileAccessPolicy, type AccessPolicy } from '../policy/access-policy.js';
import { matchResource } from '../config/redirect-uri.js';

/** One MCP server as clients see it: its path on the proxy, its resource URI (RFC 8707) and metadata URL. */
export interface RouteEndpoints {
  readonly route: Route;
  readonly path: string;
  readonly resource: string;
  readonly protectedResourceMetadata: string;
  /** Who may use the route, checked at sign-in, at refresh and on every request. */
  readonly access: AccessPolicy;
  /** Whether clients sign in through the proxy here; routes that do not are not protected resources of ours. */
  readonly signsIn: boolean;
  /** The scopes clients may be granted here (`scopes_supported` of its metadata). */
  readonly scopes: readonly string[];
  /**
   * The first of `scopes`: what a client asking for no scope is granted (RFC 6749 §3.3 lets the server
   * pick that default) and what the first challenge names, so clients start small and step up.
   */
  readonly basicScope: string | undefined;
  /** Whether grants without a user's upstream session (client credentials, identity assertions) may issue tokens for it. */
  readonly servesWithoutUpstreamSession: boolean;
}

/** Public URLs of the proxy, all derived from configuration and never from the Host header. */
export interface Endpoints {
  readonly issuer: string;
  readonly authorization: string;
  readonly token: string;
  readonly revocation: string;
  readonly introspection: string;
  readonly registration: string | undefined;
  readonly consent: string;
  /** The redirect URI sent upstream. */
  readonly callback: string;
  /** The paths that answer the identity provider's redirect: /oauth/callback, and obot's when configured. */
  readonly callbackPaths: readonly string[];
  /** In configuration order. */
  readonly routes: readonly RouteEndpoints[];
  /** The routes clients sign in to; the first also answers at the root metadata location and for clients that name no resource. */
  readonly protectedRoutes: readonly RouteEndpoints[];
  /** Whether cookies can carry Secure and the __Host- prefix. */
  readonly secureCookies: boolean;
  /** The route a client's `resource` parameter names, tolerating case in scheme and host and one trailing slash. */
  routeForResource(resource: string): RouteEndpoints | undefined;
  /** The route a request for a token is for: the one its `resource` names, or the first for a client that names none (the 2025-03-26 revision). */
  routeRequested(resource: string | undefined): RouteEndpoints | undefined;
  /** The route an issued token's audience names, exactly. */
  routeForAudience(audience: string): RouteEndpoints | undefined;
}

export { PATHS } from '../domain/paths.js';

export function endpointsFor(config: Config): Endpoints {
  const issuer = config.publicUrl;
  const routes = config.routes.map((route): RouteEndpoints => {
    const scopes = scopeUnion(routeScopes(route, config.scopes));
    return {
      route,
      path: route.path,
      resource: issuer + route.path,
      protectedResourceMetadata: issuer + PATHS.protectedResourceMetadata + route.path,
      access: compileAccessPolicy(route.policy),
      signsIn: routeSignsIn(route),
      servesWithoutUpstreamSession: routeServesWithoutUpstreamSession(route),
      scopes,
      basicScope: scopes[0],
    };
  });
  const protectedRoutes = routes.filter((route) => route.signsIn);
  const routeForResource = (resource: string) => protectedRoutes.find((route) => matchResource(resource, route.resource));
  return {
    issuer,
    authorization: issuer + PATHS.authorize,
    token: issuer + PATHS.token,
    revocation: issuer + PATHS.revoke,
    introspection: issuer + PATHS.introspect,
    registration: config.registration.dynamic ? issuer + PATHS.register : undefined,
    consent: issuer + PATHS.consent,
    callback: issuer + (config.upstreamCallback === 'obot' ? PATHS.obotCallback : PATHS.callback),
    callbackPaths: config.upstreamCallback === 'obot' ? [PATHS.callback, PATHS.obotCallback] : [PATHS.callback],
    secureCookies: issuer.startsWith('https:'),
    routes,
    protectedRoutes,
    routeForResource,
    routeRequested: (resource) => (resource === undefined ? protectedRoutes[0] : routeForResource(resource)),
    routeForAudience: (audience) => protectedRoutes.find((route) => route.resource === audience),
  };
}
