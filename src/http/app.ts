import { Hono } from 'hono';
import { mcpRoutes } from '../mcp/routes.js';
import { apiRoutes } from '../oauth/api-routes.js';
import { browserRoutes } from '../oauth/browser-routes.js';
import { endpointsFor } from '../oauth/endpoints.js';
import type { AppDeps } from './deps.js';
import { accessLog } from './access-log.js';
import { readiness } from './readiness.js';

/** Mounts the three roles' sub-apps; each keeps its own error surface. */
export function createApp(deps: AppDeps): Hono {
  const endpoints = endpointsFor(deps.config);
  const app = new Hono();
  app.use(accessLog(deps.logger, deps.clock));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const { ready, checks } = await readiness(deps.upstreamClients);
    return c.json({ status: ready ? 'ready' : 'not_ready', checks }, ready ? 200 : 503, { 'Cache-Control': 'no-store' });
  });
  app.route('/', apiRoutes(deps, endpoints));
  app.route('/', browserRoutes(deps, endpoints));
  app.route('/', mcpRoutes(deps, endpoints, deps.downstreamTokens));
  app.notFound((c) => c.json({ error: 'not_found', error_description: 'No such endpoint.' }, 404));
  app.onError((error, c) => {
    deps.logger.error('unhandled error', { error, path: c.req.path });
    return c.json({ error: 'server_error', error_description: 'The server could not complete the request.' }, 500);
  });
  return app;
}
