import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { methodLabel, OTHER_ROUTE, type Metrics } from '../observability/metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/prometheus.js';
import { PATHS } from '../domain/paths.js';

/** The scrape answer: the exposition text, never cached. */
export function metricsResponse(metrics: Metrics): Response {
  return new Response(metrics.render(), {
    status: 200,
    headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' },
  });
}

/**
 * The route label of a finished request: the pattern of the route that answered (a fixed
 * path, or a configured MCP route's path), or "other" when only catch-all middleware ran.
 * Never the raw path, so unknown URLs cannot create new series.
 */
export function routeLabel(c: Context): string {
  let pattern = '';
  try {
    pattern = routePath(c);
  } catch {
    pattern = '';
  }
  return pattern === '' || pattern === '*' || pattern === '/*' ? OTHER_ROUTE : pattern;
}

/** Counts and times every request of the app it is mounted on; scrapes of /metrics are left out. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler {
  return async function requestMetricsMiddleware(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = routeLabel(c);
      if (route !== PATHS.metrics) {
        // A throw past onError (none expected) still counts, as the 500 the server will send.
        const status = c.finalized ? c.res.status : 500;
        metrics.httpRequests.inc({ route, method: methodLabel(c.req.method), status });
        metrics.httpRequestDuration.observe({ route }, (performance.now() - started) / 1000);
      }
    }
  };
}

/**
 * A standalone app serving only GET /metrics, for a separate port
 * (`metrics.port`); any runtime can serve its `fetch`.
 */
export function createMetricsApp(metrics: Metrics): Hono {
  const app = new Hono();
  app.get(PATHS.metrics, () => metricsResponse(metrics));
  app.notFound((c) => c.text('Not found', 404));
  return app;
}
