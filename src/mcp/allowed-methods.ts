import type { Route } from '../config/schema.js';

/**
 * Which request methods a route forwards. MCP's Streamable HTTP transport needs POST (messages),
 * GET (the server's event stream) and DELETE (ending a session); OPTIONS is answered by the
 * proxy's CORS and never forwarded. `http` routes forward any method except TRACE and TRACK,
 * which make a server echo the request back, credential included (RFC 9110 §9.3.8: a TRACE
 * must not carry credentials), and CONNECT, which asks for a tunnel, not a resource.
 *
 * Method names are case-sensitive (RFC 9110 §9.1), but servers behind the proxy may not be, so
 * the refused ones are matched in any case.
 */
const MCP_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'DELETE']);
const NEVER_FORWARDED: ReadonlySet<string> = new Set(['TRACE', 'TRACK', 'CONNECT']);

const ALLOW: Readonly<Record<Route['kind'], string>> = {
  mcp: 'GET, POST, DELETE, OPTIONS',
  http: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
};

/** The `Allow` header of the 405 answer when a route of this kind does not forward `method`; undefined when it does. */
export function refusedMethodAllow(kind: Route['kind'], method: string): string | undefined {
  const forwarded = kind === 'mcp' ? MCP_METHODS.has(method) : !NEVER_FORWARDED.has(method.toUpperCase());
  return forwarded ? undefined : ALLOW[kind];
}
