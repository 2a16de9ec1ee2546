import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedIdp } from '../../src/dev/embedded-idp.js';
import type { EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { Browser, driveLogin } from '../support/browser.js';

// Nothing listens here: the browser must stop before fetching it, as an MCP client's loopback catcher would.
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const CLIENT = { client_id: 'proxy', client_secret: 'proxy-secret', redirect_uris: [REDIRECT_URI] };
const basicAuth = `Basic ${btoa(`${CLIENT.client_id}:${CLIENT.client_secret}`)}`;

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

async function pkcePair() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}

function decodeJwtPayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function token(issuer: string, params: Record<string, string>, auth = basicAuth) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('embedded IdP', () => {
  let idp: EmbeddedIdp;

  beforeAll(async () => {
    idp = await startEmbeddedIdp({
      clients: [
        CLIENT,
        { client_id: 'robot', client_secret: 'robot-secret', redirect_uris: [], grant_types: ['client_credentials'] },
      ],
      accessTokenTtlSeconds: 120,
    });
  });
  afterAll(() => idp.close());

  // offline_access as the proxy asks for it; without prompt=consent the IdP drops it but still issues a refresh token.
  function authorizeUrl(challenge: string | undefined, extra: Record<string, string> = {}): URL {
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: CLIENT.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid email profile offline_access',
      state: 'state-123',
      nonce: 'nonce-456',
      ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
      ...extra,
    }).toString();
    return url;
  }

  async function login(name: string) {
    const { verifier, challenge } = await pkcePair();
    const callback = await driveLogin(new Browser(), authorizeUrl(challenge), {
      login: name,
      stopAt: (url) => url.href.startsWith(REDIRECT_URI),
    });
    return { callback, verifier };
  }

  it('serves a discovery document for a loopback http issuer', async () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata['issuer']).toBe(idp.issuer);
    expect(metadata['token_endpoint']).toBe(`${idp.issuer}/token`);
    expect(metadata['code_challenge_methods_supported']).toEqual(['S256']);
    expect(metadata['grant_types_supported']).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    expect(metadata['scopes_supported']).toEqual(expect.arrayContaining(['openid', 'email', 'profile', 'offline_access']));
    expect(metadata['revocation_endpoint']).toBe(`${idp.issuer}/token/revocation`);
  });

  it('revokes a refresh token (RFC 7009), ending its grant', async () => {
    const { callback, verifier } = await login('revoked-at-the-idp');
    const { body } = await token(idp.issuer, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    const revocation = await fetch(`${idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: body['refresh_token'] as string, token_type_hint: 'refresh_token' }),
    });
    expect(revocation.status).toBe(200);
    const refresh = await token(idp.issuer, { grant_type: 'refresh_token', refresh_token: body['refresh_token'] as string });
    expect(refresh.body['error']).toBe('invalid_grant');
    const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${String(body['access_token'])}` } });
    expect(userinfo.status).toBe(401);
  });

  it('signs in with any login and issues access, ID and refresh tokens without offline_access', async () => {
    const { callback, verifier } = await login('alice');
    expect(callback.searchParams.get('state')).toBe('state-123');
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    const code = callback.searchParams.get('code');
    expect(code).toBeTruthy();

    const { status, body } = await token(idp.issuer, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(status).toBe(200);
    expect(body['token_type']).toBe('Bearer');
    expect(body['expires_in']).toBe(120);
    expect(typeof body['access_token']).toBe('string');
    expect(typeof body['refresh_token']).toBe('string');
    expect(body['scope']).toBe('openid email profile');

    const claims = decodeJwtPayload(body['id_token'] as string);
    expect(claims).toMatchObject({
      iss: idp.issuer,
      aud: 'proxy',
      sub: 'alice',
      nonce: 'nonce-456',
      email: 'alice@example.test',
      email_verified: true,
      name: 'Alice',
    });

    const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${String(body['access_token'])}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: 'alice', email: 'alice@example.test', name: 'Alice' });

    const refreshed = await token(idp.issuer, { grant_type: 'refresh_token', refresh_token: body['refresh_token'] as string });
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body['access_token']).toBe('string');
    expect(refreshed.body['access_token']).not.toBe(body['access_token']);
    expect(decodeJwtPayload(refreshed.body['id_token'] as string)['email']).toBe('alice@example.test');
    const again = await fetch(`${idp.issuer}/me`, {
      headers: { authorization: `Bearer ${String(refreshed.body['access_token'])}` },
    });
    expect(await again.json()).toMatchObject({ sub: 'alice' });
  });

  it('refuses a wrong PKCE verifier, and on code reuse revokes what the code produced', async () => {
    const { callback, verifier } = await login('bob');
    const code = callback.searchParams.get('code')!;
    const exchange = (codeVerifier: string) =>
      token(idp.issuer, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: codeVerifier });

    const wrong = await exchange(base64url(crypto.getRandomValues(new Uint8Array(32))));
    expect(wrong.status).toBe(400);
    expect(wrong.body['error']).toBe('invalid_grant');

    const right = await exchange(verifier);
    expect(right.status).toBe(200);
    const userinfo = () =>
      fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${String(right.body['access_token'])}` } });
    expect((await userinfo()).status).toBe(200);

    const reused = await exchange(verifier);
    expect(reused.status).toBe(400);
    expect(reused.body['error']).toBe('invalid_grant');
    expect((await userinfo()).status).toBe(401);
    const refresh = await token(idp.issuer, { grant_type: 'refresh_token', refresh_token: right.body['refresh_token'] as string });
    expect(refresh.body['error']).toBe('invalid_grant');
  });

  it('requires PKCE on every authorization request, even from a confidential client', async () => {
    const outcome = await new Browser().followRedirects(authorizeUrl(undefined), {
      stopWhen: (url) => url.href.startsWith(REDIRECT_URI),
    });
    expect(outcome.stopped).toBe(true);
    expect(outcome.url.searchParams.get('error')).toBe('invalid_request');
    expect(outcome.url.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('keeps a browser signed in: a second authorization skips the login form', async () => {
    const browser = new Browser();
    const stopAt = (url: URL) => url.href.startsWith(REDIRECT_URI);
    const first = await driveLogin(browser, authorizeUrl((await pkcePair()).challenge), { login: 'carol', stopAt });
    expect(first.searchParams.get('code')).toBeTruthy();
    // Over plain http the provider must not mark its session cookie Secure, or no browser would keep it.
    expect(browser.cookies.all().find((c) => c.name === '_session')).toMatchObject({ secure: false, httpOnly: true });
    const second = await browser.followRedirects(authorizeUrl((await pkcePair()).challenge), { stopWhen: stopAt });
    expect(second.stopped).toBe(true);
    expect(second.url.searchParams.get('code')).toBeTruthy();
  });

  it('issues client_credentials tokens to a client allowed that grant', async () => {
    const { status, body } = await token(idp.issuer, { grant_type: 'client_credentials' }, `Basic ${btoa('robot:robot-secret')}`);
    expect(status).toBe(200);
    expect(typeof body['access_token']).toBe('string');
    expect(body['expires_in']).toBe(120);
    expect(body['refresh_token']).toBeUndefined();
  });

  it('closes promptly even with keep-alive connections open and a request in progress', async () => {
    const other = await startEmbeddedIdp({ clients: [CLIENT] });
    // A token request whose body never ends: a close that waited for it would wait out the server's
    // request timeout (minutes), far beyond this test's own timeout.
    const { hostname, port, host } = new URL(other.issuer);
    const held = connect(Number(port), hostname);
    // Cut by the server: a reset is how it ends.
    held.on('error', () => {});
    const ended = new Promise((resolve) => held.once('close', resolve));
    await new Promise<void>((resolve) => held.write(`POST /token HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=`, () => resolve()));
    // Answered after the request above reached the server, on a connection fetch keeps alive.
    expect((await fetch(`${other.issuer}/.well-known/openid-configuration`)).status).toBe(200);
    await other.close();
    await ended;
    await expect(fetch(`${other.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
  });
});

describe('embedded IdP configuration errors', () => {
  it('rejects a client the provider cannot accept', async () => {
    await expect(
      startEmbeddedIdp({ clients: [{ client_id: 'bad', redirect_uris: ['not a url'] }] }),
    ).rejects.toThrow(/client "bad": redirect_uris/);
  });
});
