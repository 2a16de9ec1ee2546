import { request as httpRequest } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_REUSE_GRACE_SECONDS } from '../../src/oauth/grants.js';
import { Browser, parseForms, type Page } from '../support/browser.js';
import { manualClock } from '../support/deps.js';
import { authorizeUrl, CLIENT_REDIRECT, mcpPost, redeemCode, register, signIn, tokenRequest, VERIFIER, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';
import { fakeOidcProvider, type FakeOidcProvider } from '../faults/fake-oidc.js';

/**
 * One test per known failure of MCP OAuth proxies, each played from the attacker's side
 * against the real stack (oidc-provider upstream, SDK demo MCP server downstream, the proxy on a
 * real port). Each asserts the attack fails, and where it helps, a control shows the same path
 * works for the legitimate party, so the test would fail if the defence were removed.
 * Several repeat, deliberately and briefly, checks found elsewhere (test/integration/*):
 * this file is the one list of every known failure.
 */
const LAX_IDP = 'https://lax-email-idp.test';
const ATTACKER_REDIRECT = 'https://attacker.example/steal';

describe('security regressions: known failures of MCP OAuth proxies', () => {
  const clock = manualClock(Date.now());
  const msw = setupServer();
  let laxIdp: FakeOidcProvider;
  let stack: Stack;
  let base: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    // A provider that lets users type any email and says so (email_verified: false); played by msw.
    laxIdp = await fakeOidcProvider(LAX_IDP, 'proxy-at-lax');
    msw.use(...laxIdp.handlers);
    msw.listen({ onUnhandledRequest: 'bypass' });
    stack = await Stack.start({
      clock,
      extra: { upstreams: { lax: { issuer: LAX_IDP, clientId: 'proxy-at-lax', clientSecret: 'lax-idp-client-secret' } } },
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/team', url: demoUrl, auth: 'identity-headers', timeout: 2 },
        { path: '/vip', url: demoUrl, auth: 'identity-headers', upstream: 'lax', policy: { emails: ['boss@corp.test'] } },
      ],
    });
    base = stack.publicUrl;
    client = await register(base);
  });
  afterAll(async () => {
    await stack?.close();
    msw.close();
  });

  async function tokensFor(options: { login?: string; route?: string; browser?: Browser; forClient?: RegisteredClient } = {}) {
    const forClient = options.forClient ?? client;
    const resource = `${base}${options.route ?? '/mcp'}`;
    const callback = await signIn(base, forClient, { login: options.login ?? 'alice', extra: { resource }, ...(options.browser ? { browser: options.browser } : {}) });
    const code = callback.searchParams.get('code')!;
    expect(code, `sign-in failed: ${callback.href}`).toBeTruthy();
    const response = await redeemCode(base, forClient, code, { resource });
    expect(response.status).toBe(200);
    return { code, access_token: response.body.access_token as string, refresh_token: response.body.refresh_token as string };
  }

  const isConsentPage = (page: Page) =>
    page.status === 200 && parseForms(page.body, page.url).some((form) => form.buttons.some((button) => button.name === 'decision'));

  it('confused deputy: a client the user never approved gets no code, although the user is signed in upstream and the proxy is a known upstream client', async () => {
    const victim = new Browser();
    await tokensFor({ browser: victim });
    // Control: the approved client now goes through without a single prompt (IdP session + stored consent).
    const silent = await victim.followRedirects(await authorizeUrl(base, client), { stopWhen: (url) => url.href.startsWith(CLIENT_REDIRECT) });
    expect(silent.stopped).toBe(true);

    const attacker = await register(base, { client_name: 'Helpful MCP Client', redirect_uris: [ATTACKER_REDIRECT] });
    const outcome = await victim.followRedirects(await authorizeUrl(base, attacker, { redirect_uri: ATTACKER_REDIRECT }), {
      stopWhen: (url) => url.hostname === 'attacker.example',
    });
    expect(outcome.stopped).toBe(false);
    const page = (outcome as { page: Page }).page;
    expect(page.url.pathname).toBe('/authorize');
    expect(isConsentPage(page)).toBe(true);
    // The user is shown where the code would go.
    expect(page.body).toContain('attacker.example');
  });

  it('consent CSRF: an approval form fetched by the attacker cannot be submitted from the victim browser', async () => {
    const attackerClient = await register(base, { redirect_uris: [ATTACKER_REDIRECT] });
    const attackerBrowser = new Browser();
    const page = await attackerBrowser.get(await authorizeUrl(base, attackerClient, { redirect_uri: ATTACKER_REDIRECT }));
    const request = /name="request" value="([^"]+)"/.exec(page.body)![1]!;

    const victim = new Browser();
    await victim.get(await authorizeUrl(base, client)); // the victim holds a binding cookie of its own
    for (const origin of ['https://attacker.example', base, undefined]) {
      const forged = await victim.request(`${base}/consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
        body: new URLSearchParams({ request, decision: 'approve' }).toString(),
      });
      expect(forged.status, `origin ${origin}`).toBe(403);
      expect(forged.location).toBeUndefined();
    }
    // Control: the same form from the browser that started it is accepted.
    const own = await attackerBrowser.submitForm(page.body, page.url, { button: { name: 'decision', value: 'approve' } });
    expect(own.status).toBe(303);
  });

  it('consent cookie replay: an approval for one client covers no other client, in the same browser or copied to another', async () => {
    const victim = new Browser();
    await signIn(base, client, { browser: victim });
    const again = await victim.get(await authorizeUrl(base, client));
    expect(again.status).toBe(302); // control: remembered for the approved client
    const attackerClient = await register(base, { redirect_uris: [ATTACKER_REDIRECT] });
    expect(isConsentPage(await victim.get(await authorizeUrl(base, attackerClient, { redirect_uri: ATTACKER_REDIRECT })))).toBe(true);

    const consentCookie = victim.cookies.all().find((cookie) => /consent/.test(cookie.name))!;
    expect(consentCookie).toBeDefined();
    const thief = new Browser();
    thief.cookies.store(new URL(base), `${consentCookie.name}=${consentCookie.value}; Path=/${consentCookie.secure ? '; Secure' : ''}`);
    expect(isConsentPage(await thief.get(await authorizeUrl(base, attackerClient, { redirect_uri: ATTACKER_REDIRECT })))).toBe(true);
  });

  describe('redirect URI tricks', () => {
    let webClient: RegisteredClient;
    beforeAll(async () => {
      webClient = await register(base, { redirect_uris: ['https://app.example/cb', 'http://127.0.0.1:1/callback'] });
    });

    it.each([
      ['userinfo "@" (host confusion)', ['https://app.example@attacker.example/cb', 'https://attacker@app.example/cb']],
      ['case', ['https://APP.example/cb', 'https://app.example/CB', 'HTTPS://app.example/cb']],
      ['trailing slash', ['https://app.example/cb/', 'https://app.example/cb//']],
      ['loopback port rule on a non-loopback host', ['https://app.example:8443/cb', 'http://127.0.0.1.attacker.example:1/callback', 'http://localhost:1/callback']],
      ['fragment', ['https://app.example/cb#x', 'http://127.0.0.1:1/callback#x']],
      ['scheme', ['http://app.example/cb', 'javascript://app.example/cb', 'cursor://app.example/cb', 'https://127.0.0.1:1/callback']],
      ['path and query', ['https://app.example/cb/../steal', 'https://app.example/cb?next=https://attacker.example']],
    ])('redirect URI trick (%s): an error page, never a redirect', async (_name, tricks) => {
      const browser = new Browser();
      for (const redirectUri of tricks) {
        const page = await browser.get(await authorizeUrl(base, webClient, { redirect_uri: redirectUri }));
        expect(page.status, redirectUri).toBe(400);
        expect(page.location).toBeUndefined();
        expect(page.body).not.toContain('attacker.example');
      }
      // Control: the registered URIs themselves work.
      expect(isConsentPage(await browser.get(await authorizeUrl(base, webClient, { redirect_uri: 'https://app.example/cb' })))).toBe(true);
    });

    it('redirect URI trick at registration: userinfo, fragments, dangerous schemes and plain http are refused', async () => {
      for (const uri of ['https://u:p@app.example/cb', 'https://app.example/cb#f', 'javascript:alert(1)', 'data:text/html,x', 'http://app.example/cb', 'myapp://cb']) {
        const response = await fetch(`${base}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: [uri], token_endpoint_auth_method: 'none' }),
        });
        expect(response.status, uri).toBe(400);
        expect(((await response.json()) as { error: string }).error).toBe('invalid_redirect_uri');
      }
    });
  });

  it('PKCE downgrade: plain or missing challenges are refused, and a code needs its S256 verifier', async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as { code_challenge_methods_supported: string[] };
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    const browser = new Browser();
    for (const extra of [{ code_challenge_method: 'plain', code_challenge: VERIFIER }, { code_challenge: undefined, code_challenge_method: undefined }, { code_challenge_method: undefined }]) {
      const page = await browser.get(await authorizeUrl(base, client, extra));
      expect(page.status).toBe(302);
      expect(page.location!.searchParams.get('error')).toBe('invalid_request');
      expect(page.location!.searchParams.has('code')).toBe(false);
    }
    const code = (await signIn(base, client)).searchParams.get('code')!;
    expect((await redeemCode(base, client, code, { code_verifier: undefined })).status).toBe(400);
    const challenge = (await authorizeUrl(base, client)).searchParams.get('code_challenge')!;
    expect((await redeemCode(base, client, code, { code_verifier: challenge })).body.error).toBe('invalid_grant');
    expect((await redeemCode(base, client, code)).status).toBe(200);
  });

  it('code replay: a second redemption fails and revokes what the first one issued', async () => {
    const { code, access_token } = await tokensFor();
    expect((await mcpPost(stack.mcpUrl, access_token)).status).toBe(200);
    const replay = await redeemCode(base, client, code);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect((await mcpPost(stack.mcpUrl, access_token)).status).toBe(401);
  });

  it('refresh replay: reusing a rotated refresh token fails and ends the whole grant', async () => {
    const first = await tokensFor();
    const refresh = (token: string) => tokenRequest(base, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id });
    const rotated = await refresh(first.refresh_token);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(first.refresh_token);
    clock.advance(REFRESH_REUSE_GRACE_SECONDS + 1);
    const replay = await refresh(first.refresh_token);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect((await refresh(rotated.body.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await mcpPost(stack.mcpUrl, rotated.body.access_token as string)).status).toBe(401);
  });

  it('token passthrough: an upstream IdP token is refused at /mcp, and the proxy token never reaches the downstream', async () => {
    const { access_token } = await tokensFor({ login: 'dave' });
    const before = stack.demo.requests.length;
    expect((await mcpPost(stack.mcpUrl, access_token)).status).toBe(200);
    const seen = stack.demo.requests.slice(before);
    expect(JSON.stringify(seen)).not.toContain(access_token);
    const upstreamToken = seen.at(-1)!.headers.authorization!.replace(/^Bearer /, '');
    // Control: it is a live token of the identity provider.
    expect((await fetch(`${stack.idp.issuer}/me`, { headers: { authorization: `Bearer ${upstreamToken}` } })).status).toBe(200);
    const refused = await mcpPost(stack.mcpUrl, upstreamToken);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(stack.demo.requests.length).toBe(before + 1);
  });

  it('token for another route: a token minted for one MCP server is refused at another, and cannot be refreshed into one', async () => {
    const mcp = await tokensFor({ route: '/mcp' });
    const team = await tokensFor({ route: '/team' });
    expect((await mcpPost(`${base}/team`, mcp.access_token)).status).toBe(401);
    expect((await mcpPost(`${base}/mcp`, team.access_token)).status).toBe(401);
    expect((await mcpPost(`${base}/team`, team.access_token)).status).toBe(200);
    const retarget = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: mcp.refresh_token, client_id: client.client_id, resource: `${base}/team` });
    expect(retarget.status).toBe(400);
    expect(retarget.body.error).toBe('invalid_target');
  });

  it('spoofed X-Forwarded-*: X-Forwarded-For does not reset the registration limit, and client-sent identity headers never reach the downstream', async () => {
    const limited = await stack.startSibling({ settings: { registration: { perMinute: 2 }, trustProxyHops: 0 } });
    const registerAt = (headers: Record<string, string> = {}) =>
      fetch(`${limited.url}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ redirect_uris: [CLIENT_REDIRECT], token_endpoint_auth_method: 'none' }),
      });
    expect((await registerAt()).status).toBe(201);
    expect((await registerAt()).status).toBe(201);
    for (const xff of ['203.0.113.7', '198.51.100.1, 203.0.113.8', '127.0.0.2']) {
      expect((await registerAt({ 'x-forwarded-for': xff, 'x-real-ip': xff, forwarded: `for=${xff}` })).status).toBe(429);
    }

    const { access_token } = await tokensFor({ route: '/team', login: 'erin' });
    const before = stack.demo.requests.length;
    const response = await mcpPost(`${base}/team`, access_token, undefined, {
      'X-Forwarded-User': 'admin',
      'x-forwarded-email': 'admin@corp.test',
      'x-forwarded-groups': 'admins',
      'x-forwarded-preferred-username': 'admin',
      'x-forwarded-access-token': 'spoofed-upstream-token',
    });
    expect(response.status).toBe(200);
    const seen = stack.demo.requests.slice(before).at(-1)!.headers;
    expect(seen['x-forwarded-user']).toBe('erin');
    expect(seen['x-forwarded-email']).toBe('erin@example.test');
    expect(seen['x-forwarded-groups']).toBeUndefined();
    expect(seen['x-forwarded-preferred-username']).toBeUndefined();
    expect(seen['x-forwarded-access-token']).not.toBe('spoofed-upstream-token');
    expect(seen.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain('admin');
  });

  it('unverified email used for policy: an address the provider did not verify grants nothing', async () => {
    const vip = `${base}/vip`;
    laxIdp.identity = { sub: 'mallory', email: 'boss@corp.test', email_verified: false, name: 'Mallory' };
    const denied = await signIn(base, client, { extra: { resource: vip } });
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('code')).toBeNull();
    expect(stack.logs.auditEvents.some((event) => event.event === 'login_denied' && (event.user as { sub?: string }).sub === 'mallory')).toBe(true);

    // Control: the same address, verified, is let in, and only then forwarded as X-Forwarded-Email.
    laxIdp.identity = { sub: 'boss', email: 'boss@corp.test', email_verified: true, name: 'Boss' };
    const allowed = await signIn(base, client, { extra: { resource: vip } });
    const tokens = await redeemCode(base, client, allowed.searchParams.get('code')!, { resource: vip });
    const before = stack.demo.requests.length;
    expect((await mcpPost(vip, tokens.body.access_token as string)).status).toBe(200);
    expect(stack.demo.requests.slice(before).at(-1)!.headers['x-forwarded-email']).toBe('boss@corp.test');
  });

  it('SSRF in client metadata fetches: URL client_ids naming loopback, private or link-local addresses are refused before any connection', async () => {
    let connections = 0;
    const listener: TcpServer = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const browser = new Browser();
      for (const clientId of [
        `https://127.0.0.1:${port}/client.json`,
        `https://localhost:${port}/client.json`,
        `https://[::1]:${port}/client.json`,
        `http://127.0.0.1:${port}/client.json`,
        `https://0x7f000001:${port}/client.json`,
        `https://127.1:${port}/client.json`,
        'https://169.254.169.254/latest/meta-data/client.json',
        'https://10.0.0.1/client.json',
        'https://[::ffff:127.0.0.1]/client.json',
      ]) {
        const url = await authorizeUrl(base, { client_id: clientId, redirect_uris: [CLIENT_REDIRECT], token_endpoint_auth_method: 'none' });
        const page = await browser.get(url);
        expect(page.status, clientId).toBeGreaterThanOrEqual(400);
        expect(page.location, clientId).toBeUndefined();
        // Refused by address, not after a connection attempt timed out.
        const refusals = stack.logs.lines
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => line.level === 'info' && line.msg === 'client metadata document refused' && line.client_id === clientId);
        expect(refusals.map((line) => line.detail), clientId).toEqual([expect.stringMatching(/^(invalid_client_id|fetch_failed: forbidden_address): /)]);
      }
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  it('issuer or resource derived from the Host header: forged Host and X-Forwarded-* change nothing the proxy publishes', async () => {
    const forged = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', forwarded: 'host=evil.example;proto=https' };
    const get = (path: string) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { headers: forged }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on('error', reject).end();
      });
    const as = await get('/.well-known/oauth-authorization-server');
    expect(as.status).toBe(200);
    expect(JSON.parse(as.body).issuer).toBe(base);
    expect(as.body).not.toContain('evil.example');
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const prm = await get(path);
      expect(JSON.parse(prm.body)).toMatchObject({ resource: `${base}/mcp`, authorization_servers: [base] });
    }
    const challenge = await get('/mcp');
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    const authorize = await get(`/authorize${(await authorizeUrl(base, client, { code_challenge_method: 'plain' })).search}`);
    expect(authorize.status).toBe(302);
    expect(new URL(authorize.headers.location as string).searchParams.get('iss')).toBe(base);
  });

  it("revocation of another client's token: refused, and the token keeps working", async () => {
    const victimTokens = await tokensFor();
    const attacker = await register(base);
    for (const token of [victimTokens.refresh_token, victimTokens.access_token]) {
      const response = await fetch(`${base}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: attacker.client_id }).toString(),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('unauthorized_client');
    }
    expect((await mcpPost(stack.mcpUrl, victimTokens.access_token)).status).toBe(200);
    const refreshed = await tokenRequest(base, { grant_type: 'refresh_token', refresh_token: victimTokens.refresh_token, client_id: client.client_id });
    expect(refreshed.status).toBe(200);
  });

  it('unbounded registrations: a per-address limit with Retry-After, and a cap on what one registration may carry', async () => {
    const limited = await stack.startSibling({ settings: { registration: { perMinute: 3 } } });
    const registerAt = (body: unknown) =>
      fetch(`${limited.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const huge = await registerAt({ redirect_uris: Array.from({ length: 30 }, (_, i) => `https://app.example/${'x'.repeat(150)}/${i}`) });
    expect(huge.status).toBe(400);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await registerAt({ redirect_uris: [CLIENT_REDIRECT] })).status);
    expect(statuses.filter((status) => status === 201).length).toBeLessThanOrEqual(3);
    expect(statuses.slice(-2)).toEqual([429, 429]);
    const limitedResponse = await registerAt({ redirect_uris: [CLIENT_REDIRECT] });
    expect(Number(limitedResponse.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
