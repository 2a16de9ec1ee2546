import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { authorizeUrl, mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/**
 * The github preset end to end: msw plays GitHub (its authorize redirect,
 * its form-encoded token response, /user and /user/emails); the proxy, the
 * browser flow and the MCP server behind are real.
 */
const GITHUB = 'https://github.test';
const API = 'https://api.github.test';

let primaryVerified = false;

const github = setupServer(
  http.get(`${GITHUB}/login/oauth/authorize`, ({ request }) => {
    const url = new URL(request.url);
    const back = new URL(url.searchParams.get('redirect_uri')!);
    back.searchParams.set('code', 'gh-code');
    back.searchParams.set('state', url.searchParams.get('state')!);
    return new HttpResponse(null, { status: 302, headers: { location: back.href } });
  }),
  http.post(`${GITHUB}/login/oauth/access_token`, () =>
    new HttpResponse('access_token=gho_token123&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
  ),
  http.get(`${API}/user`, () => HttpResponse.json({ id: 583231, login: 'octocat', name: 'The Octocat' })),
  http.get(`${API}/user/emails`, () =>
    HttpResponse.json([
      { email: 'octocat@github.test', primary: true, verified: primaryVerified },
      { email: 'other@github.test', primary: false, verified: true },
    ]),
  ),
);

describe('github preset through the proxy', () => {
  let stack: Stack;

  beforeAll(async () => {
    github.listen({ onUnhandledRequest: 'bypass' });
    stack = await Stack.start({
      downstreamAuth: 'identity-headers',
      extra: {
        upstream: {
          provider: 'github',
          clientId: 'Ov23liTest',
          clientSecret: 'github-client-secret',
          authorizationUrl: `${GITHUB}/login/oauth/authorize`,
          tokenUrl: `${GITHUB}/login/oauth/access_token`,
          apiUrl: API,
        },
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    github.close();
  });

  async function signInAndCall(): Promise<Record<string, string>> {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client);
    const tokens = await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!);
    expect(tokens.status).toBe(200);
    // GitHub OAuth App tokens never expire: the proxy's own lifetime applies.
    expect(tokens.body.expires_in).toBe(3600);
    const before = stack.demo.requests.length;
    expect((await mcpPost(stack.mcpUrl, tokens.body.access_token as string)).status).toBe(200);
    return stack.demo.requests.slice(before).at(-1)!.headers;
  }

  it('signs in with the numeric GitHub id as subject and withholds an unverified primary email', async () => {
    primaryVerified = false;
    const seen = await signInAndCall();
    expect(seen['x-forwarded-user']).toBe('583231');
    expect(seen['x-forwarded-name']).toBe('The Octocat');
    expect(seen['x-forwarded-access-token']).toBe('gho_token123');
    expect(seen['x-forwarded-email']).toBeUndefined();
  });

  it('passes the primary email once GitHub says it is verified', async () => {
    primaryVerified = true;
    const seen = await signInAndCall();
    expect(seen['x-forwarded-email']).toBe('octocat@github.test');
  });

  it('names GitHub on the consent page', async () => {
    const page = await new Browser().get(await authorizeUrl(stack.publicUrl, await register(stack.publicUrl)));
    expect(page.body).toContain('github.test');
  });
});
