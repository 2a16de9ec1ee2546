import * as z from 'zod';
import { objectsOf } from './tagged-union.js';

/** A tagged union on the way to a place in the input: the variant the input chose, and the others with their settings. */
export interface Variant {
  readonly tag: string;
  readonly value: unknown;
  readonly others: readonly { readonly values: readonly unknown[]; readonly keys: ReadonlySet<string> }[];
}

/** What the schema knows at a place in the input: the settings there, and the variants chosen on the way. */
export interface SettingsAt {
  readonly known: readonly string[];
  readonly variants: readonly Variant[];
}

/**
 * The settings the object of `schema` at `path` of `input` knows, for naming the likely intent
 * behind an unknown key. Looks through defaults, optionals, lists, records and both sides of
 * pipes (a preprocess step is a transform before the object, a refinement of the whole a
 * transform after it); a tagged union takes the variant `input` names, or all of them.
 */
export function settingsAt(schema: z.core.$ZodType, path: readonly PropertyKey[], input: unknown): SettingsAt | undefined {
  return walk(schema, path, input, []);
}

const fieldOf = (input: unknown, key: PropertyKey): unknown => (typeof input === 'object' && input !== null ? (input as Record<PropertyKey, unknown>)[key] : undefined);

const keysOf = (option: z.core.$ZodType) => objectsOf(option).flatMap((object) => Object.keys(object.shape));

function tagValues(option: z.core.$ZodType, tag: string): unknown[] {
  const values = objectsOf(option).flatMap((object) => {
    let schema = object.shape[tag];
    while (schema instanceof z.ZodDefault) schema = schema.unwrap();
    return schema instanceof z.ZodLiteral ? [...schema.values] : [];
  });
  return [...new Set(values)];
}

function walk(node: z.core.$ZodType | undefined, path: readonly PropertyKey[], input: unknown, variants: readonly Variant[]): SettingsAt | undefined {
  if (node instanceof z.ZodDefault || node instanceof z.ZodPrefault || node instanceof z.ZodOptional || node instanceof z.ZodNullable) return walk(node.unwrap(), path, input, variants);
  if (node instanceof z.ZodPipe) return walk(node.in, path, input, variants) ?? walk(node.out, path, input, variants);
  if (node instanceof z.ZodDiscriminatedUnion) {
    const tag: string = node.def.discriminator;
    const options = node.options as z.core.$ZodType[];
    const value = fieldOf(input, tag);
    const chosen = options.find((option) => objectsOf(option).some((object) => object.shape[tag]?.safeParse(value).success));
    if (!chosen) {
      if (path.length === 0) return { known: [...new Set(options.flatMap(keysOf))], variants };
      for (const option of options) {
        const found = walk(option, path, input, variants);
        if (found) return found;
      }
      return undefined;
    }
    const others = options.filter((option) => option !== chosen).map((option) => ({ values: tagValues(option, tag), keys: new Set(keysOf(option)) }));
    return walk(chosen, path, input, [...variants, { tag, value: value ?? tagValues(chosen, tag)[0], others }]);
  }
  if (path.length === 0) return node instanceof z.ZodObject ? { known: Object.keys(node.shape), variants } : undefined;
  const [segment, ...rest] = path;
  const inner = fieldOf(input, segment!);
  if (node instanceof z.ZodObject) return typeof segment === 'string' ? walk(node.shape[segment], rest, inner, variants) : undefined;
  if (node instanceof z.ZodArray) return walk(node.element, rest, inner, variants);
  if (node instanceof z.ZodRecord) return walk(node.valueType, rest, inner, variants);
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

/**
 * What to tell an operator about an unknown key: the variant it belongs to when the
 * input chose another, else the setting it likely misspells, or else the ones that exist.
 */
export function unknownKeyProblem(key: string, at: SettingsAt | undefined): string {
  for (const variant of [...(at?.variants ?? [])].reverse()) {
    const owners = variant.others.filter((other) => other.keys.has(key)).flatMap((other) => other.values);
    if (owners.length > 0) return `unknown key for ${variant.tag} ${String(variant.value)} (used by ${variant.tag} ${owners.join(', ')})`;
  }
  const known = at?.known ?? [];
  const nearest = nearestName(key, known);
  if (nearest) return `unknown key; did you mean ${nearest}?`;
  return known.length > 0 ? `unknown key (known: ${known.join(', ')})` : 'unknown key';
}

/** The variants a missing `key` is required by, as `auth api-key`: those whose siblings do without it. */
export function requiredBy(key: string, at: SettingsAt | undefined): string | undefined {
  const variants = (at?.variants ?? []).filter((variant) => variant.others.some((other) => !other.keys.has(key)));
  return variants.length > 0 ? variants.map((variant) => `${variant.tag} ${String(variant.value)}`).join(', ') : undefined;
}
