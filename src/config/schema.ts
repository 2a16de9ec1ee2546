import * as z from 'zod';
import { redirectUriProblem } from './redirect-uri.js';
import { upstreamSettingsSchema } from '../upstream/settings.js';
import { duration, flag, listOf, masterKey, publicOrigin, redisUrl, scopeToken } from './primitives.js';
import { exchangeRouteProblems } from './exchange-routes.js';
import { routeSchema, type Route } from './routes.js';
import { staticClientSchema } from './static-clients.js';
import { trustedIssuersSchema } from './identity-issuers.js';
import { JWT_BEARER_GRANT_TYPE } from '../domain/grant-types.js';

/**
 * The one home of every setting and its default. Environment variables and
 * config files are mapped onto this shape and validated here, so a default
 * never lives anywhere else.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Also where the development setup listens with nothing configured. */
export const DEFAULT_PORT = 8080;

const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*$/;

export const configSchema = z
  .strictObject({
    keys: listOf(masterKey).refine((keys) => keys.length > 0, 'needs at least one key (run "mcp-capsule keygen")'),
    publicUrl: publicOrigin,
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(DEFAULT_PORT),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** The identity provider every route uses unless it names another. */
    upstream: upstreamSettingsSchema,
    /** Further identity providers, by name, for routes that sign in elsewhere (config file only). */
    upstreams: z.record(z.string().regex(/^[\w.-]+$/, 'names may use letters, digits, ., _ and -'), upstreamSettingsSchema).default({}),
    /**
     * Where the identity provider sends users back: `standard` is /oauth/callback; `obot` is obot
     * mcp-oauth-proxy's /callback, the redirect URI its deployments registered (/oauth/callback answers too).
     */
    upstreamCallback: z.enum(['standard', 'obot']).default('standard'),
    /** The MCP servers behind the proxy. */
    routes: z.array(routeSchema).min(1, 'needs at least one MCP server'),
    /** Clients registered in configuration. */
    clients: z.array(staticClientSchema).default([]),
    /** Enterprise identity providers whose identity assertions (ID-JAG) are exchanged for access tokens. */
    trustedIdentityIssuers: trustedIssuersSchema.default([]),
    registration: z.strictObject({
      /** Open dynamic client registration (RFC 7591). */
      dynamic: flag(true),
      /** Registrations accepted per client address per minute. */
      perMinute: z.coerce.number().int().min(1).max(10_000).default(10),
    }),
    clientMetadataDocuments: z.strictObject({
      /** Accept https URLs as client_ids and fetch their metadata documents. */
      enabled: flag(true),
      /** Development only: let client_id URLs point at loopback and private addresses, over http too. */
      allowPrivateNetwork: flag(false),
    }),
    /** Audit events: `stdout`, `off`, or a file path to append JSON lines to. */
    auditLog: z.string().min(1).default('stdout'),
    /** On SIGTERM: how long requests in flight may finish before the remaining connections are cut. */
    shutdownGrace: duration(5),
    /** How many reverse proxies in front of the proxy append to X-Forwarded-For (0: use the socket address). */
    trustProxyHops: z.coerce.number().int().min(0).max(10).default(0),
    /** Scopes offered to MCP clients on every route that does not list its own `scopesSupported`. */
    scopes: listOf(scopeToken).default([]),
    /** Private-use URI schemes of native MCP clients accepted as redirect URIs by exact match. */
    redirectSchemes: listOf(z.string().regex(PRIVATE_USE_SCHEME, 'must be a lower-case URI scheme without "://"')).default([
      'cursor',
      'vscode',
      'vscode-insiders',
      'windsurf',
    ]),
    /** The shared replay and revocation set; in memory for one instance when absent. */
    redis: z.strictObject({
      url: redisUrl.optional(),
      /** Prefix of every key, so several deployments can share one Redis. */
      keyPrefix: z.string().regex(/^[\w:.-]{0,64}$/, 'letters, digits, ":", ".", "_" and "-", at most 64').default('mcp-capsule:'),
      /** Whether /readyz fails while Redis is unreachable (by default it only reports it: the proxy keeps serving). */
      requiredForReady: flag(false),
    }).prefault({}),
    admin: z.strictObject({
      /** Bearer token of the admin HTTP API (POST /admin/revoke); the API is off without one. */
      token: z.string().min(32, 'must be at least 32 characters (use "mcp-capsule keygen")').optional(),
    }).prefault({}),
    metrics: z.strictObject({
      /** Prometheus metrics at /metrics. */
      enabled: flag(true),
      /** Serve /metrics on this port only, instead of on the main listener. */
      port: z.coerce.number().int().min(1).max(65535).optional(),
    }).prefault({}),
    ttl: z.strictObject({
      accessToken: duration(3600),
      refreshToken: duration(30 * 86400),
      authorizationCode: duration(60),
      transaction: duration(600),
      consent: duration(30 * 86400),
    }),
  })
  // `when`: these cross-checks run even when other settings failed, so every problem is reported at once;
  // they must therefore read the half-parsed value defensively.
  .superRefine(
    (config, ctx) => {
      const routes: unknown[] = Array.isArray(config.routes) ? config.routes : [];
      const upstreams = typeof config.upstreams === 'object' && config.upstreams !== null ? config.upstreams : {};
      const seen = new Map<string, number>();
      const proxyScopes = Array.isArray(config.scopes) ? config.scopes : [];
      routes.forEach((route, index) => {
        const { path, upstream } = (route ?? {}) as { path?: unknown; upstream?: unknown };
        toolScopeProblems(route as Partial<Route> | undefined, proxyScopes).forEach(({ pattern, message }) =>
          ctx.addIssue({ code: 'custom', path: ['routes', index, 'tools', 'scopes', pattern], message }),
        );
        if (typeof path === 'string') {
          const other = seen.get(path);
          if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['routes', index, 'path'], message: `${path} is already used by routes[${other}]` });
          seen.set(path, index);
        }
        if (typeof upstream === 'string' && !(upstream in upstreams)) {
          ctx.addIssue({ code: 'custom', path: ['routes', index, 'upstream'], message: `names no entry of upstreams (${Object.keys(upstreams).join(', ') || 'none defined'})` });
        }
        const provider: unknown = upstream === undefined ? config.upstream : typeof upstream === 'string' ? (upstreams as Record<string, unknown>)[upstream] : undefined;
        for (const problem of exchangeRouteProblems(route, provider)) ctx.addIssue({ code: 'custom', path: ['routes', index, problem.setting], message: problem.message });
      });
      const clients: unknown[] = Array.isArray(config.clients) ? config.clients : [];
      const schemes = Array.isArray(config.redirectSchemes) ? config.redirectSchemes : [];
      const ids = new Set<string>();
      clients.forEach((client, index) => {
        const { client_id: id, redirect_uris: uris } = (client ?? {}) as { client_id?: unknown; redirect_uris?: unknown };
        if (typeof id === 'string' && ids.has(id)) ctx.addIssue({ code: 'custom', path: ['clients', index, 'client_id'], message: `${id} is listed twice` });
        if (typeof id === 'string') ids.add(id);
        const { grant_types: grants } = (client ?? {}) as { grant_types?: unknown };
        if (Array.isArray(grants) && grants.includes(JWT_BEARER_GRANT_TYPE) && !(Array.isArray(config.trustedIdentityIssuers) && config.trustedIdentityIssuers.length > 0)) {
          ctx.addIssue({ code: 'custom', path: ['clients', index, 'grant_types'], message: `${JWT_BEARER_GRANT_TYPE} needs an issuer in trustedIdentityIssuers` });
        }
        if (!Array.isArray(uris)) return;
        uris.forEach((uri, uriIndex) => {
          const problem = typeof uri === 'string' ? redirectUriProblem(uri, schemes) : undefined;
          if (problem) ctx.addIssue({ code: 'custom', path: ['clients', index, 'redirect_uris', uriIndex], message: problem });
        });
      });
    },
    { when: () => true },
  );

