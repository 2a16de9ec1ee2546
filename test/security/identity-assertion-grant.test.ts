import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { json, startServer, type TestServer } from '../cimd/servers.js';
import { BASE_ENV, configProblems } from '../support/config-problems.js';
import { inProcessApp, testConfig } from '../support/deps.js';
import { textOf } from '../support/mcp-client.js';
import { mcpPost, register, tokenRequest } from '../support/oauth-flow.js';
import { signingKey, type SigningKey } from '../support/signing-keys.js';
import { Stack } from '../support/stack.js';

/**
 * Enterprise-managed authorization (MCP extension; draft-ietf-oauth-identity-assertion-authz-grant):
 * a client presents an identity assertion (ID-JAG) its enterprise identity provider issued, and
 * gets an access token for that user without a browser. The enterprise provider is played by a
 * loopback server that publishes its keys and signs assertions with jose. Every refusal is played
 * from the attacker's side, next to the control that the same request works for its owner.
 */
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const WIKI_SECRET = 'wiki-app-secret-0123456789abcdef';
const OTHER_SECRET = 'other-app-secret-0123456789abcdef';

type Whoami = Record<string, string | null>;

/** An MCP client application as the extension describes it: the SDK's transport, with the assertion as its grant. */
class IdentityAssertionProvider implements OAuthClientProvider {
  saved: OAuthTokens | undefined;
  constructor(
    private readonly client: OAuthClientInformationMixed,
    private readonly assertion: () => Promise<string>,
  ) {}
  get redirectUrl() {
    return undefined;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'Wiki', redirect_uris: [], grant_types: [JWT_BEARER], token_endpoint_auth_method: 'client_secret_basic' };
  }
  clientInformation() {
    return this.client;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(): never {
    throw new Error('no browser: the assertion is the grant');
  }
  saveCodeVerifier() {}
  codeVerifier(): never {
    throw new Error('no authorization code in this flow');
  }
  async prepareTokenRequest() {
    return new URLSearchParams({ grant_type: JWT_BEARER, assertion: await this.assertion() });
  }
}

