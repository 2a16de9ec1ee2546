import type { Context } from 'hono';
import type { HeaderPairs } from './outbound-headers.js';

/**
 * True when an earlier handler (JSON-RPC inspection, policy) already read the request body
 * through Hono, so the stream is spent and the body must be re-sent from Hono's cache.
 */
export function bodyAlreadyRead(c: Context): boolean {
  for (const _key in c.req.bodyCache) return true;
  return c.req.raw.bodyUsed;
}

/** The body an earlier handler read, as bytes; for `c.req.json()` Hono cached the exact text. */
export async function cachedBody(c: Context): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await c.req.arrayBuffer());
}

/**
 * The request's headers as pairs: on Node straight from the parser's raw list (so no web
 * `Headers` is built for them), elsewhere the request's own `Headers`.
 */
export function requestHeaderPairs(c: Context): HeaderPairs {
  const raw = (c.env as { incoming?: { rawHeaders?: unknown } } | undefined)?.incoming?.rawHeaders;
  return Array.isArray(raw) ? pairsOf(raw as readonly string[]) : c.req.raw.headers;
}

function* pairsOf(raw: readonly string[]): Generator<readonly [string, string]> {
  for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i]!, raw[i + 1]!];
}

/**
 * Headers the proxy itself prepared with `c.header()` before forwarding (request id, …).
 * Hono drops them when a handler returns a raw Response, so forwarders add them back,
 * over the downstream's. Read through `newResponse` so `c.res` is never created: a
 * created `c.res` makes Hono clone the handler's Response, which breaks RESPONSE_ALREADY_SENT.
 */
export function proxyHeaders(c: Context): Headers {
  return c.newResponse(null).headers;
}

/** Sets the proxy's own headers on a filtered downstream header set; its cookies are appended. */
export function applyProxyHeaders(c: Context, headers: Headers): Headers {
  proxyHeaders(c).forEach((value, name) => {
    if (name === 'set-cookie') headers.append(name, value);
    else headers.set(name, value);
  });
  return headers;
}
