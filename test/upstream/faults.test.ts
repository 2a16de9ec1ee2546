import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import * as oauth from 'oauth4webapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamClient } from '../../src/upstream/create-upstream-client.js';
import { resolveUpstream, upstreamSettingsSchema } from '../../src/upstream/settings.js';
import { UpstreamError, type UpstreamClient, type UpstreamLoginSecrets } from '../../src/upstream/upstream-client.js';
import { oidcDiscovery } from '../support/oidc-discovery.js';

/**
 * What a provider does on a bad day, for an OpenID Connect (discovered) and a
 * plain OAuth 2.0 (configured) upstream alike: errors, garbage, hangs,
 * redirects, huge bodies. Every one is an UpstreamError, and none quotes a
 * secret, code or token.
 */

const IDP = 'https://idp.test';
const REDIRECT_URI = 'https://mcp.example.test/oauth/callback';
const CLIENT_SECRET = 'fault-test-client-secret';
const CODE = 'fault-test-authorization-code';
const REFRESH_TOKEN = 'fault-test-refresh-token';

const discoveryDocument = (overrides: Record<string, unknown> = {}) => oidcDiscovery(IDP, overrides);

type Handler = () => Response | Promise<Response>;
let discovery: Handler = () => HttpResponse.json(discoveryDocument());
let tokenEndpoint: Handler = () => HttpResponse.json({ error: 'unset' }, { status: 400 });
let redirectTargetHits = 0;

const server = setupServer(
  http.get(`${IDP}/.well-known/openid-configuration`, () => discovery()),
  http.post(`${IDP}/token`, () => tokenEndpoint()),
  http.all(`${IDP}/elsewhere`, () => {
    redirectTargetHits++;
    return HttpResponse.json({ access_token: 'from-a-redirect', token_type: 'Bearer' });
  }),
  http.all('http://idp.test/*', () => HttpResponse.json({ access_token: 'over-plain-http', token_type: 'Bearer' })),
);

const NOW = Date.now();

function client(provider: 'oidc' | 'oauth2', timeout = 2): UpstreamClient {
  const settings = upstreamSettingsSchema.parse(
    provider === 'oidc'
      ? { issuer: IDP, clientId: 'proxy', clientSecret: CLIENT_SECRET, timeout }
      : {
          provider: 'oauth2',
          authorizationUrl: `${IDP}/authorize`,
          tokenUrl: `${IDP}/token`,
          userinfoUrl: `${IDP}/me`,
          clientId: 'proxy',
          clientSecret: CLIENT_SECRET,
          timeout,
        },
  );
  return createUpstreamClient(resolveUpstream(settings), { clock: () => NOW });
}

function secrets(): UpstreamLoginSecrets {
  return { state: oauth.generateRandomState(), codeVerifier: oauth.generateRandomCodeVerifier(), nonce: oauth.generateRandomNonce() };
}

