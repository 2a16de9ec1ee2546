import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenFor, mcpPost, register, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/**
 * entra-obo through the proxy: users sign in at the real oidc-provider; Entra's token endpoint,
 * which no local server reproduces, is played by msw with the answers Entra gives (AADSTS errors
 * included), on a fake https host.
 */

const OBO_TOKEN_URL = 'https://login.microsoftonline.test/00000000-0000-0000-0000-0000000000aa/oauth2/v2.0/token';
const SCOPE = 'api://downstream-app/.default';

type Answer = () => Response;
const issued = (n: number) => `obo-access-token-${n}`;
let answer: Answer;
let issuedCount = 0;
const received: Array<{ headers: Headers; body: URLSearchParams }> = [];

const success: Answer = () =>
  HttpResponse.json({ token_type: 'Bearer', scope: SCOPE, expires_in: 3599, ext_expires_in: 3599, access_token: issued(++issuedCount) });

/** Entra's error body: an OAuth error, an AADSTS description with trace ids, and its numeric codes. */
const entraError = (status: number, error: string, code: number, extra: Record<string, unknown> = {}): Answer => () =>
  HttpResponse.json(
    {
      error,
      error_description: `AADSTS${code}: the request was refused.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-01-01 00:00:00Z`,
      error_codes: [code],
      timestamp: '2026-01-01 00:00:00Z',
      trace_id: '0000aaaa-11bb-cccc-dd22-eeeeee333333',
      correlation_id: 'aaaa0000-bb11-2222-33cc-444444dddddd',
      ...extra,
    },
    { status },
  );

const msw = setupServer(
  http.post(OBO_TOKEN_URL, async ({ request }) => {
    received.push({ headers: request.headers, body: new URLSearchParams(await request.text()) });
    return answer();
  }),
);

describe('entra-obo', () => {
  let stack: Stack;
  let client: RegisteredClient;

  beforeAll(async () => {
    msw.listen({ onUnhandledRequest: 'bypass' });
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [{ path: '/mcp', url: demoUrl, auth: 'entra-obo', scopes: SCOPE, tokenUrl: OBO_TOKEN_URL, tokenAuth: 'client_secret_post', timeout: 2 }],
    });
    client = await register(stack.publicUrl);
  });
  afterEach(() => {
    answer = success;
    received.length = 0;
  });
  afterAll(async () => {
    await stack?.close();
    msw.close();
  });

  async function signedIn(login: string) {
    return accessTokenFor(stack.publicUrl, client, { login });
  }

  it("sends Entra's on-behalf-of request with the user's upstream access token as assertion; the MCP server receives the token Entra issued", async () => {
    answer = success;
    const token = await signedIn('alice');
    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);

    expect(received).toHaveLength(1);
    const [{ headers, body }] = received as [(typeof received)[number]];
    expect(Object.fromEntries(body)).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      requested_token_use: 'on_behalf_of',
      assertion: expect.any(String),
      scope: SCOPE,
      client_id: 'proxy',
      client_secret: 'proxy-upstream-secret',
    });
    expect(headers.get('authorization')).toBeNull();
    // The assertion is alice's access token at the upstream provider: its userinfo endpoint says so.
    const userinfo = await fetch(`${stack.idp.issuer}/me`, { headers: { authorization: `Bearer ${body.get('assertion')}` } });
    expect(await userinfo.json()).toMatchObject({ sub: 'alice' });
    const seen = stack.demo.requests.slice(-2).map((request) => request.headers['authorization']);
    expect(seen).toEqual([`Bearer ${issued(issuedCount)}`, `Bearer ${issued(issuedCount)}`]);
  });

  it.each([
    ['invalid_grant (AADSTS50013, an assertion Entra cannot validate)', entraError(400, 'invalid_grant', 50013)],
    ['interaction_required (AADSTS50076, multi-factor authentication needed)', entraError(400, 'interaction_required', 50076, { suberror: 'basic_action', claims: '{"access_token":{"capolids":{"essential":true,"values":["x"]}}}' })],
  ])('answers %s with 401 invalid_token, so the client signs in again; the refusal is not cached', async (_name, refusal) => {
    answer = refusal;
    const token = await signedIn('bob');
    const refused = await mcpPost(stack.mcpUrl, token);
    expect(refused.status).toBe(401);
    const challenge = refused.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(`resource_metadata="${stack.publicUrl}/.well-known/oauth-protected-resource/mcp"`);
    const body = await refused.text();
    expect(JSON.parse(body)).toMatchObject({ error: 'invalid_token' });
    expect(body).not.toContain('AADSTS');

    answer = success;
    expect((await mcpPost(stack.mcpUrl, token)).status).toBe(200);
    expect(received).toHaveLength(2);
  });

  it.each([
    ['HTTP 500', () => new HttpResponse('upstream failure', { status: 500 })],
    ['HTTP 503 with an Entra error body', entraError(503, 'temporarily_unavailable', 90006)],
    ['invalid_client (AADSTS7000215, a wrong client secret)', entraError(401, 'invalid_client', 7000215)],
  ] as Array<[string, Answer]>)('answers %s with 503 temporarily_unavailable', async (_name, failure) => {
    answer = failure;
    const token = await signedIn('carol');
    const response = await mcpPost(stack.mcpUrl, token);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'The credential for the MCP server could not be obtained.' });
    expect(received).toHaveLength(1);
  });
});
