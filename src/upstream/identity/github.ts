import type { Identity } from '../../domain/capsule-schemas.js';
import { UpstreamError } from '../upstream-client.js';

/**
 * GitHub has no OpenID Connect for users: the identity is what its REST API
 * says about the token's owner. The subject is the numeric user id (a login
 * can be renamed and then claimed by someone else); the email is the primary
 * address only when GitHub has verified it.
 */

const API_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
  'user-agent': 'mcp-capsule',
};

interface GithubEmail {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

function endpoint(apiUrl: string, path: string): URL {
  return new URL(path, apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`);
}

async function getJson(fetchImpl: typeof fetch, url: URL, accessToken: string): Promise<{ status: number; body: unknown }> {
  const response = await fetchImpl(url, { headers: { ...API_HEADERS, authorization: `Bearer ${accessToken}` } });
  if (!response.ok) {
    void response.body?.cancel();
    return { status: response.status, body: undefined };
  }
  try {
    return { status: response.status, body: await response.json() };
  } catch {
    throw new UpstreamError('unavailable', `GitHub ${url.pathname} answered something other than JSON`);
  }
}

/** The primary address, if verified; a token without the email scope or permission simply has none. */
async function verifiedPrimaryEmail(fetchImpl: typeof fetch, apiUrl: string, accessToken: string): Promise<string | undefined> {
  const url = endpoint(apiUrl, 'user/emails');
  url.searchParams.set('per_page', '100');
  const { status, body } = await getJson(fetchImpl, url, accessToken);
  if (status === 401 || status === 403 || status === 404) return undefined;
  if (status !== 200 || !Array.isArray(body)) throw new UpstreamError('unavailable', `GitHub ${url.pathname} answered HTTP ${status}`);
  const primary = (body as GithubEmail[]).find((entry) => entry?.primary === true);
  return primary?.verified === true && typeof primary.email === 'string' && primary.email !== '' ? primary.email : undefined;
}

export async function githubIdentity(fetchImpl: typeof fetch, apiUrl: string, accessToken: string): Promise<Identity> {
  const userUrl = endpoint(apiUrl, 'user');
  const [{ status, body }, email] = await Promise.all([
    getJson(fetchImpl, userUrl, accessToken),
    verifiedPrimaryEmail(fetchImpl, apiUrl, accessToken),
  ]);
  if (status !== 200 || typeof body !== 'object' || body === null) {
    throw new UpstreamError('unavailable', `GitHub ${userUrl.pathname} answered HTTP ${status}`);
  }
  const user = body as { id?: unknown; login?: unknown; name?: unknown };
  if (typeof user.id !== 'number' || !Number.isSafeInteger(user.id) || user.id <= 0) {
    throw new UpstreamError('unavailable', `GitHub ${userUrl.pathname} has no numeric user id`);
  }
  const name = typeof user.name === 'string' && user.name.trim() !== '' ? user.name : typeof user.login === 'string' ? user.login : undefined;
  return {
    sub: String(user.id),
    ...(email !== undefined ? { email, email_verified: true } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}
