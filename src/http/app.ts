import { Hono } from 'hono';
import { mcpRoutes } from './mcp-routes.js';
import { apiRoutes } from './oauth-api-routes.js';
import { browserRoutes } from './oauth-browser-routes.js';
import { endpointsFor } from '../oauth/endpoints.js';
import type { AppDeps } from './deps.js';
import { accessLog, requestIdOf } from './access-log.js';
import { adminRoutes } from './admin-routes.js';
import { metricsResponse, requestMetrics } from './metrics.js';
import { PATHS } from '../domain/paths.js';
import { readiness } from './readiness.js';

/** Mounts the three roles' sub-apps; each keeps its own error surface. */
export function createApp(deps: AppDeps): Hono {
  const endpoints = endpointsFor(deps.config);
  const app = new Hono();
  app.use(accessLog(deps.logger, deps.clock));
  // Error bodies may quote what a caller sent; a browser must never sniff them into HTML.
  app.use(function noSniff(c, next) {
    c.header('X-Content-Type-Options', 'nosniff');
    return next();
  });
  if (deps.config.metrics.enabled) app.use(requestMetrics(deps.metrics));
  app.get(PATHS.health, (c) => c.json({ status: 'ok' }));
  app.get(PATHS.readiness, async (c) => {
    const { ready, checks } = await readiness(deps.upstreamClients, {
      ...(deps.sharedReplay ? { sharedReplay: deps.sharedReplay } : {}),
      sharedReplayRequired: deps.config.redis.requiredForReady,
    });
    return c.json({ status: ready ? 'ready' : 'not_ready', checks }, ready ? 200 : 503, { 'Cache-Control': 'no-store' });
  });
  // With a metrics port, metrics are served there only (src/runtime), never here.
  if (deps.config.metrics.enabled && deps.config.metrics.port === undefined) app.get(PATHS.metrics, () => metricsResponse(deps.metrics));
  if (deps.config.admin.token !== undefined) app.route('/', adminRoutes(deps, deps.config.admin.token));
  app.route('/', apiRoutes(deps, endpoints));
  app.route('/', browserRoutes(deps, endpoints));
  app.route('/', mcpRoutes(deps, endpoints, deps.downstreamTokens));
  app.notFound((c) => c.json({ error: 'not_found', error_description: 'No such endpoint.' }, 404));
  app.onError((error, c) => {
    deps.logger.error('unhandled error', { error, path: c.req.path, request_id: requestIdOf(c) });
    return c.json({ error: 'server_error', error_description: 'The server could not complete the request.' }, 500);
  });
  return app;
}
