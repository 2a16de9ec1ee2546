import { z } from 'zod';
import { parseDurationSeconds } from './duration.js';

/**
 * The one home of every setting and its default. Environment variables and
 * (later) config files are mapped onto this shape and validated here, so a
 * default never lives anywhere else.
 */

export const DOWNSTREAM_AUTH_MODES = ['upstream-token', 'identity-headers'] as const;
export const UPSTREAM_PROVIDERS = ['oidc'] as const;
export const UPSTREAM_TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const KEY_BYTES = 32;

function decodeBase64Any(value: string): Uint8Array | undefined {
  const trimmed = value.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined;
  const standard = trimmed.replace(/-/g, '+').replace(/_/g, '/');
  return new Uint8Array(Buffer.from(standard, 'base64'));
}

const masterKey = z.string().transform((value, ctx) => {
  const bytes = decodeBase64Any(value);
  if (!bytes || bytes.length !== KEY_BYTES) {
    ctx.addIssue({ code: 'custom', message: `each key must be ${KEY_BYTES} bytes in base64 or base64url (run "mcp-capsule keygen")` });
    return z.NEVER;
  }
  return bytes;
});

const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(/[,\s]+/).filter(Boolean) : value),
    z.array(item),
  );

const duration = (fallbackSeconds: number) =>
  z
    .union([z.number(), z.string()])
    .default(fallbackSeconds)
    .transform((value, ctx) => {
      const seconds = typeof value === 'number' ? value : parseDurationSeconds(value);
      if (seconds === undefined || !Number.isInteger(seconds) || seconds <= 0) {
        ctx.addIssue({ code: 'custom', message: 'must be a positive duration such as 3600, 60m, 1h or 30d' });
        return z.NEVER;
      }
      return seconds;
    });

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** Refinements run even after the URL check failed, so they must not assume a parseable URL. */
function tryUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });

/** https everywhere, except plain http on loopback for local development. */
const secureUrl = httpUrl.refine((value) => {
  const url = tryUrl(value);
  return !url || url.protocol === 'https:' || isLoopbackHost(url.hostname);
}, 'must use https (plain http is allowed only for localhost, 127.0.0.1 and [::1])');

const publicOrigin = secureUrl
  .refine((value) => {
    const url = tryUrl(value);
    return !url || ((url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password);
  }, 'must be an origin such as https://mcp.example.com, with no path, query or credentials')
  .transform((value) => new URL(value).origin);

// The proxy serves the MCP route at the downstream's path, so it must not be one of the proxy's own.
const RESERVED_PATH = /^\/(authorize|token|register|consent|healthz|oauth|\.well-known)(\/|$)/;

const downstreamUrl = httpUrl
  .refine((value) => !tryUrl(value)?.search && !tryUrl(value)?.hash, 'must not carry a query or fragment')
  .refine((value) => tryUrl(value)?.pathname.replace(/\/+$/, '') !== '', 'must include the MCP path, such as /mcp')
  .refine((value) => !RESERVED_PATH.test(tryUrl(value)?.pathname ?? ''), 'must not use a path the proxy reserves for OAuth (/authorize, /token, /register, /consent, /oauth, /.well-known)')
  .transform((value) => new URL(value));

const upstreamSchema = z
  .object({
    provider: z.enum(UPSTREAM_PROVIDERS).default('oidc'),
    issuer: secureUrl.optional(),
    authorizationUrl: secureUrl.optional(),
    tokenUrl: secureUrl.optional(),
    userinfoUrl: secureUrl.optional(),
    clientId: z.string().min(1, 'is required'),
    clientSecret: z.string().min(1).optional(),
    scopes: listOf(z.string().min(1)).default(['openid', 'email', 'profile']),
    tokenAuthMethod: z.enum(UPSTREAM_TOKEN_AUTH_METHODS).default('client_secret_basic'),
    /** Seconds before a request to the provider (discovery, token, userinfo) is abandoned. */
    timeout: duration(10),
  })
  // `when` makes this run even when other upstream fields failed, so every problem is reported at once.
  .refine((upstream) => Boolean(upstream.issuer || (upstream.authorizationUrl && upstream.tokenUrl)), {
    path: ['issuer'],
    message: 'is required (or give both the authorization and the token URL)',
    when: () => true,
  });

export const configSchema = z.object({
  keys: listOf(masterKey).refine((keys) => keys.length > 0, 'needs at least one key (run "mcp-capsule keygen")'),
  publicUrl: publicOrigin,
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  upstream: upstreamSchema,
  mcp: z.object({
    url: downstreamUrl,
    auth: z.enum(DOWNSTREAM_AUTH_MODES).default('upstream-token'),
    /** Seconds to wait for the downstream's response headers; a stream may then run for as long as it lasts. */
    timeout: duration(30),
  }),
  /** Scopes the proxy itself offers to MCP clients; requests for others are dropped from the grant. */
  scopes: listOf(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scope tokens must be printable ASCII without quotes or backslashes')).default([]),
  /** Private-use URI schemes of native MCP clients accepted as redirect URIs by exact match. */
  redirectSchemes: listOf(z.string().regex(/^[a-z][a-z0-9+.-]*$/, 'must be a lower-case URI scheme without "://"')).default([
    'cursor',
    'vscode',
    'vscode-insiders',
    'windsurf',
  ]),
  ttl: z.object({
    accessToken: duration(3600),
    refreshToken: duration(30 * 86400),
    authorizationCode: duration(60),
    transaction: duration(600),
    consent: duration(30 * 86400),
  }),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type DownstreamAuthMode = (typeof DOWNSTREAM_AUTH_MODES)[number];

export { isLoopbackHost };
