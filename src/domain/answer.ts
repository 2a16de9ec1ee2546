/**
 * An answer the proxy gives itself, without the downstream: status, its own headers (lowercase
 * names) and a complete body (text, or none). Each runtime adapter writes it its own way; the
 * headers every response carries (request id, CORS) are added there, not here.
 */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | null;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

/** A JSON answer that is never cached; `body` is serialized unless it is JSON text already. */
export function jsonAnswer(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Answer {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

/** An answer with no body that is never cached. */
export function emptyAnswer(status: number, headers: Readonly<Record<string, string>> = {}): Answer {
  return { status, headers: { 'cache-control': 'no-store', ...headers }, body: null };
}
