/**
 * The media type of a Content-Type value, lowercased, without parameters or surrounding
 * whitespace (RFC 9110 §8.3.1: type and subtype are case-insensitive); '' when there is none.
 */
export function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
