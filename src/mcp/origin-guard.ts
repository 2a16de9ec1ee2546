import type { Context, MiddlewareHandler } from 'hono';
import { serializeOrigin } from '../config/primitives.js';
import { routeSignsIn, type Route } from '../config/schema.js';

/**
 * The origins a route accepts browsers from, or undefined for any. `allowedOrigins` decides when set.
 * By default a route that requires the proxy's own access token accepts any origin: a page that
 * DNS-rebinds its name to the proxy cannot present that token, and browser clients such as the MCP
 * Inspector need it. Everywhere else (pat, none, client credentials from the request) only the proxy's
 * own origin: the proxy cannot tell whether the downstream answers a request that carries no secret
 * at all, so for the origin check that route is public.
 */
export function allowedOriginsFor(
  route: Pick<Route, 'allowedOrigins' | 'auth' | 'credentialsFrom'>,
  publicOrigin: string,
): ReadonlySet<string> | undefined {
  const allowed = route.allowedOrigins ?? (routeSignsIn(route) ? ['*'] : [publicOrigin]);
  return allowed.includes('*') ? undefined : new Set(allowed);
}

/** The body the MCP Streamable HTTP transport allows for the 403: a JSON-RPC error with no id. */
const REFUSED_BODY = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Requests from this origin are not allowed.' } });

/**
 * MCP Streamable HTTP transport: a server MUST validate `Origin` (against DNS rebinding) and answer
 * an invalid one with 403. Runs before authentication and CORS, so a refused origin gets no preflight
 * answer and no CORS header either. Requests without `Origin` come from outside a browser and pass;
 * `Origin: null` passes only when listed. Origins are compared serialized (case, default ports), which
 * costs a URL parse only for an origin not found as sent.
 */
export function originGuard(allowed: ReadonlySet<string>, onRefused: (c: Context, origin: string) => void): MiddlewareHandler {
  return function checkOrigin(c, next) {
    const origin = c.req.header('origin');
    if (origin === undefined || allowed.has(origin)) return next();
    const serialized = serializeOrigin(origin);
    if (serialized !== undefined && allowed.has(serialized)) return next();
    onRefused(c, origin);
    return Promise.resolve(c.body(REFUSED_BODY, 403, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }));
  };
}
