import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

const CC_SECRET = 'cc-client-secret-0123456789';

/** Every downstream credential mode against the real demo MCP server (and a plain HTTP API). */
describe('downstream credential modes', () => {
  let stack: Stack;
  let api: Server;
  const apiRequests: Array<{ url: string; headers: Record<string, string | string[] | undefined> }> = [];

  beforeAll(async () => {
    // An OpenAI-compatible stand-in: answers every path, records what it received.
    api = createServer((req, res) => {
      apiRequests.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'chat.completion', path: req.url }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`;

    stack = await Stack.start({
      idpClients: [
        { client_id: 'cc-basic', client_secret: CC_SECRET, redirect_uris: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' },
        { client_id: 'cc-post', client_secret: CC_SECRET, redirect_uris: [], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_post' },
      ],
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token' },
        { path: '/key', url: demoUrl, auth: 'api-key', apiKey: 'static-downstream-key' },
        { path: '/key-header', url: demoUrl, auth: 'api-key', apiKey: 'raw-key-value', header: 'X-Api-Key' },
        { path: '/pat', url: demoUrl, auth: 'pat' },
        { path: '/pat-header', url: demoUrl, auth: 'pat', patHeader: 'X-Personal-Token', header: 'X-Downstream-Token' },
        { path: '/public', url: demoUrl, auth: 'none' },
        { path: '/v1', url: apiUrl, auth: 'api-key', apiKey: 'api-secret', kind: 'http' },
        { path: '/cc', url: demoUrl, auth: 'client-credentials', tokenUrl: 'IDP/token', clientId: 'cc-basic', clientSecret: CC_SECRET },
        { path: '/cc-post', url: demoUrl, auth: 'client-credentials', tokenUrl: 'IDP/token', clientId: 'cc-post', clientSecret: CC_SECRET, tokenAuth: 'client_secret_post' },
        { path: '/cc-own', url: demoUrl, auth: 'client-credentials', tokenUrl: 'IDP/token', credentialsFrom: 'request' },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => api?.close(() => resolve()));
  });

  async function tokenFor(path: string, login = 'kim') {
    const client = await register(stack.publicUrl);
    const resource = `${stack.publicUrl}${path}`;
    const callback = await signIn(stack.publicUrl, client, { login, extra: { resource } });
    const tokens = await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!, { resource });
    expect(tokens.status).toBe(200);
    return tokens.body.access_token as string;
  }

  /** The headers the demo MCP server received for one initialize request. */
  async function seenBy(path: string, token: string | undefined, headers: Record<string, string> = {}) {
    const before = stack.demo.requests.length;
    const response = await mcpPost(`${stack.publicUrl}${path}`, token, undefined, headers);
    const body = await response.text();
    return { status: response.status, headers: stack.demo.requests.slice(before).at(-1)?.headers, response, body };
  }

  it('api-key: users sign in; the downstream gets the static key, as Bearer or raw in another header', async () => {
    const token = await tokenFor('/key');
    const bearer = await seenBy('/key', token);
    expect(bearer.status).toBe(200);
    expect(bearer.headers!.authorization).toBe('Bearer static-downstream-key');
    const raw = await seenBy('/key-header', await tokenFor('/key-header'));
    expect(raw.headers!['x-api-key']).toBe('raw-key-value');
    expect(raw.headers!.authorization).toBeUndefined();
    // Without a token the route is closed like any OAuth route.
    expect((await seenBy('/key', undefined)).status).toBe(401);
  });

  it('pat: no OAuth; the client token passes per request in the configured header, and is required', async () => {
    const passed = await seenBy('/pat', 'ghp_personal_token_123');
    expect(passed.status).toBe(200);
    expect(passed.headers!.authorization).toBe('Bearer ghp_personal_token_123');
    const missing = await seenBy('/pat', undefined);
    expect(missing.status).toBe(401);
    expect(missing.response.headers.get('www-authenticate')).toBe('Bearer realm="mcp-capsule"');
    const custom = await seenBy('/pat-header', undefined, { 'x-personal-token': 'tok-987' });
    expect(custom.headers!['x-downstream-token']).toBe('tok-987');
    expect(custom.headers!['x-personal-token']).toBeUndefined();
    // Not a protected resource of the proxy: no metadata document for it.
    expect((await fetch(`${stack.publicUrl}/.well-known/oauth-protected-resource/pat`)).status).toBe(404);
  });

  it('none: a public route, no credential either way', async () => {
    const open = await seenBy('/public', undefined);
    expect(open.status).toBe(200);
    expect(open.headers!.authorization).toBeUndefined();
    const stripped = await seenBy('/public', 'some-client-token');
    expect(stripped.headers!.authorization).toBeUndefined();
  });

  it('generic http routes: 401 without a token, forwarded with one, subpaths and queries included', async () => {
    const unauthorized = await fetch(`${stack.publicUrl}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(unauthorized.status).toBe(401);
    const token = await tokenFor('/v1');
    const response = await fetch(`${stack.publicUrl}/v1/chat/completions?stream=false`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [] }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { path: string }).path).toBe('/v1/chat/completions?stream=false');
    expect(apiRequests.at(-1)!.headers.authorization).toBe('Bearer api-secret');
  });

  it('client-credentials: one token for many calls, with either client authentication method', async () => {
    for (const path of ['/cc', '/cc-post']) {
      const token = await tokenFor(path);
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add((await seenBy(path, token)).headers!.authorization!);
      expect(seen.size).toBe(1);
      const [authorization] = [...seen];
      expect(authorization).toMatch(/^Bearer [A-Za-z0-9_-]{20,}$/);
      // The token is the IdP's, valid there: introspection would say so; the downstream just sees a Bearer.
      expect(authorization).not.toContain(token.slice(0, 20));
    }
  });

  it('client-credentials from the request: each MCP client brings its own client_id and secret', async () => {
    const own = { 'x-client-id': 'cc-basic', 'x-client-secret': CC_SECRET };
    const passed = await seenBy('/cc-own', undefined, own);
    expect(passed.status).toBe(200);
    expect(passed.headers!.authorization).toMatch(/^Bearer /);
    expect(passed.headers!['x-client-secret']).toBeUndefined();
    expect(passed.headers!['x-client-id']).toBeUndefined();
    const wrong = await seenBy('/cc-own', undefined, { ...own, 'x-client-secret': 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error).toBe('invalid_client');
    expect(wrong.response.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await seenBy('/cc-own', undefined)).status).toBe(401);
  });

  it('audits each request with user, client, route and status, and never a credential', async () => {
    const token = await tokenFor('/key', 'lena');
    await seenBy('/key', token);
    const event = stack.logs.auditEvents.filter((entry) => entry.event === 'mcp_request' && entry.route === '/key').at(-1)!;
    expect(event).toMatchObject({ audit: true, route: '/key', status: 200, outcome: 'allowed', user: { sub: 'lena', email: 'lena@example.test' } });
    expect(typeof event.latency_ms).toBe('number');
    expect((event.client as { id: string }).id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const log = stack.logs.lines.join('\n');
    for (const secret of ['static-downstream-key', 'raw-key-value', 'api-secret', 'ghp_personal_token_123', 'tok-987', CC_SECRET, token]) {
      expect(log).not.toContain(secret);
    }
  });

  it('connects the SDK client to an api-key route', async () => {
    const provider = new TestOAuthProvider({ login: 'mona' });
    const { client } = await connectWithOAuth(`${stack.publicUrl}/key`, provider);
    const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
    expect(seen.authorization).toBe('Bearer static-downstream-key');
    await client.close();
  });
});
