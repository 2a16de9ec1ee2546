/**
 * Scope values as OAuth carries them (RFC 6749 §3.3): a list of space-delimited, case-sensitive
 * strings whose order carries no meaning. Lists here keep first-seen order and hold no duplicate,
 * so what goes back on the wire reads the way the client or the operator wrote it.
 */

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII without space, quote or backslash. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The scope tokens of a `scope` value; an absent or empty value is the empty set. */
export function scopeTokens(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))];
}

/** The scopes of `wanted` that `held` lacks: empty when `held` covers `wanted` (RFC 6749 §6: a subset may be asked for). */
export function scopesLacking(held: readonly string[], wanted: readonly string[]): string[] {
  const have = new Set(held);
  return [...new Set(wanted.filter((token) => !have.has(token)))];
}

/** Every scope of the lists, each once: what a step-up asks for (held plus needed) or what a remembered approval covers. */
export function scopeUnion(...lists: ReadonlyArray<readonly string[]>): string[] {
  return [...new Set(lists.flat())];
}
