import { Hono } from 'hono';
import { CREDENTIAL_MODES } from '../downstream/credentials.js';
import { apiCors } from '../http/cors.js';
import type { AppDeps } from '../http/deps.js';
import type { Endpoints, RouteEndpoints } from '../oauth/endpoints.js';
import { outboundRequestHeaders } from '../proxy/outbound-headers.js';
import { verifyBearer } from './bearer.js';
import { bearerChallenge } from './challenge.js';

/**
 * One protected MCP route: every request's token is checked, for this route's
 * audience, before anything reaches the downstream, which then gets its own
 * credential, never the client's.
 */
function mountRoute(app: Hono, deps: AppDeps, endpoint: RouteEndpoints, scope: string | undefined): void {
  const { route } = endpoint;
  const credentialFor = CREDENTIAL_MODES[route.auth];
  const forwarder = deps.forwarderFor(route);
  // A downstream 401 means it refused the upstream credential: the client should refresh with us.
  const downstreamRefusedChallenge = bearerChallenge({
    resourceMetadata: endpoint.protectedResourceMetadata,
    scope,
    error: 'invalid_token',
    description: 'The MCP server refused the credential; refresh the access token.',
  });

  app.use(endpoint.path, apiCors());
  app.all(endpoint.path, async (c) => {
    const result = await verifyBearer(c.req.header('authorization'), {
      capsules: deps.capsules,
      replay: deps.replay,
      resource: endpoint.resource,
    });
    if (!result.ok) {
      deps.logger.info('mcp request unauthorized', { route: endpoint.path, reason: result.reason, detail: result.detail });
      const invalid = result.reason === 'invalid';
      const challenge = bearerChallenge({
        resourceMetadata: endpoint.protectedResourceMetadata,
        scope,
        ...(invalid ? { error: 'invalid_token' as const, description: 'The access token is invalid or expired.' } : {}),
      });
      const body = invalid
        ? { error: 'invalid_token', error_description: 'The access token is invalid or expired.' }
        : { error: 'invalid_token', error_description: 'Authorization required.' };
      return c.json(body, 401, { 'WWW-Authenticate': challenge });
    }

    const target = new URL(route.url);
    target.search = new URL(c.req.url).search;
    const headers = outboundRequestHeaders(c.req.raw.headers, { credential: credentialFor(result.token) });
    return forwarder.forward(c, { target, headers, unauthorizedChallenge: downstreamRefusedChallenge });
  });
}

export function mcpRoutes(deps: AppDeps, endpoints: Endpoints): Hono {
  const app = new Hono();
  const scope = deps.config.scopes.join(' ') || undefined;
  for (const endpoint of endpoints.routes) mountRoute(app, deps, endpoint, scope);
  return app;
}
