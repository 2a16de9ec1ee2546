/**
 * A request's headers by name: a web `Headers`, or anything with the same lookup (names matched
 * in any case, repeats joined with ", ", null when absent).
 */
export interface HeaderSource {
  get(name: string): string | null;
}
