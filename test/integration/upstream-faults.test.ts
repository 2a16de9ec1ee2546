import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startNodeProxy, type RunningProxy } from '../../src/runtime/node.js';
import { Browser } from '../support/browser.js';
import { TEST_KEY_A } from '../support/deps.js';
import { freePort } from '../support/ports.js';
import { authorizeUrl, CLIENT_REDIRECT, register, type RegisteredClient } from '../support/oauth-flow.js';
import { LogCapture } from '../support/stack.js';
import { oidcDiscovery } from '../support/oidc-discovery.js';

/**
 * Faults a real identity provider will not produce on demand: a token endpoint
 * that fails, answers garbage or hangs, a discovery document that is missing,
 * an ID token that does not verify. msw plays the provider; the proxy is real.
 */
const ISSUER = 'https://idp.test';
const DOWN_ISSUER = 'https://down.idp.test';


let tokenEndpoint: () => Response | Promise<Response> = () => HttpResponse.json({ error: 'unset' }, { status: 400 });

const server = setupServer(
  http.get(`${ISSUER}/.well-known/openid-configuration`, () => HttpResponse.json(oidcDiscovery(ISSUER))),
  http.get(`${DOWN_ISSUER}/.well-known/openid-configuration`, () => HttpResponse.error()),
  http.post(`${ISSUER}/token`, () => tokenEndpoint()),
);

async function startProxy(issuer: string, logs: LogCapture): Promise<{ proxy: RunningProxy; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = parseConfig({
    keys: TEST_KEY_A,
    publicUrl: base,
    port,
    upstream: { issuer, clientId: 'proxy', clientSecret: 'upstream-secret-value', timeout: 1 },
    routes: [{ url: 'http://127.0.0.1:9/mcp' }],
    registration: {},
    clientMetadataDocuments: {},
    ttl: {},
  });
  return { proxy: await startNodeProxy(config, logs.logger), base };
}

describe('upstream identity provider faults', () => {
  const logs = new LogCapture();
  let proxy: RunningProxy;
  let base: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    // Loopback traffic (the browser to the proxy) passes through untouched.
    server.listen({ onUnhandledRequest: 'bypass' });
    ({ proxy, base } = await startProxy(ISSUER, logs));
    client = await register(base);
  });
  afterEach(() => {
    tokenEndpoint = () => HttpResponse.json({ error: 'unset' }, { status: 400 });
  });
  afterAll(async () => {
    await proxy?.close(100);
    server.close();
  });

  /** Consent, then the upstream redirect; returns the browser and the state the provider would echo. */
  async function startLogin(proxyBase = base, forClient = client) {
    const browser = new Browser();
    const consent = await browser.get(await authorizeUrl(proxyBase, forClient));
    const approved = await browser.submitForm(consent.body, consent.url, { button: { name: 'decision', value: 'approve' } });
    return { browser, approved };
  }

  async function callbackWith(params: Record<string, string>) {
    const { browser, approved } = await startLogin();
    expect(approved.location!.origin).toBe(ISSUER);
    const state = approved.location!.searchParams.get('state')!;
    const callback = new URL(`${base}/oauth/callback`);
    for (const [name, value] of Object.entries({ state, ...params })) callback.searchParams.set(name, value);
    const page = await browser.get(callback);
    expect(page.status).toBe(302);
    const location = page.location!;
    expect(location.href.startsWith(CLIENT_REDIRECT)).toBe(true);
    expect(location.searchParams.get('state')).toBe('client-state-123');
    expect(location.searchParams.get('iss')).toBe(base);
    expect(location.searchParams.has('code')).toBe(false);
    return location.searchParams;
  }

  it.each([
    ['a 500', () => HttpResponse.text('upstream exploded', { status: 500 })],
    ['malformed JSON', () => new HttpResponse('{"access_token": "abc", ', { headers: { 'content-type': 'application/json' } })],
    ['an ID token that does not verify', () => HttpResponse.json({ access_token: 'at', token_type: 'Bearer', id_token: 'not.a.jwt' })],
    ['no ID token', () => HttpResponse.json({ access_token: 'at', token_type: 'Bearer' })],
    ['a hang past the timeout', async () => {
      await delay('infinite');
      return HttpResponse.json({ access_token: 'late', token_type: 'Bearer' });
    }],
  ])('returns server_error to the client when the token endpoint gives %s', async (_name, handler) => {
    tokenEndpoint = handler;
    const params = await callbackWith({ code: 'upstream-code', iss: ISSUER });
    expect(params.get('error')).toBe('server_error');
    // The provider's own words never reach the client.
    expect(params.get('error_description')).not.toMatch(/exploded|jwt/i);
  });

  it('returns access_denied when the user refuses at the provider', async () => {
    const params = await callbackWith({ error: 'access_denied', error_description: '<script>alert(1)</script>', iss: ISSUER });
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('error_description')).not.toContain('<script>');
  });

  it('keeps serving after every fault, and never logs the upstream client secret', async () => {
    const metadata = await fetch(`${base}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    expect(logs.lines.join('\n')).not.toContain('upstream-secret-value');
  });

  it('returns temporarily_unavailable when discovery fails, and retries discovery on the next login', async () => {
    const downLogs = new LogCapture();
    const down = await startProxy(DOWN_ISSUER, downLogs);
    try {
      const downClient = await register(down.base);
      for (let attempt = 0; attempt < 2; attempt++) {
        const { approved } = await startLogin(down.base, downClient);
        expect(approved.status).toBe(303);
        expect(approved.location!.searchParams.get('error')).toBe('temporarily_unavailable');
        expect(approved.location!.searchParams.get('iss')).toBe(down.base);
      }
    } finally {
      await down.proxy.close(100);
    }
  });
});

describe('readiness', () => {
  it('is ready once discovery is done, and not ready while the provider cannot be discovered', async () => {
    server.listen({ onUnhandledRequest: 'bypass' });
    const logs = new LogCapture();
    const up = await startProxy(ISSUER, logs);
    const down = await startProxy(DOWN_ISSUER, logs);
    try {
      const ready = await fetch(`${up.base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { keys: 'ok', upstream: 'ok' } });
      const notReady = await fetch(`${down.base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(((await notReady.json()) as { checks: { upstream: string } }).checks.upstream).toBe('unavailable');
      expect((await fetch(`${down.base}/healthz`)).status).toBe(200);
    } finally {
      await up.proxy.close(100);
      await down.proxy.close(100);
      server.close();
    }
  });
});
