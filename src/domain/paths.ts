/** A path the proxy answers itself, and what it serves there (named to operators whose route would take it). */
export interface ProxyEndpoint {
  readonly path: string;
  readonly serves: string;
  /** The proxy owns every path below this one too. */
  readonly subtree?: true;
}

/**
 * Every path the proxy serves itself: the routers mount their handlers here, and
 * configuration refuses MCP routes that would collide with one. One entry, one path.
 */
export const ENDPOINTS = {
  wellKnown: { path: '/.well-known', subtree: true, serves: 'discovery documents' },
  authorizationServerMetadata: { path: '/.well-known/oauth-authorization-server', serves: 'authorization server metadata' },
  protectedResourceMetadata: { path: '/.well-known/oauth-protected-resource', serves: 'protected resource metadata' },
  authorize: { path: '/authorize', serves: 'authorization endpoint' },
  token: { path: '/token', serves: 'token endpoint' },
  revoke: { path: '/revoke', serves: 'token revocation' },
  introspect: { path: '/introspect', serves: 'token introspection' },
  register: { path: '/register', serves: 'dynamic client registration' },
  consent: { path: '/consent', serves: 'consent page' },
  oauth: { path: '/oauth', subtree: true, serves: 'sign-in flow' },
  callback: { path: '/oauth/callback', serves: 'sign-in callback' },
  /** obot mcp-oauth-proxy's callback, kept for the redirect URI its deployments registered. */
  obotCallback: { path: '/callback', serves: 'sign-in callback of obot deployments' },
  admin: { path: '/admin', subtree: true, serves: 'admin API' },
  adminRevoke: { path: '/admin/revoke', serves: 'admin revocation' },
  health: { path: '/healthz', serves: 'health check' },
  readiness: { path: '/readyz', serves: 'readiness check' },
  metrics: { path: '/metrics', serves: 'Prometheus metrics' },
} as const satisfies Record<string, ProxyEndpoint>;

type Endpoints = typeof ENDPOINTS;

/** The paths alone, for mounting handlers. */
export const PATHS = Object.fromEntries(Object.entries(ENDPOINTS).map(([name, endpoint]) => [name, endpoint.path])) as {
  readonly [Name in keyof Endpoints]: Endpoints[Name]['path'];
};

const within = (path: string, root: string): boolean => path.startsWith(root + '/');

/** Where a route's path lies relative to an endpoint of the proxy. */
export interface Collision {
  readonly endpoint: ProxyEndpoint;
  readonly relation: 'same' | 'under' | 'above';
}

/**
 * The endpoint a route at `path` (normalized, without a trailing slash) would collide with: the
 * same path, a path below a subtree the proxy owns, or a path above one of the proxy's (an http
 * route forwards its subpaths; one rule for every kind). Segments match whole, as in the router.
 * An exact match is named first.
 */
export function collisionWithEndpoint(path: string): Collision | undefined {
  const endpoints: readonly ProxyEndpoint[] = Object.values(ENDPOINTS);
  const same = endpoints.find((endpoint) => endpoint.path === path);
  if (same) return { endpoint: same, relation: 'same' };
  const under = endpoints.find((endpoint) => endpoint.subtree && within(path, endpoint.path));
  if (under) return { endpoint: under, relation: 'under' };
  const above = endpoints.find((endpoint) => within(endpoint.path, path));
  return above && { endpoint: above, relation: 'above' };
}
