import type { Context, MiddlewareHandler } from 'hono';
import { serializeOrigin } from '../config/primitives.js';
import { routeSignsIn, type Route, type SignInMode } from '../config/schema.js';
import { isLoopbackHost } from '../net/loopback.js';

type RouteOrigins = Pick<Route, 'allowedOrigins'> & SignInMode;

/**
 * The origins a route accepts browsers from, or undefined for any. `allowedOrigins` decides when set.
 * By default a route that requires the proxy's own access token accepts any origin: a page that
 * DNS-rebinds its name to the proxy cannot present that token, and browser clients such as the MCP
 * Inspector need it. Everywhere else (pat, none, client credentials from the request) only the proxy's
 * own origin: the proxy cannot tell whether the downstream answers a request that carries no secret
 * at all, so for the origin check that route is public.
 */
export function allowedOriginsFor(
  route: RouteOrigins,
  publicOrigin: string,
): ReadonlySet<string> | undefined {
  const allowed = route.allowedOrigins ?? (routeSignsIn(route) ? ['*'] : [publicOrigin]);
  return allowed.includes('*') ? undefined : new Set(allowed);
}

/** The body the MCP Streamable HTTP transport allows for the 403: a JSON-RPC error with no id. */
const refusal = (message: string) => JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } });
const ORIGIN_REFUSED = refusal('Requests from this origin are not allowed.');
const HOST_REFUSED = refusal('Requests for this host name are not allowed.');

type Refused = (c: Context, header: 'origin' | 'host', value: string) => void;

const refuse = (c: Context, body: string) => Promise.resolve(c.body(body, 403, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }));

/**
 * MCP Streamable HTTP transport: a server MUST validate `Origin` (against DNS rebinding) and answer
 * an invalid one with 403. Requests without `Origin` come from outside a browser and pass;
 * `Origin: null` passes only when listed. Origins are compared serialized (case, default ports),
 * which costs a URL parse only for an origin not found as sent.
 */
export function originGuard(allowed: ReadonlySet<string>, onRefused: Refused): MiddlewareHandler {
  return function checkOrigin(c, next) {
    const origin = c.req.header('origin');
    if (origin === undefined || allowed.has(origin)) return next();
    const serialized = serializeOrigin(origin);
    if (serialized !== undefined && allowed.has(serialized)) return next();
    onRefused(c, 'origin', origin);
    return refuse(c, ORIGIN_REFUSED);
  };
}

/**
 * A browser sends no `Origin` on a same-origin GET, and to the browser a rebinding page's requests are
 * same-origin: only their `Host` names the page's site. A proxy whose public URL is on loopback serves
 * this machine, so there a `Host` naming anything but loopback (any port) is refused too.
 */
export function loopbackHostGuard(onRefused: Refused): MiddlewareHandler {
  return function checkHost(c, next) {
    const host = c.req.header('host');
    if (host === undefined || isLoopbackHost(host.replace(/:\d*$/, '').toLowerCase())) return next();
    onRefused(c, 'host', host);
    return refuse(c, HOST_REFUSED);
  };
}

/**
 * The DNS rebinding checks of one route, decided at startup, to run before authentication and CORS
 * (a refused request gets neither a preflight answer nor CORS headers). None where any origin is allowed.
 */
export function rebindingGuards(route: RouteOrigins, publicOrigin: string, onRefused: Refused): MiddlewareHandler[] {
  const origins = allowedOriginsFor(route, publicOrigin);
  if (origins === undefined) return [];
  const checkOrigin = originGuard(origins, onRefused);
  return isLoopbackHost(new URL(publicOrigin).hostname) ? [loopbackHostGuard(onRefused), checkOrigin] : [checkOrigin];
}
