import type { Context, MiddlewareHandler } from 'hono';
import type { Clock } from '../domain/clock.js';
import { randomToken } from '../crypto/encoding.js';
import type { Logger } from '../observability/logger.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id: the caller's X-Request-Id when well-formed, else one the proxy made (see accessLog). */
    requestId: string;
  }
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * Ids the proxy makes itself: a random prefix per process and a counter. Unique across
 * instances and restarts without drawing random bytes for every request (that draw was a
 * measurable share of a proxied call); an id names a request, it guards nothing.
 */
export function requestIdSource(prefix: string = randomToken(6)): () => string {
  let next = 0;
  return () => `${prefix}-${(next++).toString(36)}`;
}

/** The id of the request being handled, for log lines, audit events and the downstream; undefined outside accessLog. */
export function requestIdOf(c: Context): string | undefined {
  return c.get('requestId');
}

/** A forwarder that wrote to Node's response directly leaves Hono a placeholder; the real status is on the socket. */
export function statusSent(c: Context, response: Response = c.res): number {
  const outgoing = (c.env as { outgoing?: { statusCode?: number } } | undefined)?.outgoing;
  return response.headers.has('x-hono-already-sent') && outgoing?.statusCode ? outgoing.statusCode : response.status;
}

/**
 * One line per request. The query string is never logged: on /authorize and
 * the callback it carries codes and state.
 *
 * Also gives each request its id: kept from a well-formed incoming X-Request-Id, else
 * made by `newRequestId`; stored on the context (`requestIdOf`) and sent back as X-Request-Id. It is set
 * before the handlers run so responses they build, and forwarders writing straight to
 * Node's response, carry it too.
 */
export function accessLog(logger: Logger, clock: Clock, newRequestId: () => string = requestIdSource()): MiddlewareHandler {
  return async function accessLogMiddleware(c, next) {
    const started = clock();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : newRequestId();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
    // A handler's own Response (not built through the context) lacks it; one already written to the socket has it.
    if (!c.res.headers.has('x-hono-already-sent') && c.res.headers.get('x-request-id') !== requestId) c.header('X-Request-Id', requestId);
    logger.info('request', {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status: statusSent(c),
      ms: clock() - started,
    });
  };
}
