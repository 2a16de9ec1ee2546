import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { createUpstreamClient } from '../../src/upstream/create-upstream-client.js';
import { resolveUpstream, upstreamSettingsSchema } from '../../src/upstream/settings.js';
import { UpstreamError, type UpstreamClient, type UpstreamLoginSecrets } from '../../src/upstream/upstream-client.js';
import { Browser, driveLogin } from '../support/browser.js';

/**
 * OpenID Connect presets against a real provider (node oidc-provider on loopback):
 * the proxy's client builds the authorization URL, a headless browser signs in,
 * and the client redeems the code, validates the ID token and refreshes.
 */

// Nothing listens here: the browser stops before fetching it, as the proxy's callback would be reached.
const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback';
const CLIENT = { client_id: 'proxy', client_secret: 'proxy-secret-value', redirect_uris: [REDIRECT_URI] };
const ACCESS_TTL = 120;

function newSecrets(): UpstreamLoginSecrets {
  return { state: oauth.generateRandomState(), codeVerifier: oauth.generateRandomCodeVerifier(), nonce: oauth.generateRandomNonce() };
}

/** The global fetch, with every URL the client requested written down. */
function recordingFetch() {
  const urls: URL[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    urls.push(new URL(input instanceof Request ? input.url : String(input)));
    return fetch(input, init);
  };
  return { urls, fetchImpl };
}

async function signIn(client: UpstreamClient, login: string, secrets = newSecrets()) {
  const authorizationUrl = await client.authorizationUrl(secrets, REDIRECT_URI);
  const callback = await driveLogin(new Browser(), authorizationUrl, { login, stopAt: (url) => url.href.startsWith(REDIRECT_URI) });
  return { authorizationUrl, callback, secrets };
}

describe('oidc and google presets against a real OpenID provider', () => {
  let idp: EmbeddedIdp;
  const now = Date.now();
  const clock = () => now;

  beforeAll(async () => {
    idp = await startEmbeddedIdp({ clients: [CLIENT], accessTokenTtlSeconds: ACCESS_TTL });
  });
  afterAll(() => idp?.close());

  function client(input: Record<string, unknown>) {
    const recorder = recordingFetch();
    const settings = upstreamSettingsSchema.parse({ clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, ...input });
    return { ...recorder, client: createUpstreamClient(resolveUpstream(settings), { clock, fetch: recorder.fetchImpl }) };
  }

  it('oidc: discovers, signs in, validates the ID token, completes it from userinfo and refreshes', async () => {
    const { client: upstream, urls } = client({ issuer: idp.issuer });
    await upstream.ready();
    const { authorizationUrl, callback, secrets } = await signIn(upstream, 'alice');

    expect(authorizationUrl.origin).toBe(idp.issuer);
    const params = authorizationUrl.searchParams;
    expect(params.get('scope')).toBe('openid email profile');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toBe(await oauth.calculatePKCECodeChallenge(secrets.codeVerifier));
    expect(params.get('nonce')).toBe(secrets.nonce);
    expect(params.has('prompt')).toBe(false);

    const login = await upstream.completeLogin(callback, secrets, REDIRECT_URI);
    expect(login.identity).toEqual({ sub: 'alice', email: 'alice@example.test', email_verified: true, name: 'Alice', groups: ['users'] });
    expect(login.tokens.expires_at).toBe(Math.floor(now / 1000) + ACCESS_TTL);
    expect(login.tokens.refresh_token).toEqual(expect.any(String));
    // The ID token carries every mapped claim (groups included), so userinfo is not asked.
    expect(urls.map((url) => url.pathname)).not.toContain('/me');

    const refreshed = await upstream.refresh(login.tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(login.tokens.access_token);
    expect(refreshed.expires_at).toBe(Math.floor(now / 1000) + ACCESS_TTL);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
    expect(await userinfo.json()).toMatchObject({ sub: 'alice' });
  });

  it('google-shaped: sends access_type=offline and prompt=consent, and gets a refresh token', async () => {
    const { client: upstream, urls } = client({ provider: 'google', issuer: idp.issuer });
    const { authorizationUrl, callback, secrets } = await signIn(upstream, 'bob');

    const params = authorizationUrl.searchParams;
    expect(params.get('access_type')).toBe('offline');
    expect(params.get('prompt')).toBe('consent');
    expect(params.get('scope')).toBe('openid email profile');
    expect(params.get('client_id')).toBe(CLIENT.client_id);
    expect(params.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(params.get('state')).toBe(secrets.state);

    const login = await upstream.completeLogin(callback, secrets, REDIRECT_URI);
    expect(login.identity).toEqual({ sub: 'bob', email: 'bob@example.test', email_verified: true, name: 'Bob' });
    expect(login.tokens.refresh_token).toEqual(expect.any(String));
    // Google maps no groups claim, and the ID token has email and name: no userinfo request.
    expect(urls.map((url) => url.pathname)).not.toContain('/me');

    const refreshed = await upstream.refresh(login.tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));
    expect(refreshed.access_token).not.toBe(login.tokens.access_token);
  });

  it('refuses an ID token whose nonce is not the one this login sent', async () => {
    const { client: upstream } = client({ issuer: idp.issuer });
    const { callback, secrets } = await signIn(upstream, 'carol');
    const error = await upstream.completeLogin(callback, { ...secrets, nonce: oauth.generateRandomNonce() }, REDIRECT_URI).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('unavailable');
    expect((error as UpstreamError).detail).toMatch(/nonce/);
  });

  it('refuses a callback whose state is not this login\'s', async () => {
    const { client: upstream } = client({ issuer: idp.issuer });
    const { callback, secrets } = await signIn(upstream, 'dave');
    const error = await upstream.completeLogin(callback, { ...secrets, state: 'another-state' }, REDIRECT_URI).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).detail).toMatch(/state/);
  });

  it('maps a spent code and a dead refresh token to invalid_grant, without echoing them', async () => {
    const { client: upstream } = client({ issuer: idp.issuer });
    const { callback, secrets } = await signIn(upstream, 'erin');
    const login = await upstream.completeLogin(callback, secrets, REDIRECT_URI);

    const replay = await upstream.completeLogin(callback, secrets, REDIRECT_URI).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(UpstreamError);
    expect((replay as UpstreamError).kind).toBe('invalid_grant');

    const bogus = 'not-a-refresh-token-0123456789';
    const refresh = await upstream.refresh(bogus).catch((e: unknown) => e);
    expect(refresh).toBeInstanceOf(UpstreamError);
    expect((refresh as UpstreamError).kind).toBe('invalid_grant');
    for (const error of [replay, refresh] as UpstreamError[]) {
      const text = `${error.message} ${error.detail}`;
      expect(text).not.toContain(bogus);
      expect(text).not.toContain(callback.searchParams.get('code')!);
      expect(text).not.toContain(CLIENT.client_secret);
      expect(text).not.toContain(login.tokens.access_token);
    }
  });

  it('maps the user refusing at the provider to denied', async () => {
    const { client: upstream } = client({ issuer: idp.issuer });
    const secrets = newSecrets();
    const callback = new URL(REDIRECT_URI);
    callback.search = new URLSearchParams({ error: 'access_denied', state: secrets.state, iss: idp.issuer }).toString();
    const error = await upstream.completeLogin(callback, secrets, REDIRECT_URI).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('denied');
  });
});
