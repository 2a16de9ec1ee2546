import { Hono } from 'hono';
import { CREDENTIAL_MODES } from '../downstream/credentials.js';
import { apiCors } from '../http/cors.js';
import type { AppDeps } from '../http/deps.js';
import type { Endpoints } from '../oauth/endpoints.js';
import { outboundRequestHeaders } from '../proxy/outbound-headers.js';
import { verifyBearer } from './bearer.js';
import { bearerChallenge } from './challenge.js';

/**
 * The protected MCP route: every request's token is checked before anything
 * reaches the downstream, which then gets its own credential, never the client's.
 */
export function mcpRoutes(deps: AppDeps, endpoints: Endpoints): Hono {
  const app = new Hono();
  const { config, logger } = deps;
  const credentialFor = CREDENTIAL_MODES[config.mcp.auth];
  const scope = config.scopes.join(' ') || undefined;

  // A downstream 401 means it refused the upstream credential: the client should refresh with us.
  const downstreamRefusedChallenge = bearerChallenge({
    resourceMetadata: endpoints.protectedResourceMetadata,
    scope,
    error: 'invalid_token',
    description: 'The MCP server refused the credential; refresh the access token.',
  });

  app.use(endpoints.mcpPath, apiCors());
  app.all(endpoints.mcpPath, async (c) => {
    const result = await verifyBearer(c.req.header('authorization'), {
      capsules: deps.capsules,
      replay: deps.replay,
      resource: endpoints.resource,
    });
    if (!result.ok) {
      logger.info('mcp request unauthorized', { reason: result.reason, detail: result.detail });
      const invalid = result.reason === 'invalid';
      const challenge = bearerChallenge({
        resourceMetadata: endpoints.protectedResourceMetadata,
        scope,
        ...(invalid ? { error: 'invalid_token' as const, description: 'The access token is invalid or expired.' } : {}),
      });
      const body = invalid
        ? { error: 'invalid_token', error_description: 'The access token is invalid or expired.' }
        : { error: 'invalid_token', error_description: 'Authorization required.' };
      return c.json(body, 401, { 'WWW-Authenticate': challenge });
    }

    const target = new URL(config.mcp.url);
    target.search = new URL(c.req.url).search;
    const headers = outboundRequestHeaders(c.req.raw.headers, { credential: credentialFor(result.token) });
    return deps.forwarder.forward(c, { target, headers, unauthorizedChallenge: downstreamRefusedChallenge });
  });

  return app;
}