/** The scopes a route offers MCP clients: its own `scopesSupported`, else the proxy-wide `scopes`. */
export function routeScopes(route: Pick<Route, 'scopesSupported'>, proxyScopes: readonly string[]): readonly string[] {
  return route.scopesSupported ?? proxyScopes;
}

/** Each `tools.scopes` pattern naming a scope the route does not offer: no client could ever obtain it. */
function toolScopeProblems(route: Partial<Route> | undefined, proxyScopes: readonly string[]): Array<{ pattern: string; message: string }> {
  const required = route?.tools?.scopes;
  // A route that failed its own parse may hold raw input here: its own problems are reported instead.
  if (!route || typeof required !== 'object' || required === null || !(route.scopesSupported === undefined || Array.isArray(route.scopesSupported))) return [];
  const offered = routeScopes(route, proxyScopes);
  const where = route.scopesSupported !== undefined ? "this route's scopesSupported" : "this route's scopesSupported (or the proxy-wide scopes)";
  return Object.entries(required).flatMap(([pattern, scopes]) => {
    const unknown = Array.isArray(scopes) ? scopes.filter((scope) => !offered.includes(scope)) : [];
    return unknown.length > 0 ? [{ pattern, message: `${unknown.join(', ')} must be listed in ${where}, or no client can be granted it` }] : [];
  });
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

export { routeServesWithoutUpstreamSession, routeSignsIn, type DownstreamAuthMode, type Route, type SignInMode } from './routes.js';
export type { StaticClient } from './static-clients.js';
export type { TrustedIssuer } from './identity-issuers.js';