describe('identity assertions (ID-JAG): enterprise-managed authorization', () => {
  let enterprise: TestServer;
  let issuer: string;
  let tenantIssuer: string;
  let enterpriseKey: SigningKey;
  let tenantKey: SigningKey;
  let rogueKey: SigningKey;
  let documentKey: SigningKey;
  let documentClientId: string;
  let stack: Stack;
  let base: string;

  beforeAll(async () => {
    [enterpriseKey, tenantKey, rogueKey, documentKey] = await Promise.all([signingKey('corp-1'), signingKey('tenant-1'), signingKey('corp-1'), signingKey('wiki-doc-1')]);
    enterprise = await startServer();
    issuer = enterprise.origin;
    tenantIssuer = `${enterprise.origin}/tenant-b`;
    // The first issuer is found by discovery; the second's key set is configured.
    enterprise.route('/.well-known/openid-configuration', json({ issuer, jwks_uri: `${issuer}/jwks.json`, token_endpoint: `${issuer}/token` }));
    enterprise.route('/jwks.json', json({ keys: [enterpriseKey.publicJwk] }));
    enterprise.route('/tenant-b/keys', json({ keys: [tenantKey.publicJwk] }));
    // A trusted issuer whose discovery document names another issuer: its keys are not taken.
    enterprise.route('/lying/.well-known/openid-configuration', json({ issuer, jwks_uri: `${issuer}/jwks.json` }));
    // A client known by its metadata document, authenticating with private_key_jwt.
    documentClientId = `${enterprise.origin}/wiki-client.json`;
    enterprise.route(
      '/wiki-client.json',
      json({
        client_id: documentClientId,
        client_name: 'Wiki (metadata document)',
        redirect_uris: ['http://127.0.0.1:1/callback'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [documentKey.publicJwk] },
        grant_types: ['authorization_code', JWT_BEARER],
      }),
    );
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/team', url: demoUrl, auth: 'identity-headers', timeout: 2 },
        { path: '/staff', url: demoUrl, auth: 'identity-headers', timeout: 2, policy: { groups: ['engineering'] } },
      ],
      extra: {
        // The enterprise provider and the metadata document live on loopback in this test.
        clientMetadataDocuments: { allowPrivateNetwork: true },
        scopes: ['wiki.read', 'wiki.write'],
        trustedIdentityIssuers: [{ issuer }, { issuer: tenantIssuer, jwksUri: `${tenantIssuer}/keys` }, { issuer: `${enterprise.origin}/lying` }],
        clients: [
          { client_id: 'wiki-app', client_secret: WIKI_SECRET, client_name: 'Wiki', grant_types: [JWT_BEARER] },
          { client_id: 'other-app', client_secret: OTHER_SECRET, grant_types: [JWT_BEARER] },
        ],
      },
    });
    base = stack.publicUrl;
  });
  afterAll(async () => {
    await stack?.close();
    await enterprise?.close();
  });

  /** What the enterprise provider issues after its token exchange: for wiki-app, for alice, for /team, unless told otherwise. */
  async function idJag(claims: Record<string, unknown> = {}, options: { key?: SigningKey; typ?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const key = options.key ?? enterpriseKey;
    return new SignJWT({
      iss: issuer,
      sub: 'U019488227',
      aud: base,
      client_id: 'wiki-app',
      resource: `${base}/team`,
      email: 'alice@corp.example',
      email_verified: true,
      name: 'Alice Example',
      groups: ['engineering'],
      scope: 'wiki.read',
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 300,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: options.typ ?? 'oauth-id-jag+jwt' })
      .sign(key.privateKey);
  }

  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const exchange = (assertion: string, extra: Record<string, string | undefined> = {}, headers: Record<string, string> = basic('wiki-app', WIKI_SECRET)) =>
    tokenRequest(base, { grant_type: JWT_BEARER, assertion, ...extra }, headers);

  /** The refusal, and for invalid_grant the check that failed, as the log gives it (never the client). */
  async function expectRefused(response: Awaited<ReturnType<typeof exchange>>, error: string, reason?: string): Promise<void> {
    expect(response.status).toBe(400);
    expect(response.body.error).toBe(error);
    expect(response.body.access_token).toBeUndefined();
    if (reason === undefined) return;
    const requestId = response.headers.get('x-request-id');
    const logged = stack.logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'oauth request refused' && line.request_id === requestId);
    expect(String(logged?.detail)).toMatch(new RegExp(`^${reason}`));
  }

  it('control: the SDK client exchanges an ID-JAG with no browser, calls a tool, and the MCP server sees the user', async () => {
    const provider = new IdentityAssertionProvider({ client_id: 'wiki-app', client_secret: WIKI_SECRET }, () => idJag());
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/team`), { authProvider: provider });
    const client = new Client({ name: 'wiki', version: '1.0.0' });
    await client.connect(transport);
    const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Whoami;
    await client.close();
    expect(seen['x-forwarded-user']).toBe('U019488227');
    expect(seen['x-forwarded-email']).toBe('alice@corp.example');
    expect(seen['x-forwarded-name']).toBe('Alice Example');
    expect(seen['x-forwarded-access-token']).toBeNull();
    expect(seen.authorization).toBeNull();
    expect(provider.saved?.refresh_token).toBeUndefined();
    expect(provider.saved?.scope).toBe('wiki.read');

    const issued = stack.logs.auditEvents.filter((event) => event.event === 'token_issued').at(-1);
    expect(issued).toMatchObject({ user: { sub: 'U019488227', email: 'alice@corp.example' }, client: { name: 'Wiki' }, route: '/team', outcome: 'allowed' });
  });

  it('control: a token response without a refresh token, the scope the assertion granted within the proxy\'s, and an issuer whose key set is configured', async () => {
    // A scope the route does not offer is refused, as at /authorize; one the assertion did not grant is left out.
    const unoffered = await exchange(await idJag({ scope: 'wiki.read wiki.write admin' }), { scope: 'wiki.write admin' });
    expect([unoffered.status, unoffered.body.error]).toEqual([400, 'invalid_scope']);
    const response = await exchange(await idJag({ scope: 'wiki.write admin' }), { scope: 'wiki.write' });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(response.body.scope).toBe('wiki.write');
    const tenant = await exchange(await idJag({ iss: tenantIssuer }, { key: tenantKey }));
    expect(tenant.status).toBe(200);
    expect((await mcpPost(`${base}/team`, tenant.body.access_token as string)).status).toBe(200);
  });

  it('a JWT of another type (an ID token, a plain JWT) signed by the trusted provider is refused', async () => {
    for (const typ of ['JWT', 'at+jwt', 'id-jag+jwt']) await expectRefused(await exchange(await idJag({}, { typ })), 'invalid_grant', 'wrong_type');
    expect((await exchange(await idJag({}, { typ: 'application/oauth-id-jag+jwt' }))).status).toBe(200);
  });

  it('an assertion from an issuer the proxy does not trust is refused, and so is one claiming a trusted issuer with another key', async () => {
    await expectRefused(await exchange(await idJag({ iss: 'https://rogue-idp.example' }, { key: rogueKey })), 'invalid_grant', 'unknown_issuer');
    // Same kid as the trusted key, so only the signature tells them apart.
    await expectRefused(await exchange(await idJag({}, { key: rogueKey })), 'invalid_grant', 'bad_signature');
    // One trusted issuer's key does not sign for the other, nor does a discovery document that names another issuer lend it keys.
    await expectRefused(await exchange(await idJag({ iss: tenantIssuer })), 'invalid_grant', 'unknown_key');
    await expectRefused(await exchange(await idJag({ iss: `${enterprise.origin}/lying` })), 'invalid_grant', 'keys_unavailable: discovery: the document names issuer');
    expect((await exchange(await idJag())).status).toBe(200);
  });

  it('an assertion for another authorization server is refused', async () => {
    for (const aud of ['https://other-as.example', `${base}/team`, `${base}/token`, issuer]) {
      await expectRefused(await exchange(await idJag({ aud })), 'invalid_grant', 'invalid_claims: aud');
    }
    expect((await exchange(await idJag({ aud: `${base}/` }))).status).toBe(200);
  });

  it('an assertion issued to another client is refused, with that client\'s own credentials too', async () => {
    const stolen = await idJag({ client_id: 'wiki-app' });
    await expectRefused(await exchange(stolen, {}, basic('other-app', OTHER_SECRET)), 'invalid_grant', 'wrong_client');
    // Its owner can still use it: the refusal spent nothing.
    expect((await exchange(stolen)).status).toBe(200);
    expect((await exchange(await idJag({ client_id: 'other-app' }), {}, basic('other-app', OTHER_SECRET))).status).toBe(200);
  });

  it('an assertion for another resource is refused: another server, another route than the one asked for, a route that needs the user\'s upstream token', async () => {
    await expectRefused(await exchange(await idJag({ resource: 'https://other-mcp.example/mcp' })), 'invalid_target');
    await expectRefused(await exchange(await idJag({ resource: `${base}/team` }), { resource: `${base}/staff` }), 'invalid_target');
    const upstream = await exchange(await idJag({ resource: `${base}/mcp` }));
    await expectRefused(upstream, 'invalid_target');
    expect(upstream.body.error_description).toMatch(/upstream token/);
    await expectRefused(await exchange(await idJag({ resource: undefined })), 'invalid_grant');
    expect((await exchange(await idJag({ resource: undefined }))).body.error_description).toMatch(/names no resource/);
    // Several resources: the request picks one of them.
    const several = await idJag({ resource: [`${base}/staff`, `${base}/team`] });
    expect((await exchange(several, { resource: `${base}/team` })).status).toBe(200);
  });

  it('an expired assertion, one issued in the future, and one living too long are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await exchange(await idJag({ iat: now - 600, exp: now - 120 })), 'invalid_grant', 'expired');
    await expectRefused(await exchange(await idJag({ iat: now + 600, exp: now + 900 })), 'invalid_grant', 'invalid_claims: iat');
    await expectRefused(await exchange(await idJag({ exp: now + 86_400 })), 'invalid_grant', 'lifetime_too_long');
    expect((await exchange(await idJag({ iat: now - 10, exp: now + 20 }))).status).toBe(200);
  });

  it('a replayed assertion is refused', async () => {
    const once = await idJag();
    expect((await exchange(once)).status).toBe(200);
    await expectRefused(await exchange(once), 'invalid_grant', 'replayed');
    expect(stack.logs.lines.join('\n')).not.toContain(once);
  });

  it('a public client cannot exchange an assertion, even one issued to it', async () => {
    const app = await register(base, { token_endpoint_auth_method: 'none', grant_types: ['authorization_code', JWT_BEARER] });
    await expectRefused(await exchange(await idJag({ client_id: app.client_id }), { client_id: app.client_id }, {}), 'unauthorized_client');
    // A registered confidential client can, when its provider stamps its client_id.
    const confidential = await register(base, { token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', JWT_BEARER] });
    expect((await exchange(await idJag({ client_id: confidential.client_id }), {}, basic(confidential.client_id, confidential.client_secret!))).status).toBe(200);
  });

  it('a client known by its metadata document exchanges an assertion, authenticating with its own signed assertion', async () => {
    const now = Math.floor(Date.now() / 1000);
    const clientAssertion = () =>
      new SignJWT({ iss: documentClientId, sub: documentClientId, aud: base, iat: now, exp: now + 60, jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: documentKey.kid })
        .sign(documentKey.privateKey);
    const authenticated = async () => ({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await clientAssertion() });
    const response = await exchange(await idJag({ client_id: documentClientId }), await authenticated(), {});
    expect(response.status).toBe(200);
    await expectRefused(await exchange(await idJag(), await authenticated(), {}), 'invalid_grant', 'wrong_client');
  });

  it('a client that did not register the grant is refused', async () => {
    const app = await register(base, { token_endpoint_auth_method: 'client_secret_basic' });
    await expectRefused(await exchange(await idJag({ client_id: app.client_id }), {}, basic(app.client_id, app.client_secret!)), 'unauthorized_client');
  });

  it('the access policy applies as for a signed-in user', async () => {
    expect((await exchange(await idJag({ resource: `${base}/staff` }))).status).toBe(200);
    await expectRefused(await exchange(await idJag({ resource: `${base}/staff`, groups: ['sales'] })), 'invalid_grant', 'not on the allow list');
    await expectRefused(await exchange(await idJag({ resource: `${base}/staff`, groups: undefined })), 'invalid_grant');
  });

  it('no assertion makes a user of a subject reserved for clients', async () => {
    await expectRefused(await exchange(await idJag({ sub: 'client:wiki-app' })), 'invalid_grant', 'invalid_claims');
  });

  it('the metadata advertises the grant and the ID-JAG profile', async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
    expect(metadata.authorization_grant_profiles_supported).toEqual(['urn:ietf:params:oauth:grant-profile:id-jag']);
  });

  it('without a trusted issuer the grant does not exist', async () => {
    const { app } = await inProcessApp(
      testConfig({ clients: [{ client_id: 'wiki-app', client_secret: WIKI_SECRET, grant_types: ['client_credentials'] }], routes: [{ url: 'http://127.0.0.1:9/team', auth: 'identity-headers' }] }),
    );
    const response = await app.request('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic('wiki-app', WIKI_SECRET) },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion: await idJag() }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('unsupported_grant_type');
    const metadata = (await (await app.request('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    expect(metadata.grant_types_supported).not.toContain(JWT_BEARER);
    expect(metadata.authorization_grant_profiles_supported).toBeUndefined();
  });
});

describe('identity assertions: configuration', () => {
  it('names each bad setting: the issuer, its key set URL, a duplicate, and a client with the grant but no issuer', () => {
    // As in a configuration file, where settings are named by their place in it.
    const file = { routes: [{ url: 'http://mcp:3000/mcp', auth: 'identity-headers' }] };
    const load = (extra: Record<string, unknown>) => () => loadConfig({ ...BASE_ENV, CAPSULE_CONFIG: '/etc/capsule.json' }, () => JSON.stringify({ ...file, ...extra }));
    expect(configProblems(load({ trustedIdentityIssuers: [{ issuer: 'http://idp.example.com' }] }))).toEqual([
      expect.stringMatching(/^trustedIdentityIssuers\[0\]\.issuer: must use https/),
    ]);
    expect(configProblems(load({ trustedIdentityIssuers: [{ issuer: 'https://idp.example.com', jwksUri: 'not a url' }] }))).toEqual([
      expect.stringMatching(/^trustedIdentityIssuers\[0\]\.jwksUri: /),
    ]);
    expect(configProblems(load({ trustedIdentityIssuers: [{ issuer: 'https://idp.example.com' }, { issuer: 'https://idp.example.com' }] }))).toEqual([
      'trustedIdentityIssuers[1].issuer: https://idp.example.com is already listed as trustedIdentityIssuers[0]',
    ]);
    expect(configProblems(load({ trustedIdentityIssuers: [{ issuer: 'https://idp.example.com', jwks_uri: 'https://idp.example.com/k' }] }))).toEqual([
      'trustedIdentityIssuers[0].jwks_uri: unknown key; did you mean jwksUri?',
    ]);
    expect(configProblems(load({ clients: [{ client_id: 'wiki', client_secret: WIKI_SECRET, grant_types: [JWT_BEARER] }] }))).toEqual([
      `clients[0].grant_types: ${JWT_BEARER} needs an issuer in trustedIdentityIssuers`,
    ]);
    expect(configProblems(load({ trustedIdentityIssuers: [{ issuer: 'https://idp.example.com' }], clients: [{ client_id: 'wiki', grant_types: [JWT_BEARER] }] }))).toEqual([
      expect.stringMatching(/^clients\[0\]\.grant_types: urn:ietf:params:oauth:grant-type:jwt-bearer needs a confidential client/),
    ]);
  });

  it('takes one issuer from the environment, and names its variable when it is wrong', () => {
    const env = { ...BASE_ENV, CAPSULE_MCP_URL: 'http://mcp:3000/mcp', CAPSULE_DOWNSTREAM_AUTH: 'identity-headers' };
    const { config } = loadConfig({ ...env, CAPSULE_ID_JAG_ISSUERS: 'https://corp.okta.example', CAPSULE_ID_JAG_JWKS_URI: 'https://corp.okta.example/keys' });
    expect(config.trustedIdentityIssuers).toEqual([{ issuer: 'https://corp.okta.example', jwksUri: 'https://corp.okta.example/keys' }]);
    expect(loadConfig({ ...env, CAPSULE_ID_JAG_ISSUERS: 'https://corp.okta.example' }).config.trustedIdentityIssuers).toEqual([{ issuer: 'https://corp.okta.example' }]);
    expect(configProblems(() => loadConfig({ ...env, CAPSULE_ID_JAG_ISSUERS: 'http://corp.okta.example' }))).toEqual([expect.stringMatching(/^CAPSULE_ID_JAG_ISSUERS: must use https/)]);
    expect(configProblems(() => loadConfig({ ...env, CAPSULE_ID_JAG_JWKS_URI: 'https://corp.okta.example/keys' }))).toEqual(['CAPSULE_ID_JAG_ISSUERS: is required']);
  });
});
