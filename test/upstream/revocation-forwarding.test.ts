import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shortDigest } from '../../src/crypto/encoding.js';
import { createApp } from '../../src/http/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { createForwarder } from '../../src/proxy/index.js';
import { buildDeps } from '../../src/runtime/deps.js';
import { testConfig } from '../support/deps.js';
import { oidcDiscovery } from '../support/oidc-discovery.js';

/**
 * /revoke tells the provider too (RFC 7009 at its revocation_endpoint). The
 * client's answer never depends on the provider: an error or a hang there is
 * logged, without the token, and the client still gets 200.
 */
const IDP = 'https://idp.revocation.test';
const PUBLIC_URL = 'https://proxy.example.com';
const UPSTREAM_REFRESH = 'upstream-refresh-token-that-must-never-be-logged';
const UPSTREAM_ACCESS = 'upstream-access-token-that-must-never-be-logged';

let revocationEndpoint: () => Response | Promise<Response> = () => new HttpResponse(null, { status: 200 });
const received: URLSearchParams[] = [];

const server = setupServer(
  http.get(`${IDP}/.well-known/openid-configuration`, () =>
    HttpResponse.json(oidcDiscovery(IDP, { revocation_endpoint: `${IDP}/revoke` })),
  ),
  http.post(`${IDP}/revoke`, async ({ request }) => {
    received.push(new URLSearchParams(await request.text()));
    return revocationEndpoint();
  }),
);

describe('upstream revocation forwarding', () => {
  const lines: string[] = [];
  let app: ReturnType<typeof createApp>;
  let deps: Awaited<ReturnType<typeof buildDeps>>;
  let clientId: string;

  beforeAll(async () => {
    server.listen({ onUnhandledRequest: 'error' });
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    deps = await buildDeps(
      testConfig({ publicUrl: PUBLIC_URL, upstream: { issuer: IDP, clientId: 'proxy', clientSecret: 'upstream-secret-value', timeout: 1 } }),
      { logger, createForwarder: (headersTimeoutMs) => createForwarder({ runtime: 'web', headersTimeoutMs, logger }) },
    );
    app = createApp(deps);
    const registered = await app.request('/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1:1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'none',
      }),
    });
    expect(registered.status).toBe(201);
    clientId = ((await registered.json()) as { client_id: string }).client_id;
  });
  beforeEach(() => {
    received.length = 0;
    lines.length = 0;
  });
  afterEach(() => {
    revocationEndpoint = () => new HttpResponse(null, { status: 200 });
  });
  afterAll(async () => {
    server.close();
    await deps?.close();
  });

  /** A refresh token as /token would have issued it to the registered client. */
  async function refreshToken(): Promise<string> {
    const now = deps.capsules.nowSeconds();
    return deps.capsules.seal('refresh', {
      identity: { sub: 'alice' },
      upstream: { access_token: UPSTREAM_ACCESS, refresh_token: UPSTREAM_REFRESH, expires_at: now + 3600 },
      cid: await shortDigest(clientId),
      scope: '',
      aud: `${PUBLIC_URL}/mcp`,
      gid: crypto.randomUUID(),
      gen: 0,
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 3600,
    });
  }

  const post = (path: string, params: Record<string, string>) =>
    app.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const revoke = async (token: string) => post('/revoke', { token, token_type_hint: 'refresh_token', client_id: clientId });
  const logged = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  async function expectRevokedHere(token: string): Promise<void> {
    const refresh = await post('/token', { grant_type: 'refresh_token', refresh_token: token, client_id: clientId });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe('invalid_grant');
  }

  function expectNoTokenLogged(token: string): void {
    const log = lines.join('\n');
    for (const secret of [UPSTREAM_REFRESH, UPSTREAM_ACCESS, token, 'upstream-secret-value']) expect(log).not.toContain(secret);
  }

  it('sends the upstream refresh token to the provider’s revocation endpoint, authenticated as the proxy', async () => {
    const token = await refreshToken();
    const answer = await revoke(token);
    expect(answer.status).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0]!.get('token')).toBe(UPSTREAM_REFRESH);
    expect(received[0]!.get('token_type_hint')).toBe('refresh_token');
    expect(logged()).toContainEqual(expect.objectContaining({ level: 'info', msg: 'upstream revocation', outcome: 'revoked' }));
    await expectRevokedHere(token);
    expectNoTokenLogged(token);
  });

  it('still answers 200 when the provider fails, and logs a warning without the token', async () => {
    revocationEndpoint = () => HttpResponse.json({ error: 'server_error', error_description: `cannot revoke ${UPSTREAM_REFRESH}` }, { status: 500 });
    const token = await refreshToken();
    const answer = await revoke(token);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('');
    expect(received).toHaveLength(1);
    const warnings = logged().filter((line) => line['level'] === 'warn');
    expect(warnings).toEqual([expect.objectContaining({ msg: 'upstream revocation failed', token_type_hint: 'refresh_token' })]);
    await expectRevokedHere(token);
    expectNoTokenLogged(token);
  });

  it('still answers 200 when the provider does not answer, after the upstream timeout', async () => {
    revocationEndpoint = async () => {
      await delay('infinite');
      return new HttpResponse(null, { status: 200 });
    };
    const token = await refreshToken();
    // The provider never answers: the 200 and the warning can only follow the upstream timeout.
    const answer = await revoke(token);
    expect(answer.status).toBe(200);
    const warnings = logged().filter((line) => line['level'] === 'warn');
    expect(warnings).toEqual([
      expect.objectContaining({ msg: 'upstream revocation failed', detail: expect.stringMatching(/did not answer/) }),
    ]);
    await expectRevokedHere(token);
    expectNoTokenLogged(token);
  });

  it('does not forward the revocation of a single access token', async () => {
    const now = deps.capsules.nowSeconds();
    const access = await deps.capsules.seal('access', {
      identity: { sub: 'alice' },
      upstream: { access_token: UPSTREAM_ACCESS, expires_at: now + 3600 },
      cid: await shortDigest(clientId),
      scope: '',
      aud: `${PUBLIC_URL}/mcp`,
      gid: crypto.randomUUID(),
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 600,
    });
    const answer = await post('/revoke', { token: access, client_id: clientId });
    expect(answer.status).toBe(200);
    expect(received).toHaveLength(0);
    expectNoTokenLogged(access);
  });
});
