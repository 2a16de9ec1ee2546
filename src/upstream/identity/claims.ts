import type { Identity } from '../../domain/capsule-schemas.js';
import { clientIdOfSubject } from '../../domain/client-subject.js';
import { UpstreamError } from '../upstream-client.js';

/** Where each identity field is read from: a claim name, or a dotted path into nested JSON. */
export interface ClaimNames {
  readonly subject: string;
  readonly email?: string | undefined;
  readonly emailVerified?: string | undefined;
  readonly name?: string | undefined;
  readonly groups?: string | undefined;
}

export const MAX_GROUPS = 200;
const MAX_VALUE_LENGTH = 1024;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A claim by exact name first (so `https://example.com/groups` works), then as a
 * dotted path (`data.user.id`). Only own properties are read.
 */
export function readClaim(source: Json, name: string): unknown {
  if (Object.hasOwn(source, name)) return source[name];
  if (!name.includes('.')) return undefined;
  let node: unknown = source;
  for (const segment of name.split('.')) {
    if (!isObject(node) || !Object.hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= MAX_VALUE_LENGTH ? value : undefined;
}

/** Subjects may be numeric in plain OAuth APIs; anything else is not an identifier. */
function subjectOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return text(value);
}

/** Only an explicit true counts; some providers (Cognito) send the string "true". */
export function isTrueClaim(value: unknown): boolean {
  return value === true || value === 'true';
}

/** A list of names (strings or numeric ids), or one name; capped, never split (AD group names contain spaces). */
function groupsOf(value: unknown): string[] | undefined {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const groups = items
    .map((item) => (typeof item === 'number' && Number.isFinite(item) ? String(item) : text(item)))
    .filter((item): item is string => item !== undefined);
  // Fewer groups can only narrow what policy grants; a token carrying hundreds is cut rather than refused.
  return groups.length > 0 ? groups.slice(0, MAX_GROUPS) : undefined;
}

/**
 * The identity the provider asserted in `source` (validated ID token claims or
 * a userinfo document). Whenever an email is present, `email_verified` is a
 * boolean, and true only when the provider said so.
 */
export function identityFromClaims(source: Json, names: ClaimNames): Identity {
  const sub = subjectOf(readClaim(source, names.subject));
  if (sub === undefined) throw new UpstreamError('unavailable', `the provider's response has no usable subject claim "${names.subject}"`);
  // A user who could be taken for a client (src/domain/client-subject.ts) does not sign in.
  if (clientIdOfSubject(sub) !== undefined) throw new UpstreamError('unavailable', `the subject claim "${names.subject}" has the form reserved for clients`);
  const email = names.email ? text(readClaim(source, names.email)) : undefined;
  const name = names.name ? text(readClaim(source, names.name)) : undefined;
  const groups = names.groups ? groupsOf(readClaim(source, names.groups)) : undefined;
  return {
    sub,
    ...(email !== undefined
      ? { email, email_verified: names.emailVerified ? isTrueClaim(readClaim(source, names.emailVerified)) : false }
      : {}),
    ...(name !== undefined ? { name } : {}),
    ...(groups !== undefined ? { groups } : {}),
  };
}

/** Which mapped fields `source` lacks, so a caller can decide whether userinfo is worth a request. */
export function missingClaims(source: Json, names: ClaimNames): string[] {
  return [names.email, names.name, names.groups].filter(
    (claim): claim is string => claim !== undefined && readClaim(source, claim) === undefined,
  );
}
