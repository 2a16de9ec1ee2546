import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapsuleCodec } from '../../src/crypto/capsule.js';
import { KeyRing } from '../../src/crypto/keyring.js';
import { Browser } from '../support/browser.js';
import { manualClock } from '../support/deps.js';
import { authorizeUrl, mcpPost, redeemCode, register, signIn, tokenRequest, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/** The security invariants, one test each, against the real stack. */
describe('security invariants', () => {
  const clock = manualClock(Date.now());
  let stack: Stack;
  let base: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    stack = await Stack.start({ clock, downstreamAuth: 'identity-headers' });
    base = stack.publicUrl;
    client = await register(base);
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function tokensFor(login = 'alice') {
    const callback = await signIn(base, client, { login });
    const code = callback.searchParams.get('code')!;
    const response = await redeemCode(base, client, code);
    expect(response.status).toBe(200);
    return { code, ...(response.body as { access_token: string; refresh_token: string }) };
  }

  it('shows an error page, never a redirect, for an unregistered redirect_uri or unknown client', async () => {
    const browser = new Browser();
    for (const extra of [
      { redirect_uri: 'http://127.0.0.1:1/other' },
      { redirect_uri: 'https://attacker.example/callback' },
      { redirect_uri: 'http://127.0.0.1:1/callback#frag' },
      { client_id: 'not-a-client' },
      { client_id: undefined },
    ]) {
      const page = await browser.get(await authorizeUrl(base, client, extra));
      expect(page.status).toBeGreaterThanOrEqual(400);
      expect(page.location).toBeUndefined();
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(page.body).not.toContain('attacker.example');
    }
  });

  it('accepts a registered loopback redirect URI on any port', async () => {
    const callback = await signIn(base, { ...client, redirect_uris: ['http://127.0.0.1:4567/callback'] }, {
      extra: { redirect_uri: 'http://127.0.0.1:4567/callback' },
    });
    expect(callback.host).toBe('127.0.0.1:4567');
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it('requires PKCE S256 and refuses plain, by redirect with state and iss', async () => {
    const browser = new Browser();
    for (const extra of [{ code_challenge: undefined }, { code_challenge_method: 'plain' }, { code_challenge_method: undefined }]) {
      const page = await browser.get(await authorizeUrl(base, client, extra));
      expect(page.status).toBe(302);
      const location = page.location!;
      expect(location.href.startsWith('http://127.0.0.1:1/callback')).toBe(true);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('state')).toBe('client-state-123');
      expect(location.searchParams.get('iss')).toBe(base);
    }
  });

  it('refuses a wrong code_verifier without spending the code', async () => {
    const callback = await signIn(base, client);
    const code = callback.searchParams.get('code')!;
    const wrong = await redeemCode(base, client, code, { code_verifier: 'x'.repeat(50) });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    const missing = await redeemCode(base, client, code, { code_verifier: undefined });
    expect(missing.body.error).toBe('invalid_request');
    expect((await redeemCode(base, client, code)).status).toBe(200);
  });

  // Code replay and refresh-token reuse: test/security/regressions.test.ts.

  it('answers 401 with a resource_metadata challenge, error="invalid_token" only for bad tokens', async () => {
    const missing = await mcpPost(stack.mcpUrl, undefined);
    expect(missing.status).toBe(401);
    const challenge = missing.headers.get('www-authenticate')!;
    expect(challenge).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    const { access_token } = await tokensFor();
    const tampered = access_token.slice(0, -4) + (access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const bad = await mcpPost(stack.mcpUrl, tampered, undefined, { origin: 'https://client.example' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="[^"]+", error="invalid_token"/);
    // Browser clients can read the challenge.
    expect(bad.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/i);
    // Tokens in the query string are never accepted.
    const query = await mcpPost(`${stack.mcpUrl}?access_token=${access_token}`, undefined);
    expect(query.status).toBe(401);
  });

  it('refuses a token minted for another audience, and a code or refresh token used as an access token', async () => {
    const keys = await KeyRing.create(stack.config.keys);
    const codec = new CapsuleCodec(keys, clock);
    const now = codec.nowSeconds();
    const foreign = await codec.seal('access', {
      identity: { sub: 'alice' },
      upstream: { access_token: 'x' },
      cid: 'c',
      scope: '',
      aud: 'https://other.example.com/mcp',
      gid: 'g',
      jti: 'j',
      iat: now,
      exp: now + 600,
    });
    expect((await mcpPost(stack.mcpUrl, foreign)).status).toBe(401);
    const { refresh_token } = await tokensFor();
    expect((await mcpPost(stack.mcpUrl, refresh_token)).status).toBe(401);
  });

  it('refuses the raw upstream token at /mcp (no token passthrough)', async () => {
    const { access_token } = await tokensFor('dave');
    const before = stack.demo.requests.length;
    expect((await mcpPost(stack.mcpUrl, access_token)).status).toBe(200);
    const upstreamToken = stack.demo.requests.slice(before).at(-1)!.headers['x-forwarded-access-token']!;
    expect(upstreamToken).toBeTruthy();
    expect((await mcpPost(stack.mcpUrl, upstreamToken)).status).toBe(401);
  });

  it('never forwards the client token or cookies, and strips spoofed identity headers', async () => {
    const { access_token } = await tokensFor('erin');
    const before = stack.demo.requests.length;
    const response = await mcpPost(stack.mcpUrl, access_token, undefined, {
      'x-forwarded-user': 'admin',
      'X-Forwarded-Email': 'admin@corp.example',
      'x-forwarded-name': 'Admin',
      'x-forwarded-access-token': 'spoofed',
      cookie: 'capsule-consent=secret-cookie',
    });
    expect(response.status).toBe(200);
    const seen = stack.demo.requests.slice(before).at(-1)!.headers;
    expect(seen['x-forwarded-user']).toBe('erin');
    expect(seen['x-forwarded-email']).toBe('erin@example.test');
    expect(seen['x-forwarded-name']).toBe('Erin');
    expect(seen['x-forwarded-access-token']).not.toBe('spoofed');
    expect(seen.authorization).toBeUndefined();
    expect(seen.cookie).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(access_token);
  });

  it('protects consent: framing blocked, CSRF-bound to the browser, Origin checked, deny returns access_denied', async () => {
    const browser = new Browser();
    const page = await browser.get(await authorizeUrl(base, client));
    expect(page.status).toBe(200);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(page.body).toContain('Flow Test Client');
    expect(page.body).toContain('127.0.0.1:1');
    const binding = browser.cookies.header(new URL(base));
    expect(binding).toMatch(/capsule-binding=/);

    // The same form posted from a browser without the binding cookie is refused.
    const attacker = new Browser();
    const forged = await attacker.submitForm(page.body, page.url, { button: { name: 'decision', value: 'approve' } });
    expect(forged.status).toBe(403);
    expect(forged.location).toBeUndefined();
    // A cross-site post is refused even with the cookie.
    const form = new URLSearchParams({ request: /name="request" value="([^"]+)"/.exec(page.body)![1]!, decision: 'approve' });
    const crossSite = await browser.request(`${base}/consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: form.toString(),
    });
    expect(crossSite.status).toBe(403);

    const denied = await browser.submitForm(page.body, page.url, { button: { name: 'decision', value: 'deny' } });
    expect(denied.status).toBe(303);
    expect(denied.location!.searchParams.get('error')).toBe('access_denied');
    expect(denied.location!.searchParams.get('state')).toBe('client-state-123');
    expect(denied.location!.searchParams.get('iss')).toBe(base);
  });

  it('remembers consent per browser and per client, not for a newly registered client', async () => {
    const browser = new Browser();
    await signIn(base, client, { browser });
    const again = await browser.get(await authorizeUrl(base, client));
    expect(again.status).toBe(302);
    expect(again.location!.origin).toBe(new URL(stack.idp.issuer).origin);
    const other = await register(base, { client_name: 'Another Client' });
    const otherPage = await browser.get(await authorizeUrl(base, other));
    expect(otherPage.status).toBe(200);
    expect(otherPage.body).toContain('Another Client');
  });

  it('keys consent on the registered redirect URI: any loopback port is covered, another URI is not', async () => {
    const browser = new Browser();
    const twoUris = await register(base, { redirect_uris: ['http://127.0.0.1:1/callback', 'https://app.example/cb'] });
    await signIn(base, twoUris, { browser });
    const otherPort = await browser.get(await authorizeUrl(base, twoUris, { redirect_uri: 'http://127.0.0.1:4444/callback' }));
    expect(otherPort.status).toBe(302);
    expect(otherPort.location!.origin).toBe(new URL(stack.idp.issuer).origin);
    const otherUri = await browser.get(await authorizeUrl(base, twoUris, { redirect_uri: 'https://app.example/cb' }));
    expect(otherUri.status).toBe(200);
    expect(otherUri.body).toContain('app.example');
  });

  it('marks token and registration responses no-store and answers invalid_client with 401 + WWW-Authenticate', async () => {
    const confidential = await register(base, { token_endpoint_auth_method: 'client_secret_basic' });
    const reg = await fetch(`${base}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/callback'] }),
    });
    expect(reg.headers.get('cache-control')).toBe('no-store');
    const basic = Buffer.from(`${encodeURIComponent(confidential.client_id)}:wrong-secret-wrong-secret-wrong-secret-000`).toString('base64');
    const refused = await tokenRequest(base, { grant_type: 'authorization_code', code: 'x', code_verifier: 'y'.repeat(43) }, { authorization: `Basic ${basic}` });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });
});
