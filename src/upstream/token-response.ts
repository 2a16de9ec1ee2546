/**
 * Token endpoints of plain OAuth 2.0 providers (GitHub above all) answer
 * `application/x-www-form-urlencoded` unless asked for JSON, and may put an
 * error in an HTTP 200 body. This wrapper hands oauth4webapi what RFC 6749
 * says they should have sent: JSON, with errors as HTTP 400.
 */

const FORM = /^application\/x-www-form-urlencoded\b/i;
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;

function parseBody(contentType: string, text: string): Record<string, unknown> | undefined {
  if (FORM.test(contentType)) {
    const fields: Record<string, unknown> = Object.fromEntries(new URLSearchParams(text));
    // Form bodies carry numbers as text; expiry fields must be numbers.
    for (const [name, value] of Object.entries(fields)) {
      if (name.endsWith('expires_in') && typeof value === 'string' && /^\d+$/.test(value)) fields[name] = Number(value);
    }
    return fields;
  }
  if (JSON_TYPE.test(contentType)) {
    try {
      const json: unknown = JSON.parse(text);
      return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Wraps the fetch used for token requests. `dropIdToken`: for providers that are
 * not OpenID Connect, an `id_token` the proxy will not validate is removed rather
 * than half-checked.
 */
export function normalizeTokenResponses(fetchImpl: typeof fetch, options: { dropIdToken: boolean }): typeof fetch {
  return async function normalizedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const response = await fetchImpl(input, init);
    const text = await response.text();
    const body = parseBody(response.headers.get('content-type') ?? '', text);
    if (!body) return new Response(text === '' ? null : text, { status: response.status, statusText: response.statusText, headers: response.headers });
    if (options.dropIdToken) delete body['id_token'];
    const isError = typeof body['error'] === 'string' && body['error'] !== '';
    const status = response.ok && isError ? 400 : response.status;
    const headers = new Headers(response.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    return new Response(JSON.stringify(body), { status, headers });
  };
}
