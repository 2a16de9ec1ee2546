import { z } from 'zod';

/**
 * The settings the object of `schema` at `path` knows, for naming the likely intent
 * behind an unknown key. Looks through defaults, optionals, lists, records and both
 * sides of pipes (a preprocess step is a transform before the object, a refinement
 * of the whole a transform after it).
 */
export function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const object = objectAt(schema, path);
  return object ? Object.keys(object.shape) : [];
}

function objectAt(node: z.core.$ZodType | undefined, path: readonly PropertyKey[]): z.ZodObject | undefined {
  if (node instanceof z.ZodDefault || node instanceof z.ZodPrefault || node instanceof z.ZodOptional || node instanceof z.ZodNullable) return objectAt(node.unwrap(), path);
  if (node instanceof z.ZodPipe) return objectAt(node.in, path) ?? objectAt(node.out, path);
  if (path.length === 0) return node instanceof z.ZodObject ? node : undefined;
  const [segment, ...rest] = path;
  if (node instanceof z.ZodObject) return typeof segment === 'string' ? objectAt(node.shape[segment], rest) : undefined;
  if (node instanceof z.ZodArray) return objectAt(node.element, rest);
  if (node instanceof z.ZodRecord) return objectAt(node.valueType, rest);
  return undefined;
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counted as one (the common typo). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The known name `key` most likely misspells: case aside, at most one edit per three letters (and at least one). */
function nearestName(key: string, known: readonly string[]): string | undefined {
  const budget = Math.max(1, Math.round(key.length / 3));
  let nearest: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= budget && (!nearest || distance < nearest.distance)) nearest = { name, distance };
  }
  return nearest?.name;
}

/** What to tell an operator about an unknown key: the setting it likely misspells, or else the ones that exist. */
export function unknownKeyProblem(key: string, known: readonly string[]): string {
  const nearest = nearestName(key, known);
  if (nearest) return `unknown key; did you mean ${nearest}?`;
  return known.length > 0 ? `unknown key (known: ${known.join(', ')})` : 'unknown key';
}
