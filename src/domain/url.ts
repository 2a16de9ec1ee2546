/** A URL, or undefined where `value` is none: for checks that run whether or not an earlier one found it parseable. */
export function tryUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}
