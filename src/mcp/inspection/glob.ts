/**
 * Tool-name globs: `*` matches any run of characters (including none); every other character,
 * regex metacharacters included, matches itself; the whole name must match. No regular
 * expression is built, so nothing in a pattern can inject one, and matching is linear in
 * practice (leftmost search of each literal piece; no backtracking blow-up on long names).
 */
export type NameMatcher = (name: string) => boolean;

export function compileGlob(pattern: string): NameMatcher {
  if (pattern === '') throw new TypeError('a tool pattern must not be empty');
  if (!pattern.includes('*')) return (name) => name === pattern;

  const pieces = pattern.split('*');
  const head = pieces[0]!;
  const tail = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((piece) => piece !== '');
  const minLength = pieces.reduce((sum, piece) => sum + piece.length, 0);

  return (name) => {
    if (name.length < minLength || !name.startsWith(head) || !name.endsWith(tail)) return false;
    const limit = name.length - tail.length;
    let at = head.length;
    for (const piece of middle) {
      const found = name.indexOf(piece, at);
      if (found < 0 || found + piece.length > limit) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** One matcher for a list of patterns: exact names through a Set, globs in order. */
export function compileGlobs(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const globs: NameMatcher[] = [];
  for (const pattern of patterns) {
    if (pattern.includes('*')) globs.push(compileGlob(pattern));
    else {
      compileGlob(pattern); // validates
      exact.add(pattern);
    }
  }
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || globs.some((glob) => glob(name));
}
