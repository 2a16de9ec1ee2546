import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { authorizeUrl, CLIENT_REDIRECT, redeemCode, signIn, tokenRequest, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

const SECRET = 'configured-client-secret-0123456789';

/** Pre-registered clients from configuration, with open registration turned off. */
describe('configured clients', () => {
  let stack: Stack;
  const confidential: RegisteredClient = {
    client_id: 'team-dashboard',
    client_secret: SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [CLIENT_REDIRECT],
  };

  beforeAll(async () => {
    stack = await Stack.start({
      extra: {
        registration: { dynamic: false },
        clients: [
          { client_id: 'team-dashboard', client_secret: SECRET, client_name: 'Team Dashboard', redirect_uris: [CLIENT_REDIRECT] },
          { client_id: 'careful-cli', redirect_uris: ['http://127.0.0.1:1/cli'], require_consent: true },
        ],
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('signs in without a consent page (the operator vouches for the client) and authenticates with its secret', async () => {
    const browser = new Browser();
    const first = await browser.get(await authorizeUrl(stack.publicUrl, confidential));
    expect(first.status).toBe(302);
    expect(first.location!.origin).toBe(new URL(stack.idp.issuer).origin);

    const callback = await signIn(stack.publicUrl, confidential);
    const code = callback.searchParams.get('code')!;
    const basic = (secret: string) => `Basic ${Buffer.from(`team-dashboard:${secret}`).toString('base64')}`;
    const params = { grant_type: 'authorization_code', code, redirect_uri: CLIENT_REDIRECT, code_verifier: 'a-test-code-verifier-that-is-long-enough-for-pkce-0123456789' };
    const wrong = await tokenRequest(stack.publicUrl, params, { authorization: basic('not-the-secret-at-all') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const post = await tokenRequest(stack.publicUrl, { ...params, client_id: 'team-dashboard', client_secret: SECRET });
    expect(post.status).toBe(401);
    const right = await tokenRequest(stack.publicUrl, params, { authorization: basic(SECRET) });
    expect(right.status).toBe(200);
    expect(right.body.refresh_token).toBeTruthy();
  });

  it('asks for consent when the configuration says so', async () => {
    const page = await new Browser().get(
      await authorizeUrl(stack.publicUrl, { client_id: 'careful-cli', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:1/cli'] }),
    );
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="decision"');
  });

  it('offers no registration endpoint, and the SDK client works with pre-registered credentials', async () => {
    const metadata = (await (await fetch(`${stack.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty('registration_endpoint');
    expect((await fetch(`${stack.publicUrl}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);

    const provider = new TestOAuthProvider({ login: 'grace', metadata: { token_endpoint_auth_method: 'client_secret_basic' } });
    provider.savedClient = { client_id: 'team-dashboard', client_secret: SECRET };
    const { client } = await connectWithOAuth(stack.mcpUrl, provider);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'pre-registered' } }))).toBe('pre-registered');
    await client.close();
  });

  it('lets a confidential configured client introspect tokens (RFC 7662), and nobody else', async () => {
    const callback = await signIn(stack.publicUrl, confidential);
    const basic = { authorization: `Basic ${Buffer.from(`team-dashboard:${SECRET}`).toString('base64')}` };
    const tokens = await tokenRequest(
      stack.publicUrl,
      { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: CLIENT_REDIRECT, code_verifier: 'a-test-code-verifier-that-is-long-enough-for-pkce-0123456789' },
      basic,
    );
    const introspect = async (token: string, headers: Record<string, string>, extra: Record<string, string> = {}) => {
      const response = await fetch(`${stack.publicUrl}/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ token, ...extra }).toString(),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const active = await introspect(tokens.body.access_token as string, basic);
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({ active: true, sub: 'alice', aud: stack.mcpUrl, iss: stack.publicUrl, token_type: 'Bearer' });
    expect(await introspect('garbage', basic)).toEqual({ status: 200, body: { active: false } });
    expect((await introspect(tokens.body.refresh_token as string, basic)).body).toEqual({ active: false });
    // A public client, and a caller without credentials, may not scan tokens.
    expect((await introspect(tokens.body.access_token as string, {}, { client_id: 'careful-cli' })).status).toBe(400);
    expect((await introspect(tokens.body.access_token as string, {})).status).toBe(401);
  });

  it('refuses an unknown client_id and a code from another client', async () => {
    const page = await new Browser().get(await authorizeUrl(stack.publicUrl, { ...confidential, client_id: 'nobody' }));
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    const callback = await signIn(stack.publicUrl, confidential);
    const stolen = await redeemCode(stack.publicUrl, { client_id: 'careful-cli', token_endpoint_auth_method: 'none', redirect_uris: [CLIENT_REDIRECT] }, callback.searchParams.get('code')!);
    expect(stolen.body.error).toBe('invalid_grant');
  });
});
