/**
 * The part of an X-Forwarded-For chain the proxy can vouch for: the rightmost `hops` entries,
 * which the `hops` trusted reverse proxies in front appended. Entries further left are whatever
 * the client sent. A chain shorter than `hops` did not pass through all of them, so none of it
 * is trusted. `header` is every X-Forwarded-For line joined with ", ".
 */
export function trustedForwardedFor(hops: number, header: string | undefined): string[] {
  if (hops === 0 || header === undefined) return [];
  const entries: string[] = [];
  for (const part of header.split(',')) {
    const entry = part.trim();
    if (entry !== '') entries.push(entry);
  }
  return entries.length < hops ? [] : entries.slice(entries.length - hops);
}
