import * as z from 'zod';
import { TokenEndpointError } from './errors.js';
import type { RawTokenResponse } from './token-fetch.js';

export interface IssuedToken {
  readonly accessToken: string;
  /** Absent when the endpoint did not say. */
  readonly expiresInSeconds: number | undefined;
}

// Sent as `Authorization: Bearer <token>`: visible ASCII only, so it can never split a header.
const HEADER_SAFE = /^[\x21-\x7E]+$/;
// RFC 6749 §5.2 error codes are NQSCHAR; the ones we pass on are the plain snake_case kind.
const ERROR_CODE = /^[\w.-]{1,64}$/;

const successSchema = z.object({
  access_token: z.string().min(1).regex(HEADER_SAFE, 'is not a visible-ASCII string'),
  token_type: z
    .string()
    .refine((type) => type.toLowerCase() === 'bearer', 'is not Bearer')
    .optional(),
  // Some providers (Azure AD v1) send the number as a string.
  expires_in: z
    .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
    .pipe(z.number().finite().nonnegative())
    .optional(),
});

const errorSchema = z.object({
  error: z.string().min(1),
  error_description: z.string().optional(),
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A provider's description, reduced to something harmless for a log line. */
function describe(description: string | undefined): string {
  if (!description) return '';
  return `: ${description.replace(/[^\x20-\x7E]/g, '?').slice(0, 200)}`;
}

/**
 * Judges a token endpoint's answer, kept apart from sending it. An OAuth error body on a 4xx
 * (or on a 200, as some providers do) is `token_endpoint_error`; a 5xx, or anything that is
 * not a valid Bearer token response, is `unavailable`. The detail names fields and statuses,
 * never values.
 */
export function parseTokenResponse({ status, text }: RawTokenResponse, where: string): IssuedToken {
  const json = parseJson(text);
  const oauthError = errorSchema.safeParse(json);
  if (oauthError.success && status < 500) {
    const code = ERROR_CODE.test(oauthError.data.error) ? oauthError.data.error : 'unrecognised_error';
    return fail('token_endpoint_error', `${where} answered ${code} (HTTP ${status})${describe(oauthError.data.error_description)}`, code, status);
  }
  if (status >= 500) return fail('unavailable', `${where} answered HTTP ${status}`, undefined, status);
  // RFC 6749 §5.2 says a failed client authentication is a 401 with invalid_client; some send no body.
  if (status === 401) return fail('token_endpoint_error', `${where} answered HTTP 401 without an OAuth error body`, 'invalid_client', status);
  if (status !== 200) return fail('unavailable', `${where} answered HTTP ${status} without an OAuth error`, undefined, status);
  if (json === undefined) return fail('unavailable', `${where} answered HTTP 200 with a body that is not JSON`, undefined, status);
  const parsed = successSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'} ${issue.message}`).join('; ');
    return fail('unavailable', `${where} answered an invalid token response: ${problems}`, undefined, status);
  }
  return { accessToken: parsed.data.access_token, expiresInSeconds: parsed.data.expires_in };
}

function fail(code: 'token_endpoint_error' | 'unavailable', detail: string, oauthError: string | undefined, status: number): never {
  throw new TokenEndpointError(code, detail, oauthError, status);
}
