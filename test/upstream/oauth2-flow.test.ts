import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import * as oauth from 'oauth4webapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamClient } from '../../src/upstream/create-upstream-client.js';
import { resolveUpstream, upstreamSettingsSchema } from '../../src/upstream/settings.js';
import { UpstreamError, type UpstreamLoginSecrets } from '../../src/upstream/upstream-client.js';

/**
 * The oauth2 preset: hand-configured endpoints, no ID token, the identity read
 * from a userinfo document with its own claim names, mapped by configuration.
 */

const SSO = 'https://sso.test';
const REDIRECT_URI = 'https://mcp.example.test/oauth/callback';
const CLIENT_ID = 'mcp-proxy';
const CLIENT_SECRET = 'oauth2-client-secret';

const USERS: Record<string, unknown> = {
  'at-alice': {
    data: { user: { id: 981, mail: 'alice@corp.test', mailConfirmed: true, display: 'Alice Example' } },
    roles: ['mcp-admins', 'Domain Users'],
  },
  'at-mallory': {
    data: { user: { id: 'u-666', mail: 'ceo@corp.test', mailConfirmed: false } },
    roles: 'mcp-users',
  },
  'at-nobody': { data: { user: { mail: 'x@corp.test' } } },
};

const tokenRequests: Request[] = [];

