import type { Context, MiddlewareHandler } from 'hono';
import type { Clock } from '../domain/clock.js';
import { logsAt, type Logger } from '../observability/logger.js';
import { requestIdFor } from '../observability/request-id.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id: the caller's X-Request-Id when well-formed, else one the proxy made (see accessLog). */
    requestId: string;
  }
}

/** The id of the request being handled, for log lines, audit events and the downstream; undefined outside accessLog. */
export function requestIdOf(c: Context): string | undefined {
  return c.get('requestId');
}

/**
 * One line per request. The query string is never logged: on /authorize and
 * the callback it carries codes and state.
 *
 * Also gives each request its id (`requestIdFor`), stored on the context (`requestIdOf`) and
 * sent back as X-Request-Id. It is set before the handlers run so responses they build carry it too.
 */
export function accessLog(logger: Logger, clock: Clock, newRequestId: () => string): MiddlewareHandler {
  return async function accessLogMiddleware(c, next) {
    const started = clock();
    const requestId = requestIdFor(c.req.header('x-request-id'), newRequestId);
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
    // A handler's own Response (not built through the context) lacks it.
    if (c.res.headers.get('x-request-id') !== requestId) c.header('X-Request-Id', requestId);
    if (logsAt(logger, 'info')) logger.info('request', { request_id: requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: clock() - started });
  };
}
