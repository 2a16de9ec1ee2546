import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

/**
 * CORS for browser-based MCP clients on metadata, registration, token and MCP
 * endpoints (never /authorize). Bearer tokens, not cookies, so no credentials mode.
 */
export const apiCors = (): MiddlewareHandler =>
  cors({
    origin: '*',
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Accept',
      'MCP-Protocol-Version',
      'Mcp-Session-Id',
      'Last-Event-ID',
      'Mcp-Method',
      'Mcp-Name',
    ],
    exposeHeaders: ['WWW-Authenticate', 'Mcp-Session-Id', 'MCP-Protocol-Version'],
    maxAge: 86400,
  });

/** The same for the proxied MCP routes, skipped for requests that are not a browser's. */
export const mcpCors = (): MiddlewareHandler => onlyForBrowsers(apiCors());

/**
 * CORS headers mean something only to a browser, which always sends Origin. MCP clients
 * outside a browser send none, and on the proxied path the middleware's work per request
 * was measurable; preflights (OPTIONS) are always answered.
 */
function onlyForBrowsers(middleware: MiddlewareHandler): MiddlewareHandler {
  return function corsForBrowsers(c, next) {
    if (c.req.method !== 'OPTIONS' && c.req.header('origin') === undefined) return next();
    return middleware(c, next);
  };
}
