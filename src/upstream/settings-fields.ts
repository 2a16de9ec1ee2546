import * as z from 'zod';
import { parseDurationSeconds } from '../domain/duration.js';
import { SCOPE_TOKEN } from '../domain/scope.js';
import { tryUrl } from '../domain/url.js';
import { HTTPS_OR_LOOPBACK, isHttpsOrLoopback } from '../net/loopback.js';
import { ENTRA_MULTI_TENANT_ALIASES } from './presets.js';

/** Field parsers of the upstream settings: values as they come from environment variables or a config file. */

/** An https URL (http only on loopback), without credentials or fragment; `issuer` also without a query. */
export const providerUrl = (options: { query: boolean }) =>
  z
    .string()
    .trim()
    .superRefine((value, ctx) => {
      const url = tryUrl(value);
      const problem =
        !url || (url.protocol !== 'https:' && url.protocol !== 'http:')
          ? 'must be an absolute http(s) URL'
          : !isHttpsOrLoopback(url)
            ? HTTPS_OR_LOOPBACK
            : url.username || url.password
              ? 'must not contain credentials'
              : url.hash
                ? 'must not contain a fragment'
                : !options.query && url.search
                  ? 'must not contain a query'
                  : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

/** RFC 6749 scope-token. */
const scopeToken = z.string().regex(SCOPE_TOKEN, 'scope tokens must be printable ASCII without spaces, quotes or backslashes');

/** A list as an array (config file) or a comma- or space-separated string (environment). */
export const scopeList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(/[,\s]+/).filter(Boolean) : value),
  z.array(scopeToken),
);

/** Seconds, as a number or "10", "10s", "1m". */
export const timeoutSeconds = z
  .union([z.number(), z.string()])
  .default(10)
  .transform((value, ctx) => {
    const seconds = typeof value === 'number' ? value : parseDurationSeconds(value);
    if (seconds === undefined || !Number.isInteger(seconds) || seconds < 1 || seconds > 300) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration between 1 second and 5 minutes, such as 10, 10s or 1m' });
      return z.NEVER;
    }
    return seconds;
  });

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export type EntraTenantKind = 'id' | 'domain';

/** Why a tenant segment is unusable, or undefined when it is a tenant ID (GUID) or a domain name. */
export function entraTenantProblem(tenant: string): string | undefined {
  if ((ENTRA_MULTI_TENANT_ALIASES as readonly string[]).includes(tenant)) {
    return `"${tenant}" would accept users of any Microsoft tenant; give your directory (tenant) ID or a verified domain of your tenant`;
  }
  if (GUID.test(tenant) || DOMAIN.test(tenant)) return undefined;
  return 'must be a directory (tenant) ID such as 72f988bf-86f1-41af-91ab-2d7cd011db47 or a verified domain such as contoso.com';
}

export function entraTenantKind(tenant: string): EntraTenantKind {
  return GUID.test(tenant) ? 'id' : 'domain';
}

export const entraTenant = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    const problem = entraTenantProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Parameters the proxy sets itself on every authorization request, with what to use instead. */
const RESERVED_AUTH_PARAMS: Readonly<Record<string, string>> = {
  response_type: 'the proxy always uses the authorization code flow',
  response_mode: 'the proxy reads the callback query',
  client_id: 'use clientId',
  redirect_uri: 'the proxy sends <public URL>/oauth/callback',
  scope: 'use scopes',
  state: 'the proxy sets it on every request',
  nonce: 'the proxy sets it on every request',
  code_challenge: 'the proxy sets PKCE on every request',
  code_challenge_method: 'the proxy always uses S256',
  request: 'request objects would override the parameters the proxy sets',
  request_uri: 'request objects would override the parameters the proxy sets',
};

const PARAM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Extra authorization request parameters: `prompt=consent&access_type=offline` or an object.
 * An empty value (`prompt=`) removes a parameter the preset would send.
 */
export const authParams = z.unknown().transform((value, ctx): Record<string, string> => {
  let entries: [string, unknown][];
  if (typeof value === 'string') entries = [...new URLSearchParams(value.trim().replace(/^\?/, ''))];
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) entries = Object.entries(value);
  else {
    ctx.addIssue({ code: 'custom', message: 'must be query parameters such as prompt=consent&access_type=offline, or an object' });
    return z.NEVER;
  }
  const params: Record<string, string> = {};
  for (const [name, raw] of entries) {
    const reason = RESERVED_AUTH_PARAMS[name.toLowerCase()];
    if (reason) ctx.addIssue({ code: 'custom', message: `must not set "${name}": ${reason}` });
    else if (!PARAM_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `"${name}" is not a parameter name` });
    else if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      ctx.addIssue({ code: 'custom', message: `"${name}" must be a string` });
    } else params[name] = String(raw);
  }
  return params;
});

const claimName = z.string().trim().max(256);

/**
 * Claim names: an object or `subject=id email=mail groups=roles` (spaces or commas).
 * An empty name turns a mapping off; the subject cannot be turned off.
 */
export const claimMapping = z
  .unknown()
  .transform((value, ctx) => {
    if (typeof value !== 'string') return value;
    const mapping: Record<string, string> = {};
    for (const pair of value.split(/[,\s]+/).filter(Boolean)) {
      const at = pair.indexOf('=');
      if (at <= 0) ctx.addIssue({ code: 'custom', message: `"${pair}" must be field=claim, such as groups=roles` });
      else mapping[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return mapping;
  })
  .pipe(
    // Unknown fields are named with the nearest known one by the configuration loader.
    z.strictObject({
      subject: claimName.min(1, 'cannot be empty').optional(),
      email: claimName.optional(),
      emailVerified: claimName.optional(),
      name: claimName.optional(),
      groups: claimName.optional(),
    }),
  );
