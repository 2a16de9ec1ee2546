import * as z from 'zod';
import { decodeBase64 } from '../crypto/encoding.js';
import { parseDurationSeconds } from '../domain/duration.js';
import { SCOPE_TOKEN } from '../domain/scope.js';
import { tryUrl } from '../domain/url.js';
import { HTTPS_OR_LOOPBACK, isHttpsOrLoopback } from '../net/loopback.js';

/** Building blocks of the configuration schema: values as they arrive from environment variables or a file. */

/**
 * The serialization of an http(s) origin (RFC 6454 section 6.2): lower-case scheme and host, no
 * default port. Undefined for anything but scheme://host[:port] (a path, query or user information).
 */
export function serializeOrigin(value: string): string | undefined {
  const url = tryUrl(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) return undefined;
  return url.origin;
}

const KEY_BYTES = 32;

export const masterKey = z.string().transform((value, ctx) => {
  let bytes: Uint8Array | undefined;
  try {
    bytes = decodeBase64(value.trim());
  } catch {
    bytes = undefined;
  }
  if (!bytes || bytes.length !== KEY_BYTES) {
    ctx.addIssue({ code: 'custom', message: `each key must be ${KEY_BYTES} bytes in base64 or base64url (run "mcp-capsule keygen")` });
    return z.NEVER;
  }
  return bytes;
});

/** A list given as an array (config file) or as a comma- or space-separated string (environment). */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => (typeof value === 'string' ? value.split(/[,\s]+/).filter(Boolean) : value), z.array(item));

export const duration = (fallbackSeconds: number) =>
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

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export const flag = (fallback: boolean) =>
  z
    .union([z.boolean(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      if (typeof value === 'boolean') return value;
      const normalized = value.trim().toLowerCase();
      if (TRUE.has(normalized)) return true;
      if (FALSE.has(normalized)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    });

export const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });

/** https everywhere, except plain http on loopback for local development. */
export const secureUrl = httpUrl.refine((value) => {
  const url = tryUrl(value);
  return !url || isHttpsOrLoopback(url);
}, HTTPS_OR_LOOPBACK);

export const publicOrigin = secureUrl
  .refine((value) => !tryUrl(value) || serializeOrigin(value) !== undefined, 'must be an origin such as https://mcp.example.com, with no path, query or credentials')
  .transform((value) => new URL(value).origin);

export const scopeToken = z.string().regex(SCOPE_TOKEN, 'scope tokens must be printable ASCII without quotes or backslashes');

/** redis:// or rediss:// (TLS), with optional credentials and database number. */
export const redisUrl = z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' });
