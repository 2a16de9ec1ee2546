import { serializeOrigin } from '../config/primitives.js';
import { routeSignsIn, type Route, type SignInMode } from '../config/schema.js';
import { jsonAnswer, type Answer } from '../domain/answer.js';
import type { HeaderSource } from '../domain/header-source.js';
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
const refusal = (message: string): Answer =>
  jsonAnswer(403, { jsonrpc: '2.0', id: null, error: { code: -32000, message } });
const REFUSALS: Readonly<Record<RebindingRefusal['header'], Answer>> = {
  origin: refusal('Requests from this origin are not allowed.'),
  host: refusal('Requests for this host name are not allowed.'),
};

/** Which header made a request look like a DNS rebinding page's, and what it said. */
export interface RebindingRefusal {
  readonly header: 'origin' | 'host';
  readonly value: string;
}

/** The 403 for a refused request. */
export function rebindingAnswer(refused: RebindingRefusal): Answer {
  return REFUSALS[refused.header];
}

/**
 * MCP Streamable HTTP transport: a server MUST validate `Origin` (against DNS rebinding) and answer
 * an invalid one with 403. Requests without `Origin` come from outside a browser and pass;
 * `Origin: null` passes only when listed. Origins are compared serialized (case, default ports),
 * which costs a URL parse only for an origin not found as sent.
 */
export function originAllowed(allowed: ReadonlySet<string>, origin: string | null): boolean {
  if (origin === null || allowed.has(origin)) return true;
  const serialized = serializeOrigin(origin);
  return serialized !== undefined && allowed.has(serialized);
}

/**
 * A browser sends no `Origin` on a same-origin GET, and to the browser a rebinding page's requests are
 * same-origin: only their `Host` names the page's site. A proxy whose public URL is on loopback serves
 * this machine, so there a `Host` naming anything but loopback (any port) is refused too.
 */
export function loopbackHostAllowed(host: string | null): boolean {
  return host === null || isLoopbackHost(host.replace(/:\d*$/, '').toLowerCase());
}

/**
 * The DNS rebinding check of one route, decided at startup, to run before authentication and CORS
 * (a refused request gets neither a preflight answer nor CORS headers). Undefined where any origin
 * is allowed.
 */
export function rebindingCheck(
  route: RouteOrigins,
  publicOrigin: string,
): ((headers: HeaderSource) => RebindingRefusal | undefined) | undefined {
  const origins = allowedOriginsFor(route, publicOrigin);
  if (origins === undefined) return undefined;
  const checksHost = isLoopbackHost(new URL(publicOrigin).hostname);
  return (headers) => {
    const host = headers.get('host');
    if (checksHost && !loopbackHostAllowed(host)) return { header: 'host', value: host! };
    const origin = headers.get('origin');
    return originAllowed(origins, origin) ? undefined : { header: 'origin', value: origin! };
  };
}