async function loginError(upstream: UpstreamClient): Promise<UpstreamError> {
  const login = secrets();
  const callback = new URL(REDIRECT_URI);
  callback.search = new URLSearchParams({ code: CODE, state: login.state }).toString();
  const error = await upstream.completeLogin(callback, login, REDIRECT_URI).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

function expectNothingSecret(error: UpstreamError) {
  const text = `${error.message} ${error.detail}`;
  for (const secret of [CLIENT_SECRET, CODE, REFRESH_TOKEN, 'from-a-redirect', 'over-plain-http']) expect(text).not.toContain(secret);
}

const PROVIDERS = ['oidc', 'oauth2'] as const;

describe('upstream faults', () => {
  beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
  afterEach(() => {
    discovery = () => HttpResponse.json(discoveryDocument());
    tokenEndpoint = () => HttpResponse.json({ error: 'unset' }, { status: 400 });
    redirectTargetHits = 0;
  });
  afterAll(() => server.close());

  describe.each(PROVIDERS)('%s token endpoint', (provider) => {
    it.each<[string, Handler, RegExp]>([
      ['a 500', () => HttpResponse.text('upstream exploded', { status: 500 }), /HTTP status|500/],
      ['malformed JSON', () => new HttpResponse('{"access_token": "abc", ', { headers: { 'content-type': 'application/json' } }), /JSON|parse|not a conform/i],
      ['an HTML page', () => new HttpResponse('<html>maintenance</html>', { headers: { 'content-type': 'text/html' } }), /JSON|content-type/i],
      ['a dropped connection', () => HttpResponse.error(), /fetch|network|failed/i],
      ['a body over 1 MB', () => HttpResponse.json({ access_token: 'x'.repeat(1_100_000), token_type: 'Bearer' }), /more than 1048576 bytes/],
    ])('maps %s to unavailable', async (_name, handler, detail) => {
      tokenEndpoint = handler;
      const error = await loginError(client(provider));
      expect(error.kind).toBe('unavailable');
      expect(error.detail).toMatch(detail);
      expect(error.detail).not.toContain('exploded');
      expectNothingSecret(error);
    });

    it('gives up after the configured timeout', async () => {
      // The provider answers only once the client has given up, so the error can only be the timeout's.
      let gaveUp!: () => void;
      const givenUp = new Promise<void>((resolve) => (gaveUp = resolve));
      tokenEndpoint = async () => {
        await givenUp;
        return HttpResponse.json({ access_token: 'late', token_type: 'Bearer' });
      };
      // Not before the configured second: timers fire in the order they fall due, so one of that second
      // set before the login fires before the client's own timeout can.
      let secondPassed = false;
      const second = setTimeout(() => (secondPassed = true), 1000);
      const error = await loginError(client(provider, 1));
      const passedBeforeTheError = secondPassed;
      clearTimeout(second);
      gaveUp();
      expect(error.kind).toBe('unavailable');
      expect(error.detail).toMatch(/did not answer within 1000 ms/);
      expect(passedBeforeTheError).toBe(true);
    });

    it('does not follow a redirect from the token endpoint', async () => {
      tokenEndpoint = () => new HttpResponse(null, { status: 302, headers: { location: `${IDP}/elsewhere` } });
      const error = await loginError(client(provider));
      expect(error.kind).toBe('unavailable');
      expect(error.detail).toMatch(/redirect \(HTTP 302\)/);
      expect(redirectTargetHits).toBe(0);
      expectNothingSecret(error);
    });

    it('maps invalid_grant on refresh to invalid_grant, and a 500 on refresh to unavailable', async () => {
      tokenEndpoint = () => HttpResponse.json({ error: 'invalid_grant', error_description: 'Token is not active' }, { status: 400 });
      const revoked = await client(provider).refresh(REFRESH_TOKEN).catch((e: unknown) => e);
      expect(revoked).toBeInstanceOf(UpstreamError);
      expect((revoked as UpstreamError).kind).toBe('invalid_grant');
      expectNothingSecret(revoked as UpstreamError);

      tokenEndpoint = () => HttpResponse.text('oops', { status: 503 });
      const down = await client(provider).refresh(REFRESH_TOKEN).catch((e: unknown) => e);
      expect((down as UpstreamError).kind).toBe('unavailable');
    });
  });

  describe('oidc discovery', () => {
    it('fails ready() while discovery fails, and retries on the next call', async () => {
      discovery = () => HttpResponse.text('down', { status: 503 });
      const upstream = client('oidc');
      const error = await upstream.ready().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).kind).toBe('unavailable');
      expect((error as UpstreamError).detail).toMatch(/^discovery:/);

      discovery = () => HttpResponse.json(discoveryDocument());
      await expect(upstream.ready()).resolves.toBeUndefined();
      const url = await upstream.authorizationUrl(secrets(), REDIRECT_URI);
      expect(url.href.startsWith(`${IDP}/authorize?`)).toBe(true);
    });

    it('refuses a discovery document naming another issuer', async () => {
      discovery = () => HttpResponse.json(discoveryDocument({ issuer: 'https://evil.test' }));
      const error = await client('oidc').ready().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).detail).toMatch(/issuer/);
    });

    it('does not follow a redirect from the discovery endpoint', async () => {
      discovery = () => new HttpResponse(null, { status: 301, headers: { location: `${IDP}/elsewhere` } });
      const error = await client('oidc').ready().catch((e: unknown) => e);
      expect((error as UpstreamError).detail).toMatch(/redirect/);
      expect(redirectTargetHits).toBe(0);
    });

    it('refuses to send the code and secret to a plain-http endpoint a discovery document names', async () => {
      discovery = () => HttpResponse.json(discoveryDocument({ token_endpoint: 'http://idp.test/token' }));
      const error = await loginError(client('oidc'));
      expect(error.kind).toBe('unavailable');
      expect(error.detail).toMatch(/non-https request to idp\.test/);
      expectNothingSecret(error);
    });
  });
});
