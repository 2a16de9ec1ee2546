import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { authorizeUrl, mcpPost, redeemCode, register, signIn, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';
import { fakeOidcProvider, type FakeOidcProvider, type TokenFault } from './fake-oidc.js';

/**
 * The identity provider has a bad moment, then recovers. Each fault must give the MCP
 * client a clear OAuth error (never a 500 or a hang), and the very next sign-in against the
 * healthy provider must work end to end on the same proxy process: no restart, no poisoned cache.
 * (test/integration/upstream-faults.test.ts covers the error mapping; this covers recovery.)
 */
const ISSUER = 'https://flaky-idp.test';

describe('upstream identity provider faults, then recovery without restart', () => {
  let idp: FakeOidcProvider;
  const server = setupServer();
  let stack: Stack;
  let client: RegisteredClient;

  beforeAll(async () => {
    idp = await fakeOidcProvider(ISSUER, 'proxy');
    server.use(...idp.handlers);
    server.listen({ onUnhandledRequest: 'bypass' });
    // Discovery is down when the proxy starts: it must start anyway and discover later.
    idp.discoveryDown = true;
    stack = await Stack.start({
      extra: { upstream: { issuer: ISSUER, clientId: 'proxy', clientSecret: 'flaky-idp-client-secret', timeout: 1 } },
    });
    client = await register(stack.publicUrl);
  });
  afterAll(async () => {
    await stack?.close();
    server.close();
  });

  /** A full sign-in against the (now healthy) provider, ending in a working MCP call. */
  async function expectWorkingLogin() {
    idp.tokenFault = 'none';
    const callback = await signIn(stack.publicUrl, client);
    expect(callback.searchParams.get('error')).toBeNull();
    const tokens = await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!);
    expect(tokens.status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, tokens.body.access_token as string)).status).toBe(200);
  }

  it('IdP unreachable at startup (discovery fails): temporarily_unavailable, then works once it is back', async () => {
    const browser = new Browser();
    const consent = await browser.get(await authorizeUrl(stack.publicUrl, client));
    expect(consent.status).toBe(200);
    const approved = await browser.submitForm(consent.body, consent.url, { button: { name: 'decision', value: 'approve' } });
    expect(approved.status).toBe(303);
    expect(approved.location!.href.startsWith(client.redirect_uris[0]!)).toBe(true);
    expect(approved.location!.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(approved.location!.searchParams.get('state')).toBe('client-state-123');
    expect((await fetch(`${stack.publicUrl}/readyz`)).status).toBe(503);

    idp.discoveryDown = false;
    await expectWorkingLogin();
    expect((await fetch(`${stack.publicUrl}/readyz`)).status).toBe(200);
  });

  it.each<[string, TokenFault]>([
    ['refuses connections', 'down'],
    ['answers HTTP 500', 'http-500'],
    ['answers malformed JSON', 'malformed-json'],
    ['answers an HTML maintenance page', 'html'],
    ['returns an ID token for another login (wrong nonce)', 'wrong-nonce'],
    ['returns an ID token from another issuer', 'wrong-issuer'],
    ['returns an expired ID token', 'expired-id-token'],
    ['never answers (the configured timeout is 1 s)', 'hang'],
  ])('token endpoint %s: server_error to the client, no code, then the next login works', async (_name, fault) => {
    idp.tokenFault = fault;
    // A provider that never answers ends here only through the proxy's upstream timeout.
    const callback = await signIn(stack.publicUrl, client);
    expect(callback.searchParams.get('error')).toBe('server_error');
    expect(callback.searchParams.get('error_description')).toBe('Sign-in at the identity provider failed.');
    expect(callback.searchParams.get('code')).toBeNull();
    expect(callback.searchParams.get('state')).toBe('client-state-123');
    expect(callback.searchParams.get('iss')).toBe(stack.publicUrl);
    await expectWorkingLogin();
  });

  it('logged every failure as an error returned to the client, never as an unexpected 500', () => {
    const entries = stack.logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.filter((entry) => entry.msg === 'unexpected error in the authorization flow')).toEqual([]);
    expect(entries.filter((entry) => entry.msg === 'request' && entry.status === 500)).toEqual([]);
    expect(entries.filter((entry) => entry.msg === 'authorization error returned to client').length).toBeGreaterThanOrEqual(9);
  });
});
