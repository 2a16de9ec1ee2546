import * as z from 'zod';
import { collisionWithEndpoint } from '../domain/paths.js';
import { tryUrl } from '../domain/url.js';
import { duration, httpUrl, listOf, scopeToken, secureUrl, serializeOrigin } from './primitives.js';
import { taggedUnion } from './tagged-union.js';

/** What decides whether clients sign in: the mode, and for client credentials whose they are. */
export type SignInMode =
  | { readonly auth: Exclude<DownstreamAuthMode, 'client-credentials'> }
  | { readonly auth: 'client-credentials'; readonly credentialsFrom: 'config' | 'request' };

/**
 * Whether MCP clients sign in through the proxy on this route. pat, none and
 * client credentials taken from the request do not use the proxy's OAuth at all.
 */
export function routeSignsIn(route: SignInMode): boolean {
  if (route.auth === 'client-credentials') return route.credentialsFrom === 'config';
  return route.auth !== 'pat' && route.auth !== 'none';
}

/**
 * Whether tokens without a user's upstream session (client credentials, identity assertions) can
 * be used on this route: where clients sign in here and the downstream's credential needs no
 * upstream token of the user. Any mode not listed, upstream-token and every mode that passes on or
 * exchanges the user's token, is refused such grants.
 */
export function routeServesWithoutUpstreamSession(route: SignInMode): boolean {
  if (!routeSignsIn(route)) return false;
  return route.auth === 'identity-headers' || route.auth === 'api-key' || route.auth === 'client-credentials';
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerName = z.string().regex(HEADER_NAME, 'must be an HTTP header name');
const toolGlob = z.string().regex(/^[A-Za-z0-9_\-.:/*]+$/, 'tool names and globs may use letters, digits, _ - . : / and *');

/**
 * Who may use a route: any listed email (verified only), email domain, upstream group or subject,
 * or for tokens a client obtains for itself (client credentials), its client_id. Empty: everyone.
 */
const accessPolicySchema = z.strictObject({
  emails: listOf(z.string().min(3)).default([]),
  emailDomains: listOf(z.string().min(1)).default([]),
  groups: listOf(z.string().min(1)).default([]),
  subjects: listOf(z.string().min(1)).default([]),
  clients: listOf(z.string().min(1)).default([]),
});

/**
 * Per-tool permissions: disabled tools vanish; restricted tools are for the listed groups only; `enabled`, when set, is an
 * allowlist; a tool matching a `scopes` pattern is called only with an access token holding every scope listed there.
 */
const toolPolicySchema = z.strictObject({
  disabled: listOf(toolGlob).default([]),
  enabled: listOf(toolGlob).optional(),
  restricted: z.record(toolGlob, listOf(z.string().min(1))).default({}),
  scopes: z.record(toolGlob, listOf(scopeToken).refine((scopes) => scopes.length > 0, 'needs at least one scope')).default({}),
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

/** Settings every route has, whatever its credential mode. */
const routeBase = {
  path: routePath.optional(),
  url: httpUrl.refine((value) => !tryUrl(value)?.search && !tryUrl(value)?.hash, 'must not carry a query or fragment'),
  /** Seconds to wait for the downstream's response headers; a stream may then run for as long as it lasts. */
  timeout: duration(30),
  /** Name of an entry in `upstreams`; the default `upstream` when absent. */
  upstream: z.string().min(1).optional(),
  /** `mcp` routes get JSON-RPC inspection and tool permissions; `http` routes (an OpenAI-compatible API, say) are forwarded as they are, subpaths included. */
  kind: z.enum(['mcp', 'http']).default('mcp'),
  /** Browser origins the route accepts requests from; the default depends on `auth` (src/mcp/origin-guard.ts). */
  allowedOrigins: listOf(allowedOrigin).optional(),
  policy: accessPolicySchema.default({ emails: [], emailDomains: [], groups: [], subjects: [], clients: [] }),
  tools: toolPolicySchema.default({ disabled: [], restricted: {}, scopes: {} }),
  /**
   * The scopes MCP clients may ask for on this route, the first being its basic scope (granted when a client asks for none,
   * and named by the first challenge); the proxy-wide `scopes` when absent. Not `scopes`: client-credentials routes use that
   * key for what the proxy requests downstream.
   */
  scopesSupported: listOf(scopeToken).optional(),
};

/** The outbound header for api-key and pat: Authorization gets a `Bearer ` prefix, any other header the raw value. */
const outboundHeader = headerName.default('Authorization');

/** client-credentials: where and how the proxy obtains the downstream's token. */
const clientCredentialsBase = {
  ...routeBase,
  auth: z.literal('client-credentials'),
  tokenUrl: secureUrl,
  scopes: listOf(scopeToken).default([]),
  tokenAuth: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
};

/** An RFC 8693 resource: an absolute URI, query allowed, no fragment. */
const absoluteUri = z.string().refine((value) => tryUrl(value) !== undefined && !value.includes('#'), 'must be an absolute URI without a fragment');

/**
 * token-exchange and entra-obo: the proxy trades each user's upstream token for one issued for
 * the downstream, by default at the upstream provider's token endpoint as its upstream client.
 */
const exchangeBase = {
  ...routeBase,
  tokenUrl: secureUrl.optional(),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  tokenAuth: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
};

/** Each credential mode with the settings it requires and allows; a setting of another mode is refused. */
const routeModes = taggedUnion('auth', [
  // A route without `auth` passes on the user's own upstream token.
  z.strictObject({ ...routeBase, auth: z.literal('upstream-token').default('upstream-token') }),
  z.strictObject({ ...routeBase, auth: z.literal('identity-headers') }),
  // The static secret the downstream expects.
  z.strictObject({ ...routeBase, auth: z.literal('api-key'), header: outboundHeader, apiKey: z.string().min(1) }),
  // `config`: the proxy's own client; `request`: each MCP client sends its own in two headers.
  taggedUnion('credentialsFrom', [
    z.strictObject({ ...clientCredentialsBase, credentialsFrom: z.literal('config').default('config'), clientId: z.string().min(1), clientSecret: z.string().min(1) }),
    z.strictObject({
      ...clientCredentialsBase,
      credentialsFrom: z.literal('request'),
      clientIdHeader: headerName.default('X-Client-Id'),
      clientSecretHeader: headerName.default('X-Client-Secret'),
    }),
  ]),
  // RFC 8693: what the exchanged token is for, and which upstream token is its subject.
  z.strictObject({
    ...exchangeBase,
    auth: z.literal('token-exchange'),
    audience: z.string().min(1).optional(),
    resource: absoluteUri.optional(),
    scopes: listOf(scopeToken).default([]),
    subjectToken: z.enum(['access_token', 'id_token']).default('access_token'),
  }),
  // Microsoft Entra's on-behalf-of: the scopes name the downstream's API, as api://<app>/.default.
  z.strictObject({ ...exchangeBase, auth: z.literal('entra-obo'), scopes: listOf(scopeToken).refine((scopes) => scopes.length > 0, 'needs a scope such as api://<app>/.default') }),
  // `patHeader`: the request header carrying the client's own token (Authorization means `Bearer <token>`).
  z.strictObject({ ...routeBase, auth: z.literal('pat'), patHeader: headerName.default('Authorization'), header: outboundHeader }),
  z.strictObject({ ...routeBase, auth: z.literal('none') }),
]);

export type DownstreamAuthMode = z.output<typeof routeModes>['auth'];

/**
 * One MCP server behind the proxy: its own public path, protected resource
 * and audience. Without `path` it is served at the downstream URL's own path.
 */
export const routeSchema = routeModes
  .superRefine((route, ctx) => {
    const toolScopes = Object.keys(route.tools.scopes).length > 0;
    if (toolScopes && route.kind === 'http') ctx.addIssue({ code: 'custom', path: ['tools', 'scopes'], message: 'has no effect on a kind http route, which has no tools' });
    if (route.policy.clients.length > 0 && routeSignsIn(route) && !routeServesWithoutUpstreamSession(route)) {
      ctx.addIssue({ code: 'custom', path: ['policy', 'clients'], message: `no client gets a token of its own for auth ${route.auth}, which passes on the user's upstream token` });
    }
    if (routeSignsIn(route)) return;
    const signedInOnly = {
      policy: Object.values(route.policy).some((list) => list.length > 0),
      scopesSupported: route.scopesSupported !== undefined,
      'tools.scopes': toolScopes,
    };
    for (const [setting, used] of Object.entries(signedInOnly)) {
      if (used) ctx.addIssue({ code: 'custom', path: setting.split('.'), message: `needs a signed-in user; auth ${route.auth} has none` });
    }
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

/** A route; narrowing on `auth` (and for client credentials on `credentialsFrom`) gives its mode's settings. */
export type Route = z.output<typeof routeSchema>;
