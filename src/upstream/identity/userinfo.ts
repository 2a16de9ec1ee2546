import { UpstreamError } from '../upstream-client.js';

/**
 * A plain OAuth 2.0 userinfo document: GET with the access token, a JSON
 * object back. (oauth4webapi's userinfo handling insists on a top-level `sub`,
 * which plain OAuth providers rarely have.)
 */
export async function fetchUserinfoDocument(fetchImpl: typeof fetch, userinfoUrl: string, accessToken: string): Promise<Record<string, unknown>> {
  const url = new URL(userinfoUrl);
  const response = await fetchImpl(url, { headers: { accept: 'application/json', authorization: `Bearer ${accessToken}` } });
  if (!response.ok) {
    void response.body?.cancel();
    throw new UpstreamError('unavailable', `userinfo ${url.host}${url.pathname} answered HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new UpstreamError('unavailable', `userinfo ${url.host}${url.pathname} answered something other than JSON`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UpstreamError('unavailable', `userinfo ${url.host}${url.pathname} answered JSON that is not an object`);
  }
  return body as Record<string, unknown>;
}
