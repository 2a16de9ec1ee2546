import type { Context, MiddlewareHandler } from 'hono';
import type { Clock } from '../crypto/capsule.js';
import { randomToken } from '../crypto/encoding.js';
import type { Logger } from '../observability/logger.js';

/** A forwarder that wrote to Node's response directly leaves Hono a placeholder; the real status is on the socket. */
export function statusSent(c: Context, response: Response = c.res): number {
  const outgoing = (c.env as { outgoing?: { statusCode?: number } } | undefined)?.outgoing;
  return response.headers.has('x-hono-already-sent') && outgoing?.statusCode ? outgoing.statusCode : response.status;
}

/**
 * One line per request. The query string is never logged: on /authorize and
 * the callback it carries codes and state.
 */
export function accessLog(logger: Logger, clock: Clock): MiddlewareHandler {
  return async function accessLogMiddleware(c, next) {
    const started = clock();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomToken(9);
    await next();
    logger.info('request', {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status: statusSent(c),
      ms: clock() - started,
    });
  };
}
