import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEP_UP_REFRESH_WINDOW_SECONDS } from '../../src/store/step-up.js';
import { Browser, parseForms, type Page } from '../support/browser.js';
import { manualClock } from '../support/deps.js';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { authorizeUrl, CLIENT_REDIRECT, initializeRequest, mcpPost, redeemCode, register, signIn, tokenRequest, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/**
 * Step-up authorization against the real stack (oidc-provider upstream, the SDK demo server
 * downstream, the official SDK client): `/mcp` offers `mcp` (its basic scope) and `mcp:admin`,
 * which `whoami` needs. Attacks are played from the side of a client holding a token without
 * `mcp:admin`; each comes with the legitimate path as a control.
 */
const BASIC = 'mcp';
const ADMIN = 'mcp:admin';
const CALL = (name: string, id: number | undefined = 7) => ({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method: 'tools/call', params: { name, arguments: name === 'echo' ? { text: 'hi' } : {} } });

/** An MCP application that drops tokens the authorization server refused, as the SDK's provider interface lets it. */
class SteppingUpProvider extends TestOAuthProvider {
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
    if (scope === 'all' || scope === 'client') this.savedClient = undefined;
  }
}

describe('security: step-up authorization with scopes', () => {
  const clock = manualClock(Date.now());
  let stack: Stack;
  let base: string;
  let mcpUrl: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    stack = await Stack.start({
      clock,
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2, scopesSupported: [BASIC, ADMIN], tools: { scopes: { 'who*': [ADMIN] } } },
        { path: '/plain', url: demoUrl, auth: 'upstream-token', timeout: 2 },
      ],
    });
    base = stack.publicUrl;
    mcpUrl = `${base}/mcp`;
    client = await register(base);
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Signs in with `scope` (none when undefined) and redeems the code. */
  async function tokensWith(scope: string | undefined, options: { route?: string; browser?: Browser } = {}) {
    const resource = `${base}${options.route ?? '/mcp'}`;
    const callback = await signIn(base, client, { extra: { resource, scope }, ...(options.browser ? { browser: options.browser } : {}) });
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();
    const response = await redeemCode(base, client, code!, { resource });
    expect(response.status).toBe(200);
    return response.body as { access_token: string; refresh_token: string; scope?: string };
  }

  /** A session started with a raw initialize, for raw calls that must reach the demo server. */
  async function session(token: string): Promise<Record<string, string>> {
    const initialized = await mcpPost(mcpUrl, token, initializeRequest());
    expect(initialized.status).toBe(200);
    await initialized.text();
    const headers = { 'mcp-session-id': initialized.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    expect((await mcpPost(mcpUrl, token, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
    return headers;
  }

  const challengeFor = (scope: string) =>
    `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="${scope}", error="insufficient_scope", ` +
    'error_description="This tool needs a scope the access token lacks; authorize again with the scopes named."';

  /** A call that must end at the proxy with the step-up challenge, nothing sent downstream. */
  async function expectStepUp(token: string, body: unknown, headers: Record<string, string> = {}, scope = `${BASIC} ${ADMIN}`) {
    const seen = stack.demo.requests.length;
    const response = await mcpPost(mcpUrl, token, body, headers);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(challengeFor(scope));
    expect(await response.json()).toEqual({ error: 'insufficient_scope', error_description: 'This tool needs a scope the access token lacks; authorize again with the scopes named.' });
    expect(stack.demo.requests.length).toBe(seen);
  }

  const isConsentPage = (page: Page) =>
    page.status === 200 && parseForms(page.body, page.url).some((form) => form.buttons.some((button) => button.name === 'decision'));

  it('the first challenge names the basic scope only; the metadata lists every scope offered', async () => {
    const unauthenticated = await mcpPost(mcpUrl, undefined);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="${BASIC}"`);
    const metadata = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata.scopes_supported).toEqual([BASIC, ADMIN]);
    const server = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(server.scopes_supported).toEqual([BASIC, ADMIN, 'offline_access']);
    // Control: a route that offers no scope names none.
    const plain = await mcpPost(`${base}/plain`, undefined);
    expect(plain.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/plain"`);
  });

  it('the SDK client signs in with the basic scope, steps up on a scoped tool, re-authorizes and the call succeeds', async () => {
    const provider = new SteppingUpProvider({ login: 'stella' });
    const { client: mcp, transport } = await connectWithOAuth(mcpUrl, provider);
    expect(provider.authorizations).toHaveLength(1);
    expect(provider.authorizations[0]!.authorizationUrl.searchParams.get('scope')).toBe(BASIC);
    expect(provider.savedTokens?.scope).toBe(BASIC);
    const firstRefreshToken = provider.savedTokens?.refresh_token;
    expect(firstRefreshToken).toBeDefined();
    // Control: tools that need no scope work with the basic scope, and tools/list shows the scoped one too.
    expect((await mcp.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['countdown', 'echo', 'whoami']);
    expect(textOf(await mcp.callTool({ name: 'echo', arguments: { text: 'small' } }))).toBe('small');

    const seen = stack.demo.requests.length;
    const consentsBefore = stack.logs.auditEvents.filter((event) => event.event === 'consent').length;
    // 403 → the SDK refreshes first → refused (invalid_grant) → it drops the tokens and authorizes with the challenged scope.
    await expect(mcp.callTool({ name: 'whoami', arguments: {} })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(stack.demo.requests.length).toBe(seen);
    expect(stack.logs.auditEvents.some((event) => event.event === 'tool_denied' && event.reason === 'insufficient_scope')).toBe(true);
    expect(stack.logs.auditEvents.some((event) => event.event === 'token_refused' && event.reason === 'invalid_grant')).toBe(true);
    expect(provider.authorizations).toHaveLength(2);
    expect(provider.authorizations[1]!.authorizationUrl.searchParams.get('scope')).toBe(`${BASIC} ${ADMIN}`);
    // The user was asked again: the approval of the basic scope did not cover the larger one.
    expect(stack.logs.auditEvents.filter((event) => event.event === 'consent').length).toBe(consentsBefore + 1);

    const code = provider.lastCallback?.searchParams.get('code');
    expect(code).toBeTruthy();
    await transport.finishAuth(code!);
    expect(provider.savedTokens?.scope).toBe(`${BASIC} ${ADMIN}`);
    const whoami = JSON.parse(textOf(await mcp.callTool({ name: 'whoami', arguments: {} }))) as { authorization: string };
    expect(whoami.authorization).toMatch(/^Bearer /);
    await mcp.close();
  });

  it('a refresh cannot widen the scope, and is refused right after a scope challenge until the window ends', async () => {
    const tokens = await tokensWith(`${BASIC} offline_access`);
    expect(tokens.scope).toBe(`${BASIC} offline_access`);
    const refresh = (refreshToken: string, scope?: string) =>
      tokenRequest(base, { grant_type: 'refresh_token', client_id: client.client_id, refresh_token: refreshToken, resource: mcpUrl, scope });

    const wider = await refresh(tokens.refresh_token, `${BASIC} ${ADMIN}`);
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
    expect(wider.body.access_token).toBeUndefined();

    await expectStepUp(tokens.access_token, CALL('whoami'), {}, `${BASIC} offline_access ${ADMIN}`);
    const afterChallenge = await refresh(tokens.refresh_token);
    expect(afterChallenge.status).toBe(400);
    expect(afterChallenge.body.error).toBe('invalid_grant');
    expect(afterChallenge.body.access_token).toBeUndefined();

    // Control: once the window is over, the same refresh token renews the grant with its own scope, narrowed on request.
    clock.advance(STEP_UP_REFRESH_WINDOW_SECONDS + 1);
    const renewed = await refresh(tokens.refresh_token, BASIC);
    expect(renewed.status).toBe(200);
    expect(renewed.body.scope).toBe(BASIC);
  });

  describe('a token without the scope cannot call the tool', () => {
    let basic: string;
    let admin: string;
    beforeAll(async () => {
      basic = (await tokensWith(BASIC)).access_token;
      admin = (await tokensWith(`${BASIC} ${ADMIN}`)).access_token;
    });

    it('by name, by a glob-matching name, or written with JSON escapes; a batch holding such a call is refused whole', async () => {
      await expectStepUp(basic, CALL('whoami'));
      await expectStepUp(basic, CALL('who_else'));
      // JSON escapes spell the same name once parsed, as the downstream parses it.
      const escaped = '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"who\\u0061mi","arguments":{}}}';
      const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${basic}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: escaped,
      });
      expect(response.status).toBe(403);
      await expectStepUp(basic, [CALL('echo', 1), CALL('whoami', 2)]);
      // A notification (no id) is a call all the same.
      await expectStepUp(basic, CALL('whoami', undefined));
    });

    it('nor by a duplicate name member or an Mcp-Name header naming another tool', async () => {
      const seen = stack.demo.requests.length;
      const duplicate = await fetch(mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${basic}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{},"name":"whoami"}}',
      });
      expect(duplicate.status).toBe(403);
      const mismatch = await mcpPost(mcpUrl, basic, CALL('whoami'), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
      expect(mismatch.status).toBe(400);
      expect(stack.demo.requests.length).toBe(seen);
    });

    it('control: the same calls reach the server with the scope, and other tools with the basic scope', async () => {
      const adminSession = await session(admin);
      const whoami = await mcpPost(mcpUrl, admin, CALL('whoami'), adminSession);
      expect(whoami.status).toBe(200);
      expect(await whoami.text()).toContain('authorization');
      const basicSession = await session(basic);
      const echo = await mcpPost(mcpUrl, basic, CALL('echo'), basicSession);
      expect(echo.status).toBe(200);
      expect(await echo.text()).toContain('hi');
    });
  });

  it('a client cannot be granted a scope the route does not offer; the error goes only to a registered redirect URI', async () => {
    const browser = new Browser();
    const refused = await browser.get(await authorizeUrl(base, client, { scope: `${BASIC} mcp:root` }));
    expect(refused.status).toBe(302);
    expect(refused.location?.href.startsWith(CLIENT_REDIRECT)).toBe(true);
    expect(refused.location?.searchParams.get('error')).toBe('invalid_scope');
    expect(refused.location?.searchParams.get('state')).toBe('client-state-123');
    expect(refused.location?.searchParams.get('code')).toBeNull();

    const elsewhere = await browser.get(await authorizeUrl(base, client, { scope: 'mcp:root', redirect_uri: 'https://attacker.example/cb' }));
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeUndefined();

    // A scope of another route is not one of this route's either.
    const plain = await tokensWith(ADMIN, { route: '/plain' });
    expect(plain.scope).toBeUndefined();

    // Controls: the scopes offered are granted, and asking for none grants the basic scope.
    expect((await tokensWith(`${ADMIN} ${BASIC}`)).scope).toBe(`${ADMIN} ${BASIC}`);
    expect((await tokensWith(undefined)).scope).toBe(BASIC);
  });

  it('an approval of the basic scope does not approve a larger one in the same browser', async () => {
    const other = await register(base, { client_name: 'Scoped Client' });
    const browser = new Browser();
    await signIn(base, other, { browser, extra: { scope: BASIC } });
    const idp = new URL(stack.idp.issuer).origin;
    const silent = async (scope: string) => (await browser.get(await authorizeUrl(base, other, { scope }))).location?.origin === idp;
    // Control: the approved scope goes straight to the identity provider, without a prompt.
    expect(await silent(BASIC)).toBe(true);

    const larger = await browser.get(await authorizeUrl(base, other, { scope: `${BASIC} ${ADMIN}` }));
    expect(isConsentPage(larger)).toBe(true);
    expect(larger.body).toContain(`<code>${BASIC} ${ADMIN}</code>`);

    // Once approved, the larger scope covers itself and the smaller ones.
    await signIn(base, other, { browser, extra: { scope: `${BASIC} ${ADMIN}` } });
    expect(await silent(`${BASIC} ${ADMIN}`)).toBe(true);
    expect(await silent(ADMIN)).toBe(true);
    expect(await silent(BASIC)).toBe(true);
  });
});
