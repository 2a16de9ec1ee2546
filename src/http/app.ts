import { Hono } from 'hono';
import { endpointsFor, type Endpoints } from '../oauth/endpoints.js';
import { serverError } from '../oauth/errors.js';
import { requestIdSource } from '../observability/request-id.js';
import { routePipeline } from '../pipeline/route-pipeline.js';
import { routeTable, type RouteMatch } from '../pipeline/route-table.js';
import { targetOf, webExchange } from '../pipeline/web-exchange.js';
import type { Forwarder } from '../proxy/forwarder.js';
import { PATHS } from '../domain/paths.js';
import { accessLog, requestIdOf } from './access-log.js';
import { adminRoutes } from './admin-routes.js';
import type { AppDeps } from './deps.js';
import { metricsResponse, requestMetrics } from './metrics.js';
import { apiRoutes } from './oauth-api-routes.js';
import { browserRoutes } from './oauth-browser-routes.js';
import { readiness } from './readiness.js';

/**
 * The whole proxy as a web handler, and its two halves for runtimes that dispatch themselves:
 * the MCP and http routes go through the framework-free route pipeline; the OAuth, metadata,
 * browser, admin and health endpoints are a Hono app.
 */
export interface ProxyApp {
  /** Any request, as a web Request (Bun, Deno, in-process); `env` is the runtime's per-request value, for the peer address. */
  fetch(request: Request, env?: unknown): Promise<Response>;
  /** `fetch` for a path or URL, in-process (a path is taken on http://localhost, as Hono's `app.request` does). */
  request(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The route a request target belongs to, if any: runtimes that hand routes to the pipeline before anything else look here first. */
  routeOf(target: string): RouteMatch | undefined;
  /** The endpoints that are not routes. */
  readonly endpoints: Hono;
}

export function createApp<F extends Forwarder>(deps: AppDeps<F>): ProxyApp {
  const endpoints = endpointsFor(deps.config);
  const newRequestId = requestIdSource();
  const routeOf = routeTable(
    endpoints.routes.map((endpoint) => routePipeline({ ...deps, newRequestId }, endpoint, deps.credentialFor(endpoint.route))),
  );
  const hono = endpointsApp(deps, endpoints, newRequestId);
  const fetch = async (request: Request, env?: unknown): Promise<Response> => {
    const match = routeOf(targetOf(request.url));
    if (match === undefined) return hono.fetch(request, env);
    const exchange = webExchange(request, deps.peerAddress?.(request, env), deps.forwarderFor(match.pipeline.endpoint.route));
    return match.pipeline.handle(exchange, match.path, match.metricsRoute);
  };
  return {
    fetch,
    request: (input, init) => {
      if (input instanceof Request) return fetch(init === undefined ? input : new Request(input, init));
      const url = typeof input === 'string' && !/^https?:\/\//i.test(input) ? `http://localhost${input.startsWith('/') ? '' : '/'}${input}` : input;
      return fetch(new Request(url, init));
    },
    routeOf,
    endpoints: hono,
  };
}

/** The OAuth, metadata, browser, admin and health endpoints; each role's sub-app keeps its own error surface. */
function endpointsApp(deps: AppDeps, endpoints: Endpoints, newRequestId: () => string): Hono {
  const app = new Hono();
  app.use(accessLog(deps.logger, deps.clock, newRequestId));
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
  app.notFound((c) => c.json({ error: 'not_found', error_description: 'No such endpoint.' }, 404));
  app.onError((error, c) => {
    deps.logger.error('unhandled error', { error, path: c.req.path, request_id: requestIdOf(c) });
    return c.json(serverError('an unexpected error at an endpoint').toJSON(), 500);
  });
  return app;
}
