import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import * as oauth from 'oauth4webapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamClient } from '../../src/upstream/create-upstream-client.js';
import { resolveUpstream, upstreamSettingsSchema } from '../../src/upstream/settings.js';
import { UpstreamError, type UpstreamLoginSecrets } from '../../src/upstream/upstream-client.js';

/**
 * The github preset against msw handlers that answer like github.com and
 * api.github.com: form-encoded token responses, errors inside HTTP 200,
 * non-expiring OAuth App tokens and expiring GitHub App tokens, /user with a
 * numeric id and /user/emails with verified and unverified addresses.
 */

const GITHUB = 'https://github.test';
const API = 'https://api.github.test';
const CLIENT_ID = 'Iv1.proxyclient';
const CLIENT_SECRET = 'github-client-secret-value';
const REDIRECT_URI = 'https://mcp.example.test/oauth/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

interface Account {
  user: Record<string, unknown>;
  emails: Array<{ email: string; primary: boolean; verified: boolean; visibility: string | null }>;
}

const ACCOUNTS: Record<string, Account> = {
  gho_verified: {
    user: { id: 583231, login: 'octocat', name: 'The Octocat', email: 'public@example.test' },
    emails: [
      { email: 'secondary@example.test', primary: false, verified: true, visibility: null },
      { email: 'octocat@example.test', primary: true, verified: true, visibility: 'private' },
    ],
  },
  gho_unverified: {
    user: { id: 9001, login: 'newbie', name: null, email: 'claimed@example.test' },
    emails: [
      { email: 'claimed@example.test', primary: true, verified: false, visibility: 'public' },
      { email: 'verified-but-not-primary@example.test', primary: false, verified: true, visibility: null },
    ],
  },
  ghu_expiring: {
    user: { id: 77, login: 'app-user', name: 'App User' },
    emails: [{ email: 'app-user@example.test', primary: true, verified: true, visibility: null }],
  },
};

const tokenRequests: URLSearchParams[] = [];
const apiRequests: Request[] = [];

