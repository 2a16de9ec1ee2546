import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider, PrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startServer, type TestServer } from '../cimd/servers.js';
import { configProblems } from '../support/config-problems.js';
import { inProcessApp, testConfig } from '../support/deps.js';
import { textOf } from '../support/mcp-client.js';
import { mcpPost, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { signingKey, type SigningKey } from '../support/signing-keys.js';
import { Stack } from '../support/stack.js';

/**
 * The client_credentials grant (MCP's client-credentials extension) for agents without a browser,
 * played from the attacker's side against the real stack: each refusal next to the control that
 * shows the same request works for the client it belongs to.
 */
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SECRET = 'agent-secret-0123456789abcdef';
const POST_SECRET = 'agent-post-secret-0123456789';
const DASHBOARD_SECRET = 'dashboard-secret-0123456789';
const API_KEY = 'downstream-api-key-0123456789';

type Whoami = Record<string, string | null>;

describe('client credentials: agents without a browser', () => {
  let stack: Stack;
  let base: string;
  let jwksServer: TestServer;
  let agentKey: SigningKey;
  let remoteKey: SigningKey;
  let impostorKey: SigningKey;

  beforeAll(async () => {
    [agentKey, remoteKey, impostorKey] = await Promise.all([signingKey('agent-1'), signingKey('remote-1'), signingKey('agent-1')]);
    jwksServer = await startServer();
    jwksServer.route('/jwks.json', json({ keys: [remoteKey.publicJwk] }));
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/team', url: demoUrl, auth: 'identity-headers', timeout: 2 },
        { path: '/keyed', url: demoUrl, auth: 'api-key', apiKey: API_KEY, timeout: 2 },
        { path: '/ops', url: demoUrl, auth: 'identity-headers', timeout: 2, policy: { clients: ['agent-keys'] } },
        { path: '/staff', url: demoUrl, auth: 'identity-headers', timeout: 2, policy: { emailDomains: ['example.test'] } },
      ],
      extra: {
        // The key set lives on loopback in this test; in production it must be on a public address.
        clientMetadataDocuments: { allowPrivateNetwork: true },
        clients: [
          { client_id: 'agent-secret', client_secret: SECRET, client_name: 'Nightly Agent', grant_types: ['client_credentials'] },
          { client_id: 'agent-post', client_secret: POST_SECRET, token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'] },
          { client_id: 'agent-keys', jwks: { keys: [agentKey.publicJwk] }, grant_types: ['client_credentials'] },
          { client_id: 'agent-remote-keys', jwks_uri: `${jwksServer.origin}/jwks.json`, grant_types: ['client_credentials'] },
          { client_id: 'dashboard', client_secret: DASHBOARD_SECRET, redirect_uris: ['https://dashboard.example/cb'] },
          { client_id: 'public-app', redirect_uris: ['http://127.0.0.1:1/callback'] },
        ],
      },
    });
    base = stack.publicUrl;
  });
  afterAll(async () => {
    await stack?.close();
    await jwksServer?.close();
  });

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const grant = (extra: Record<string, string | undefined> = {}, headers: Record<string, string> = basic('agent-secret', SECRET)) =>
    tokenRequest(base, { grant_type: 'client_credentials', resource: `${base}/team`, ...extra }, headers);

  /** A client assertion as RFC 7523 §2.2 and the SDK's createPrivateKeyJwtAuth make it; `claims` overrides any part. */
  async function assertion(key: SigningKey, clientId = 'agent-keys', claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: base, iat: now, exp: now + 120, jti: crypto.randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  }
  const withAssertion = async (value: string) => grant({ client_assertion_type: ASSERTION_TYPE, client_assertion: value }, {});

  /** The SDK's own transport and provider, connecting and calling whoami on a route. */
  async function whoamiWith(provider: OAuthClientProvider, route: string): Promise<Whoami> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${route}`), { authProvider: provider });
    const client = new Client({ name: 'headless-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      return JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Whoami;
    } finally {
      await client.close();
    }
  }

  it('the SDK ClientCredentialsProvider connects with no browser and calls a tool; the MCP server sees the client as client:<client_id>', async () => {
    const provider = new ClientCredentialsProvider({ clientId: 'agent-secret', clientSecret: SECRET, expectedIssuer: base });
    const seen = await whoamiWith(provider, '/team');
    expect(seen['x-forwarded-user']).toBe('client:agent-secret');
    expect(seen['x-forwarded-name']).toBe('Nightly Agent');
    // No upstream session: nothing of a user's, and no proxy token, reaches the server.
    expect(seen['x-forwarded-access-token']).toBeNull();
    expect(seen['x-forwarded-email']).toBeNull();
    expect(seen.authorization).toBeNull();
    expect(provider.tokens()?.refresh_token).toBeUndefined();

    const issued = stack.logs.auditEvents.filter((event) => event.event === 'token_issued');
    expect(issued.at(-1)).toMatchObject({ user: { sub: 'client:agent-secret' }, client: { name: 'Nightly Agent' }, route: '/team', outcome: 'allowed' });
  });

  it('the SDK PrivateKeyJwtProvider connects with a key from the client\'s inline jwks, and with one from its jwks_uri', async () => {
    const inline = new PrivateKeyJwtProvider({ clientId: 'agent-keys', privateKey: agentKey.privateJwk, algorithm: 'ES256', expectedIssuer: base });
    expect((await whoamiWith(inline, '/team'))['x-forwarded-user']).toBe('client:agent-keys');
    const remote = new PrivateKeyJwtProvider({ clientId: 'agent-remote-keys', privateKey: remoteKey.privateJwk, algorithm: 'ES256', expectedIssuer: base });
    expect((await whoamiWith(remote, '/team'))['x-forwarded-user']).toBe('client:agent-remote-keys');
    expect(jwksServer.hits.get('/jwks.json')).toBeGreaterThan(0);
  });

  it('on an api-key route the MCP server gets its key, and client_secret_post works as registered', async () => {
    const provider = new ClientCredentialsProvider({ clientId: 'agent-secret', clientSecret: SECRET, expectedIssuer: base });
    expect((await whoamiWith(provider, '/keyed')).authorization).toBe(`Bearer ${API_KEY}`);
    const posted = await grant({ client_id: 'agent-post', client_secret: POST_SECRET, resource: `${base}/keyed` }, {});
    expect(posted.status).toBe(200);
    // Registered for client_secret_post: the same secret over Basic is refused.
    expect((await grant({ resource: `${base}/keyed` }, basic('agent-post', POST_SECRET))).status).toBe(401);
  });

  it('a wrong secret gets 401 invalid_client and no token', async () => {
    const wrong = await grant({}, basic('agent-secret', `${SECRET}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(wrong.body.access_token).toBeUndefined();
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    const right = await grant();
    expect(right.status).toBe(200);
    expect(right.body.token_type).toBe('Bearer');
  });

  it('a client configured without the grant gets unauthorized_client, with its correct secret', async () => {
    const refused = await grant({}, basic('dashboard', DASHBOARD_SECRET));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('unauthorized_client');
    expect(refused.body.access_token).toBeUndefined();
    expect((await grant()).status).toBe(200);
  });

  it('a public client cannot use the grant: configured, or registered by anyone at /register', async () => {
    const configured = await grant({ client_id: 'public-app' }, {});
    expect(configured.status).toBe(400);
    expect(configured.body.error).toBe('unauthorized_client');

    const registration = await fetch(`${base}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Self-made agent', grant_types: ['client_credentials'], token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:1/cb'] }),
    });
    expect(registration.status).toBe(400);
    // Nor a self-registered confidential client: only the operator hands out this grant.
    const selfMade = await register(base, { token_endpoint_auth_method: 'client_secret_basic' });
    const minted = await grant({}, basic(selfMade.client_id, selfMade.client_secret!));
    expect(minted.status).toBe(400);
    expect(minted.body.error).toBe('unauthorized_client');
    expect((await grant()).status).toBe(200);
  });

  it('a replayed client assertion (same jti) is refused', async () => {
    const once = await assertion(agentKey);
    expect((await withAssertion(once)).status).toBe(200);
    const replayed = await withAssertion(once);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toBe('invalid_client');
    expect(replayed.body.access_token).toBeUndefined();
    expect(stack.logs.lines.join('\n')).not.toContain(once);
  });

  it('an assertion signed by another key with the same kid is refused', async () => {
    const forged = await withAssertion(await assertion(impostorKey));
    expect(forged.status).toBe(401);
    expect(forged.body.error).toBe('invalid_client');
    expect((await withAssertion(await assertion(agentKey))).status).toBe(200);
  });

  it('an assertion for another audience is refused; the issuer and the token endpoint are both accepted', async () => {
    for (const aud of ['https://other-server.example', `${base}/mcp`, `${base}/register`]) {
      const refused = await withAssertion(await assertion(agentKey, 'agent-keys', { aud }));
      expect(refused.status, aud).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
    }
    for (const aud of [base, `${base}/token`]) expect((await withAssertion(await assertion(agentKey, 'agent-keys', { aud }))).status, aud).toBe(200);
  });

  it('an expired assertion is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await withAssertion(await assertion(agentKey, 'agent-keys', { iat: now - 600, exp: now - 300 }));
    expect(expired.status).toBe(401);
    expect(expired.body.error).toBe('invalid_client');
    expect((await withAssertion(await assertion(agentKey, 'agent-keys', { iat: now, exp: now + 60 }))).status).toBe(200);
  });

  it('an assertion naming one client signed by another client\'s key is refused', async () => {
    const crossed = await withAssertion(await assertion(remoteKey, 'agent-keys'));
    expect(crossed.status).toBe(401);
    expect((await withAssertion(await assertion(remoteKey, 'agent-remote-keys'))).status).toBe(200);
  });

  it('a token for a route that passes on the user\'s upstream token is refused with invalid_target, naming why', async () => {
    const refused = await grant({ resource: `${base}/mcp` });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_target');
    expect(refused.body.error_description).toMatch(/upstream token/);
    expect(refused.body.access_token).toBeUndefined();
    // Without a resource the grant is for the first route, which is that one.
    expect((await grant({ resource: undefined })).body.error).toBe('invalid_target');
    expect((await grant({ resource: 'https://elsewhere.example/mcp' })).body.error).toBe('invalid_target');
    expect((await grant({ resource: `${base}/team` })).status).toBe(200);
  });

  it('a client-credentials token never comes with a refresh token, even when offline_access is asked for', async () => {
    const response = await grant({ scope: 'offline_access' });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(response.body.expires_in).toBe(stack.config.ttl.accessToken);
    expect((await mcpPost(`${base}/team`, response.body.access_token as string)).status).toBe(200);
  });

  it('the token is bound to its route: refused at another route, and at the upstream-token route', async () => {
    const token = (await grant()).body.access_token as string;
    expect((await mcpPost(`${base}/team`, token)).status).toBe(200);
    expect((await mcpPost(`${base}/keyed`, token)).status).toBe(401);
    expect((await mcpPost(`${base}/mcp`, token)).status).toBe(401);
  });

  it('a token issued while a route needed no upstream token gets 401 once the route passes the user\'s token on', async () => {
    const token = (await grant()).body.access_token as string;
    const sibling = await stack.startSibling({
      settings: { routes: [{ path: '/team', url: stack.demo.url, auth: 'upstream-token', timeout: 2 }] },
    });
    const response = await mcpPost(`${sibling.url}/team`, token);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_token');
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await mcpPost(`${base}/team`, token)).status).toBe(200);
  });

  it('access policy: clients: admits the listed client only, and no user list can admit a client', async () => {
    const listed = await grant({ resource: `${base}/ops`, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(agentKey) }, {});
    expect(listed.status).toBe(200);
    const unlisted = await grant({ resource: `${base}/ops` });
    expect(unlisted.status).toBe(400);
    expect(unlisted.body.error).toBe('unauthorized_client');
    // An email-domain policy: emails and groups never match a client.
    expect((await grant({ resource: `${base}/staff` })).body.error).toBe('unauthorized_client');
    // The client's token for /team does not open /ops either (audience), and users are not on the clients list.
    expect((await mcpPost(`${base}/ops`, (await grant()).body.access_token as string)).status).toBe(401);
  });

  it('no user can sign in with a subject that reads as a client\'s', async () => {
    const user = await register(base);
    const impostor = await signIn(base, user, { login: 'client:agent-secret', extra: { resource: `${base}/team` } });
    expect(impostor.searchParams.get('code')).toBeNull();
    expect(impostor.searchParams.get('error')).toBe('server_error');
    const alice = await signIn(base, user, { login: 'alice', extra: { resource: `${base}/team` } });
    expect(alice.searchParams.get('code')).toBeTruthy();
  });

  it('the metadata advertises the grant, private_key_jwt and its algorithms', async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(metadata.grant_types_supported).toContain('client_credentials');
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toContain('ES256');
  });

  it('a jwks_uri on a private address is not fetched unless private networks are allowed (the SSRF guard)', async () => {
    const guarded = await startServer();
    guarded.route('/jwks.json', json({ keys: [remoteKey.publicJwk] }));
    try {
      const clients = [{ client_id: 'agent-remote-keys', jwks_uri: `${guarded.origin}/jwks.json`, grant_types: ['client_credentials'] }];
      const routes = [{ url: 'http://127.0.0.1:9/team', auth: 'identity-headers' }];
      const tryWith = async (allowPrivateNetwork: boolean) => {
        const { app } = await inProcessApp(testConfig({ clients, routes, clientMetadataDocuments: { allowPrivateNetwork } }));
        const now = Math.floor(Date.now() / 1000);
        const value = await new SignJWT({ iss: 'agent-remote-keys', sub: 'agent-remote-keys', aud: 'https://proxy.example.com', exp: now + 60, jti: crypto.randomUUID() })
          .setProtectedHeader({ alg: 'ES256', kid: 'remote-1' })
          .sign(remoteKey.privateKey);
        const body = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: value });
        return app.request('/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      };
      expect((await tryWith(false)).status).toBe(401);
      expect(guarded.seen.requests).toBe(0);
      expect((await tryWith(true)).status).toBe(200);
      expect(guarded.seen.requests).toBe(1);
    } finally {
      await guarded.close();
    }
  });
});

describe('client credentials: configuration', () => {
  const load = (clients: unknown[], routes: unknown[] = [{ url: 'http://127.0.0.1:9/mcp', auth: 'identity-headers' }]) => () => testConfig({ clients, routes });

  it('refuses a public client, a missing key set, keys and a secret together, a private key, and names each setting', () => {
    expect(configProblems(load([{ client_id: 'a', grant_types: ['client_credentials'] }]))).toEqual([
      expect.stringMatching(/^clients\[0\]\.grant_types: client_credentials needs a confidential client/),
    ]);
    expect(configProblems(load([{ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'] }]))).toEqual([
      expect.stringMatching(/^clients\[0\]\.jwks_uri: is required for private_key_jwt/),
    ]);
    const both = configProblems(load([{ client_id: 'a', client_secret: SECRET, jwks_uri: 'https://keys.example/jwks', token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'] }]));
    expect(both).toEqual([expect.stringMatching(/^clients\[0\]\.client_secret: must not be set for private_key_jwt/)]);
    expect(configProblems(load([{ client_id: 'a', jwks_uri: 'http://keys.example/jwks', grant_types: ['client_credentials'] }]))).toEqual([
      expect.stringMatching(/^clients\[0\]\.jwks_uri: must use https/),
    ]);
    expect(configProblems(load([{ client_id: 'a', client_secret: SECRET, jwks_uri: 'https://keys.example/jwks', grant_types: ['client_credentials'] }]))).toEqual([
      expect.stringMatching(/^clients\[0\]\.jwks_uri: is used only with token_endpoint_auth_method private_key_jwt/),
    ]);
    const pasted = { kty: 'EC', crv: 'P-256', x: 'x-coordinate', y: 'y-coordinate', d: 'the-private-scalar' };
    expect(configProblems(load([{ client_id: 'a', jwks: { keys: [pasted] }, grant_types: ['client_credentials'] }]))).toEqual([
      'clients[0].jwks.keys[0].d: is private key material: configure the public key only',
    ]);
    expect(configProblems(load([{ client_id: 'a', client_secret: SECRET }]))).toEqual([
      expect.stringMatching(/^clients\[0\]\.redirect_uris: needs at least one redirect URI/),
    ]);
  });

  it('refuses a clients policy where no client can get a token; a client needs no redirect URI for the grant', () => {
    expect(configProblems(load([], [{ url: 'http://127.0.0.1:9/mcp', policy: { clients: ['agent'] } }]))).toEqual([
      expect.stringMatching(/^routes\[0\] \(http:\/\/127\.0\.0\.1:9\/mcp\)\.policy\.clients: no client gets a token of its own for auth upstream-token/),
    ]);
    const config = load([{ client_id: 'agent', client_secret: SECRET, grant_types: ['client_credentials'] }])();
    expect(config.clients[0]).toMatchObject({ client_id: 'agent', redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' });
  });
});

