import type { Config, Route } from '../config/schema.js';
import { matchResource } from './redirect-uri.js';

/** One MCP server as clients see it: its path on the proxy, its resource URI (RFC 8707) and metadata URL. */
export interface RouteEndpoints {
  readonly route: Route;
  readonly path: string;
  readonly resource: string;
  readonly protectedResourceMetadata: string;
}

/** Public URLs of the proxy, all derived from configuration and never from the Host header. */
export interface Endpoints {
  readonly issuer: string;
  readonly authorization: string;
  readonly token: string;
  readonly registration: string | undefined;
  readonly consent: string;
  readonly callback: string;
  /** In configuration order; the first also answers at the root metadata location and for clients that name no resource. */
  readonly routes: readonly RouteEndpoints[];
  /** Whether cookies can carry Secure and the __Host- prefix. */
  readonly secureCookies: boolean;
  /** The route a client's `resource` parameter names, tolerating case in scheme and host and one trailing slash. */
  routeForResource(resource: string): RouteEndpoints | undefined;
  /** The route an issued token's audience names, exactly. */
  routeForAudience(audience: string): RouteEndpoints | undefined;
}

export const PATHS = {
  authorizationServerMetadata: '/.well-known/oauth-authorization-server',
  protectedResourceMetadata: '/.well-known/oauth-protected-resource',
  authorize: '/authorize',
  token: '/token',
  register: '/register',
  consent: '/consent',
  callback: '/oauth/callback',
} as const;

export function endpointsFor(config: Config): Endpoints {
  const issuer = config.publicUrl;
  const routes = config.routes.map((route) => ({
    route,
    path: route.path,
    resource: issuer + route.path,
    protectedResourceMetadata: issuer + PATHS.protectedResourceMetadata + route.path,
  }));
  return {
    issuer,
    authorization: issuer + PATHS.authorize,
    token: issuer + PATHS.token,
    registration: config.registration.dynamic ? issuer + PATHS.register : undefined,
    consent: issuer + PATHS.consent,
    callback: issuer + PATHS.callback,
    routes,
    secureCookies: issuer.startsWith('https:'),
    routeForResource: (resource) => routes.find((route) => matchResource(resource, route.resource)),
    routeForAudience: (audience) => routes.find((route) => route.resource === audience),
  };
}