function tokenResponse(body: URLSearchParams) {
  if (body.get('client_id') !== CLIENT_ID || body.get('client_secret') !== CLIENT_SECRET) {
    return new HttpResponse('error=incorrect_client_credentials&error_description=The+client_id+and%2For+client_secret+passed+are+incorrect.', { headers: FORM });
  }
  if (body.get('grant_type') === 'refresh_token') {
    if (body.get('refresh_token') !== 'ghr_first') {
      return HttpResponse.json({ error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' });
    }
    return HttpResponse.json({ access_token: 'ghu_expiring', expires_in: 28800, refresh_token: 'ghr_second', refresh_token_expires_in: 15724800, token_type: 'bearer', scope: '' });
  }
  if (!body.get('code_verifier')) return HttpResponse.json({ error: 'invalid_request' }, { status: 400 });
  switch (body.get('code')) {
    // GitHub's default answer when the client does not insist on JSON.
    case 'code-verified':
      return new HttpResponse('access_token=gho_verified&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer', { headers: FORM });
    case 'code-unverified':
      return HttpResponse.json({ access_token: 'gho_unverified', token_type: 'bearer', scope: 'read:user,user:email' });
    case 'code-expiring':
      return new HttpResponse(
        'access_token=ghu_expiring&expires_in=28800&refresh_token=ghr_first&refresh_token_expires_in=15724800&scope=&token_type=bearer',
        { headers: FORM },
      );
    default:
      // GitHub answers a spent or unknown code with HTTP 200 and an error in the body.
      return new HttpResponse(
        'error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com',
        { headers: FORM },
      );
  }
}

/** Like api.github.com: a User-Agent is mandatory, and the token picks the account. */
function apiAccount(request: Request): Account | Response {
  apiRequests.push(request.clone());
  if (!request.headers.get('user-agent')) return HttpResponse.json({ message: 'Request forbidden by administrative rules.' }, { status: 403 });
  const account = ACCOUNTS[request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''];
  return account ?? HttpResponse.json({ message: 'Bad credentials' }, { status: 401 });
}

const server = setupServer(
  http.post(`${GITHUB}/login/oauth/access_token`, async ({ request }) => {
    const body = new URLSearchParams(await request.text());
    tokenRequests.push(body);
    return tokenResponse(body);
  }),
  http.get(`${API}/user`, ({ request }) => {
    const account = apiAccount(request);
    return account instanceof Response ? account : HttpResponse.json(account.user);
  }),
  http.get(`${API}/user/emails`, ({ request }) => {
    const account = apiAccount(request);
    return account instanceof Response ? account : HttpResponse.json(account.emails);
  }),
);

function githubClient() {
  const settings = upstreamSettingsSchema.parse({
    provider: 'github',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    authorizationUrl: `${GITHUB}/login/oauth/authorize`,
    tokenUrl: `${GITHUB}/login/oauth/access_token`,
    apiUrl: API,
  });
  return createUpstreamClient(resolveUpstream(settings), { clock: () => NOW });
}

const NOW = Date.UTC(2025, 0, 1);

function secrets(): UpstreamLoginSecrets {
  return { state: oauth.generateRandomState(), codeVerifier: oauth.generateRandomCodeVerifier(), nonce: oauth.generateRandomNonce() };
}

function callback(code: string, login: UpstreamLoginSecrets): URL {
  const url = new URL(REDIRECT_URI);
  url.search = new URLSearchParams({ code, state: login.state }).toString();
  return url;
}

describe('github preset', () => {
  beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
  afterEach(() => {
    tokenRequests.length = 0;
    apiRequests.length = 0;
  });
  afterAll(() => server.close());

  it('sends an OAuth 2.0 authorization request with PKCE and the GitHub scopes, without nonce', async () => {
    const login = secrets();
    const url = await githubClient().authorizationUrl(login, REDIRECT_URI);
    expect(`${url.origin}${url.pathname}`).toBe(`${GITHUB}/login/oauth/authorize`);
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('scope')).toBe('read:user user:email');
    expect(url.searchParams.get('code_challenge')).toBe(await oauth.calculatePKCECodeChallenge(login.codeVerifier));
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.has('nonce')).toBe(false);
  });

  it('reads a form-encoded token response; the subject is the numeric id and the verified primary email is used', async () => {
    const login = secrets();
    const result = await githubClient().completeLogin(callback('code-verified', login), login, REDIRECT_URI);
    expect(result.identity).toEqual({ sub: '583231', email: 'octocat@example.test', email_verified: true, name: 'The Octocat' });
    // An OAuth App token does not expire and has no refresh token.
    expect(result.tokens).toEqual({ access_token: 'gho_verified' });

    const [token] = tokenRequests;
    expect(token?.get('client_secret')).toBe(CLIENT_SECRET);
    expect(token?.get('code_verifier')).toBe(login.codeVerifier);
    expect(token?.get('redirect_uri')).toBe(REDIRECT_URI);
    for (const request of apiRequests) {
      expect(request.headers.get('accept')).toBe('application/vnd.github+json');
      expect(request.headers.get('user-agent')).toBeTruthy();
    }
    expect(apiRequests.map((request) => new URL(request.url).pathname).sort()).toEqual(['/user', '/user/emails']);
  });

  it('leaves out an unverified primary email, even when a secondary address is verified; the login names the user', async () => {
    const login = secrets();
    const result = await githubClient().completeLogin(callback('code-unverified', login), login, REDIRECT_URI);
    expect(result.identity).toEqual({ sub: '9001', name: 'newbie' });
  });

  it('turns HTTP 200 with error=bad_verification_code into invalid_grant, quoting neither code nor secret', async () => {
    const login = secrets();
    const error = await githubClient().completeLogin(callback('spent-code-123', login), login, REDIRECT_URI).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('invalid_grant');
    expect((error as UpstreamError).detail).toContain('bad_verification_code');
    expect(`${(error as Error).message} ${(error as UpstreamError).detail}`).not.toMatch(/spent-code-123|github-client-secret/);
    expect(apiRequests).toHaveLength(0);
  });

  it('refuses a callback whose state is not this login\'s', async () => {
    const login = secrets();
    const error = await githubClient()
      .completeLogin(callback('code-verified', { ...login, state: 'forged' }), login, REDIRECT_URI)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(tokenRequests).toHaveLength(0);
  });

  it('supports expiring GitHub App tokens: expiry from the form body, and refresh with rotation', async () => {
    const upstream = githubClient();
    const login = secrets();
    const result = await upstream.completeLogin(callback('code-expiring', login), login, REDIRECT_URI);
    expect(result.identity).toMatchObject({ sub: '77', email: 'app-user@example.test', email_verified: true });
    expect(result.tokens).toEqual({ access_token: 'ghu_expiring', expires_at: NOW / 1000 + 28800, refresh_token: 'ghr_first' });

    const refreshed = await upstream.refresh('ghr_first');
    expect(refreshed).toEqual({ access_token: 'ghu_expiring', expires_at: NOW / 1000 + 28800, refresh_token: 'ghr_second' });
    const refreshRequest = tokenRequests.at(-1)!;
    expect(refreshRequest.get('grant_type')).toBe('refresh_token');
    expect(refreshRequest.get('client_secret')).toBe(CLIENT_SECRET);
  });

  it('maps error=bad_refresh_token in an HTTP 200 to invalid_grant', async () => {
    const error = await githubClient().refresh('ghr_revoked').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('invalid_grant');
    expect((error as UpstreamError).detail).not.toContain('ghr_revoked');
  });

  it('maps wrong client credentials (HTTP 200 with an error) to unavailable', async () => {
    const settings = upstreamSettingsSchema.parse({
      provider: 'github',
      clientId: CLIENT_ID,
      clientSecret: 'wrong-secret',
      authorizationUrl: `${GITHUB}/login/oauth/authorize`,
      tokenUrl: `${GITHUB}/login/oauth/access_token`,
      apiUrl: API,
    });
    const login = secrets();
    const error = await createUpstreamClient(resolveUpstream(settings))
      .completeLogin(callback('code-verified', login), login, REDIRECT_URI)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('unavailable');
    expect((error as UpstreamError).detail).toContain('incorrect_client_credentials');
    expect((error as UpstreamError).detail).not.toContain('wrong-secret');
  });
});
