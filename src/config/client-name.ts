import * as z from 'zod';

const MAX_NAME_LENGTH = 200;

/**
 * Characters a client-chosen name may not contain, because the consent page shows the name
 * to a person who must read it as the characters it is:
 * - format characters (general category Cf): the bidirectional embeddings, overrides, isolates
 *   and marks (U+202A–202E, U+2066–2069, U+200E, U+200F, U+061C) reorder the text around them,
 *   and the zero-width ones (U+200B–200D, U+2060, U+FEFF, …) hide what is there;
 * - control characters (Cc: C0, DEL and C1), line and paragraph separators (Zl, Zp) and lone
 *   surrogates (Cs), which have no glyph of their own;
 * - the Hangul fillers, letters drawn as nothing.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0]/u;
const VISIBLE = /[^\p{White_Space}]/u;

/** Whether a client's name can be shown as it is: something visible, and nothing hidden or reordering. */
export function isDisplayableName(name: string): boolean {
  return !HIDDEN.test(name) && VISIBLE.test(name);
}

export const DISPLAYABLE_NAME_RULE = `must be visible text of at most ${MAX_NAME_LENGTH} characters, without control or invisible formatting characters (such as bidirectional overrides)`;

/** A client_name from a registration, a metadata document or the configuration. */
export const clientNameSchema = z
  .string()
  .trim()
  .max(MAX_NAME_LENGTH, DISPLAYABLE_NAME_RULE)
  .refine(isDisplayableName, DISPLAYABLE_NAME_RULE);