/** RFC 6749 2.3.1: Basic credentials are form-encoded before base64 (oauth4webapi encodes even "-"). */
function hasClientCredentials(request: Request): boolean {
  const basic = /^Basic (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  if (!basic) return false;
  const [id, secret] = atob(basic).split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
  return id === CLIENT_ID && secret === CLIENT_SECRET;
}
const userinfoRequests: Request[] = [];

const server = setupServer(
  http.post(`${SSO}/oauth/token`, async ({ request }) => {
    tokenRequests.push(request.clone());
    const body = new URLSearchParams(await request.text());
    if (!hasClientCredentials(request)) {
      return HttpResponse.json({ error: 'invalid_client' }, { status: 401 });
    }
    if (body.get('grant_type') === 'refresh_token') {
      return body.get('refresh_token') === 'rt-good'
        ? HttpResponse.json({ access_token: 'at-alice', token_type: 'Bearer', expires_in: 600 })
        : HttpResponse.json({ error: 'invalid_grant', error_description: 'refresh token revoked' }, { status: 400 });
    }
    const code = body.get('code') ?? '';
    const accessToken = code.replace(/^code-/, 'at-');
    // An unexpected id_token from a provider that is not OIDC is dropped, never half-validated.
    return HttpResponse.json({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-good', id_token: 'not.a.jwt' });
  }),
  http.get(`${SSO}/api/me`, ({ request }) => {
    userinfoRequests.push(request.clone());
    const user = USERS[request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''];
    return user ? HttpResponse.json(user) : HttpResponse.json({ message: 'unauthorized' }, { status: 401 });
  }),
);

const NOW = Date.UTC(2025, 5, 1);

function oauth2Client(extra: Record<string, unknown> = {}) {
  const settings = upstreamSettingsSchema.parse({
    provider: 'oauth2',
    authorizationUrl: `${SSO}/oauth/authorize?tenant=corp`,
    tokenUrl: `${SSO}/oauth/token`,
    userinfoUrl: `${SSO}/api/me`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scopes: 'profile:read email',
    claims: {
      subject: 'data.user.id',
      email: 'data.user.mail',
      emailVerified: 'data.user.mailConfirmed',
      name: 'data.user.display',
      groups: 'roles',
    },
    ...extra,
  });
  return createUpstreamClient(resolveUpstream(settings), { clock: () => NOW });
}

function secrets(): UpstreamLoginSecrets {
  return { state: oauth.generateRandomState(), codeVerifier: oauth.generateRandomCodeVerifier(), nonce: oauth.generateRandomNonce() };
}

function callback(code: string, login: UpstreamLoginSecrets, extra: Record<string, string> = {}): URL {
  const url = new URL(REDIRECT_URI);
  url.search = new URLSearchParams({ code, state: login.state, ...extra }).toString();
  return url;
}

describe('oauth2 preset', () => {
  beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
  afterEach(() => {
    tokenRequests.length = 0;
    userinfoRequests.length = 0;
  });
  afterAll(() => server.close());

  it('keeps the authorization endpoint\'s own query and adds the configured scopes, PKCE and no nonce', async () => {
    const login = secrets();
    const url = await oauth2Client({ authParams: 'audience=https://api.corp.test' }).authorizationUrl(login, REDIRECT_URI);
    expect(url.searchParams.get('tenant')).toBe('corp');
    expect(url.searchParams.get('scope')).toBe('profile:read email');
    expect(url.searchParams.get('audience')).toBe('https://api.corp.test');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.has('nonce')).toBe(false);
  });

  it('maps nested and custom claims from userinfo, groups included', async () => {
    const login = secrets();
    const result = await oauth2Client().completeLogin(callback('code-alice', login), login, REDIRECT_URI);
    expect(result.identity).toEqual({
      sub: '981',
      email: 'alice@corp.test',
      email_verified: true,
      name: 'Alice Example',
      groups: ['mcp-admins', 'Domain Users'],
    });
    expect(result.tokens).toEqual({ access_token: 'at-alice', expires_at: NOW / 1000 + 3600, refresh_token: 'rt-good' });
    expect(userinfoRequests[0]?.headers.get('authorization')).toBe('Bearer at-alice');
    expect(new URLSearchParams(await tokenRequests[0]!.text()).get('code_verifier')).toBe(login.codeVerifier);
  });

  it('keeps an unconfirmed email marked unverified, and reads a single group string as one group', async () => {
    const login = secrets();
    const result = await oauth2Client().completeLogin(callback('code-mallory', login), login, REDIRECT_URI);
    expect(result.identity).toEqual({ sub: 'u-666', email: 'ceo@corp.test', email_verified: false, groups: ['mcp-users'] });
  });

  it('fails the login when userinfo has no subject at the mapped path', async () => {
    const login = secrets();
    const error = await oauth2Client().completeLogin(callback('code-nobody', login), login, REDIRECT_URI).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).detail).toContain('data.user.id');
  });

  it('fails the login when userinfo refuses the token', async () => {
    const login = secrets();
    const error = await oauth2Client().completeLogin(callback('code-stranger', login), login, REDIRECT_URI).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('unavailable');
    expect((error as UpstreamError).detail).toMatch(/HTTP 401/);
  });

  it('ignores an iss callback parameter without a configured issuer, and checks it with one (RFC 9207)', async () => {
    const login = secrets();
    const ignored = await oauth2Client().completeLogin(callback('code-alice', login, { iss: 'https://elsewhere.test' }), login, REDIRECT_URI);
    expect(ignored.identity.sub).toBe('981');

    const checked = oauth2Client({ issuer: SSO });
    const accepted = await checked.completeLogin(callback('code-alice', login, { iss: SSO }), login, REDIRECT_URI);
    expect(accepted.identity.sub).toBe('981');
    const mixedUp = await checked.completeLogin(callback('code-alice', login, { iss: 'https://elsewhere.test' }), login, REDIRECT_URI).catch((e: unknown) => e);
    expect(mixedUp).toBeInstanceOf(UpstreamError);
    expect((mixedUp as UpstreamError).detail).toMatch(/iss/);
  });

  it('refreshes, keeping the refresh token the provider did not rotate; a revoked one is invalid_grant', async () => {
    const upstream = oauth2Client();
    expect(await upstream.refresh('rt-good')).toEqual({ access_token: 'at-alice', expires_at: NOW / 1000 + 600, refresh_token: 'rt-good' });
    const error = await upstream.refresh('rt-revoked').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('invalid_grant');
  });

  it('maps the provider refusing the client (401 invalid_client) to unavailable', async () => {
    const login = secrets();
    const error = await oauth2Client({ tokenAuthMethod: 'client_secret_post' })
      .completeLogin(callback('code-alice', login), login, REDIRECT_URI)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('unavailable');
    expect((error as UpstreamError).detail).toContain('invalid_client');
    expect((error as UpstreamError).detail).not.toContain(CLIENT_SECRET);
  });
});
