import { z } from 'zod';
import { collisionWithEndpoint } from '../domain/paths.js';
import { duration, httpUrl, listOf, scopeToken, secureUrl, serializeOrigin, tryUrl } from './primitives.js';

export const DOWNSTREAM_AUTH_MODES = ['upstream-token', 'identity-headers', 'api-key', 'client-credentials', 'pat', 'none'] as const;
export type DownstreamAuthMode = (typeof DOWNSTREAM_AUTH_MODES)[number];

/**
 * Whether MCP clients sign in through the proxy on this route. pat, none and
 * client credentials taken from the request do not use the proxy's OAuth at all.
 */
export function routeSignsIn(route: { auth: DownstreamAuthMode; credentialsFrom: 'config' | 'request' }): boolean {
  if (route.auth === 'client-credentials') return route.credentialsFrom === 'config';
  return route.auth !== 'pat' && route.auth !== 'none';
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerName = z.string().regex(HEADER_NAME, 'must be an HTTP header name');
const toolGlob = z.string().regex(/^[A-Za-z0-9_\-.:/*]+$/, 'tool names and globs may use letters, digits, _ - . : / and *');

/** Who may use a route: any listed email (verified only), email domain, upstream group or subject. Empty: everyone. */
const accessPolicySchema = z.strictObject({
  emails: listOf(z.string().min(3)).default([]),
  emailDomains: listOf(z.string().min(1)).default([]),
  groups: listOf(z.string().min(1)).default([]),
  subjects: listOf(z.string().min(1)).default([]),
});

/** Per-tool permissions: disabled tools vanish; restricted tools are for the listed groups only; `enabled`, when set, is an allowlist. */
const toolPolicySchema = z.strictObject({
  disabled: listOf(toolGlob).default([]),
  enabled: listOf(toolGlob).optional(),
  restricted: z.record(toolGlob, listOf(z.string().min(1))).default({}),
});

/** An allowed browser origin, kept serialized so requests compare by string; `null` (opaque origins) and `*` (any) as they are. */
const allowedOrigin = z.string().transform((value, ctx) => {
  const origin = value === '*' || value === 'null' ? value : serializeOrigin(value);
  if (origin === undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an origin such as https://app.example.com (scheme://host[:port], no path), null or *` });
  return origin ?? z.NEVER;
});

function normalizePath(path: string): string {
  return path.replace(/\/+$/, '') || '/';
}

const routePath = z
  .string()
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/, 'must be a path starting with /, without query or fragment')
  .transform(normalizePath)
  .refine((path) => path !== '/', 'must not be the root; use a path such as /mcp')
  .superRefine((path, ctx) => {
    const collision = collisionWithEndpoint(path);
    if (!collision) return;
    const { endpoint, relation } = collision;
    const where = relation === 'same' ? 'is' : `${relation === 'under' ? 'lies under' : 'would take'} ${endpoint.path}, which is`;
    ctx.addIssue({ code: 'custom', message: `${path} ${where} served by the proxy itself (${endpoint.serves}); choose another path` });
  });

/**
 * One MCP server behind the proxy: its own public path, protected resource
 * and audience. Without `path` it is served at the downstream URL's own path.
 */
export const routeSchema = z
  .strictObject({
    path: routePath.optional(),
    url: httpUrl.refine((value) => !tryUrl(value)?.search && !tryUrl(value)?.hash, 'must not carry a query or fragment'),
    auth: z.enum(DOWNSTREAM_AUTH_MODES).default('upstream-token'),
    /** Seconds to wait for the downstream's response headers; a stream may then run for as long as it lasts. */
    timeout: duration(30),
    /** Name of an entry in `upstreams`; the default `upstream` when absent. */
    upstream: z.string().min(1).optional(),
    /** `mcp` routes get JSON-RPC inspection and tool permissions; `http` routes (an OpenAI-compatible API, say) are forwarded as they are, subpaths included. */
    kind: z.enum(['mcp', 'http']).default('mcp'),
    /** The outbound header for api-key and pat: Authorization gets a `Bearer ` prefix, any other header the raw value. */
    header: headerName.default('Authorization'),
    /** api-key: the static secret the downstream expects. */
    apiKey: z.string().min(1).optional(),
    /** client-credentials: where and how the proxy obtains the downstream's token. */
    tokenUrl: secureUrl.optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    scopes: listOf(scopeToken).default([]),
    tokenAuth: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /** client-credentials: `config` (the proxy's own client) or `request` (each MCP client sends its own in two headers). */
    credentialsFrom: z.enum(['config', 'request']).default('config'),
    clientIdHeader: headerName.default('X-Client-Id'),
    clientSecretHeader: headerName.default('X-Client-Secret'),
    /** pat: the request header carrying the client's own token (Authorization means `Bearer <token>`). */
    patHeader: headerName.default('Authorization'),
    /** Browser origins the route accepts requests from; the default depends on `auth` (src/mcp/origin-guard.ts). */
    allowedOrigins: listOf(allowedOrigin).optional(),
    policy: accessPolicySchema.default({ emails: [], emailDomains: [], groups: [], subjects: [] }),
    tools: toolPolicySchema.default({ disabled: [], restricted: {} }),
  })
  .superRefine((route, ctx) => {
    if (route.auth === 'api-key' && !route.apiKey) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'is required for auth api-key' });
    if (route.auth === 'client-credentials') {
      if (!route.tokenUrl) ctx.addIssue({ code: 'custom', path: ['tokenUrl'], message: 'is required for auth client-credentials' });
      if (route.credentialsFrom === 'config' && !route.clientId) ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'is required for auth client-credentials' });
      if (route.credentialsFrom === 'config' && !route.clientSecret) ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'is required for auth client-credentials' });
    }
    const hasPolicy = Object.values(route.policy).some((list) => list.length > 0);
    if (!routeSignsIn(route) && hasPolicy) ctx.addIssue({ code: 'custom', path: ['policy'], message: `needs a signed-in user; auth ${route.auth} has none` });
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
