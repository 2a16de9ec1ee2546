import { z } from 'zod';
import { duration, httpUrl, tryUrl } from './primitives.js';

export const DOWNSTREAM_AUTH_MODES = ['upstream-token', 'identity-headers'] as const;
export type DownstreamAuthMode = (typeof DOWNSTREAM_AUTH_MODES)[number];

// Paths the proxy serves itself; an MCP route may not take them.
const RESERVED_PATH = /^\/(authorize|token|register|consent|revoke|healthz|readyz|metrics|oauth|\.well-known)(\/|$)/;

function normalizePath(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

const routePath = z
  .string()
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/, 'must be a path starting with /, without query or fragment')
  .transform(normalizePath)
  .refine((path) => path !== '/', 'must not be the root; use a path such as /mcp')
  .refine((path) => !RESERVED_PATH.test(path), 'must not use a path the proxy reserves (/authorize, /token, /register, /consent, /revoke, /oauth, /.well-known, …)');

/**
 * One MCP server behind the proxy: its own public path, protected resource
 * and audience. Without `path` it is served at the downstream URL's own path.
 */
export const routeSchema = z
  .object({
    path: routePath.optional(),
    url: httpUrl.refine((value) => !tryUrl(value)?.search && !tryUrl(value)?.hash, 'must not carry a query or fragment'),
    auth: z.enum(DOWNSTREAM_AUTH_MODES).default('upstream-token'),
    /** Seconds to wait for the downstream's response headers; a stream may then run for as long as it lasts. */
    timeout: duration(30),
    /** Name of an entry in `upstreams`; the default `upstream` when absent. */
    upstream: z.string().min(1).optional(),
  })
  .transform((route, ctx) => {
    const url = new URL(route.url);
    const parsedPath = route.path ?? routePath.safeParse(url.pathname);
    if (typeof parsedPath !== 'string' && !parsedPath.success) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: `needs a path such as /mcp (or give the route a path): ${parsedPath.error.issues[0]!.message}`,
      });
      return z.NEVER;
    }
    return { ...route, url, path: typeof parsedPath === 'string' ? parsedPath : parsedPath.data };
  });

export type Route = z.output<typeof routeSchema>;
