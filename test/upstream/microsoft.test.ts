import { generateKeyPair, SignJWT } from 'jose';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import * as oauth from 'oauth4webapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamClient } from '../../src/upstream/create-upstream-client.js';
import { resolveUpstream, upstreamSettingsSchema } from '../../src/upstream/settings.js';
import { UpstreamError, type UpstreamLoginSecrets } from '../../src/upstream/upstream-client.js';

/**
 * The microsoft preset against msw handlers shaped like Entra ID v2: a tenant
 * named by domain whose discovery names its GUID issuer, ID tokens without
 * email_verified, and the xms_edov optional claim.
 */

const LOGIN = 'https://login.microsoftonline.com';
const TENANT_ID = '9a1b2c3d-0000-4000-8000-123456789abc';
const OTHER_TENANT_ID = 'ffffffff-0000-4000-8000-000000000000';
const TENANT_ISSUER = `${LOGIN}/${TENANT_ID}/v2.0`;
const CLIENT_ID = '6731de76-14a6-49ae-97bc-6eba6914391e';
const CLIENT_SECRET = 'entra~secret.with+symbols';
const REDIRECT_URI = 'https://mcp.example.test/oauth/callback';
const NOW = Date.now();

const { privateKey } = await generateKeyPair('RS256');

let discoveredIssuer = TENANT_ISSUER;
let idTokenClaims: Record<string, unknown> = {};
let graphRequests = 0;
const tokenBodies: URLSearchParams[] = [];

const discoveryFor = (tenant: string) => ({
  issuer: discoveredIssuer,
  authorization_endpoint: `${LOGIN}/${tenant}/oauth2/v2.0/authorize`,
  token_endpoint: `${LOGIN}/${tenant}/oauth2/v2.0/token`,
  userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
  jwks_uri: `${LOGIN}/${tenant}/discovery/v2.0/keys`,
  response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
  subject_types_supported: ['pairwise'],
  id_token_signing_alg_values_supported: ['RS256'],
  token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
});

const server = setupServer(
  http.get(`${LOGIN}/:tenant/v2.0/.well-known/openid-configuration`, ({ params }) => HttpResponse.json(discoveryFor(String(params['tenant'])))),
  http.post(`${LOGIN}/:tenant/oauth2/v2.0/token`, async ({ request }) => {
    const body = new URLSearchParams(await request.text());
    tokenBodies.push(body);
    if (body.get('client_secret') !== CLIENT_SECRET) return HttpResponse.json({ error: 'invalid_client' }, { status: 401 });
    const idToken = await new SignJWT(idTokenClaims).setProtectedHeader({ alg: 'RS256', kid: 'entra-key' }).sign(privateKey);
    return HttpResponse.json({
      token_type: 'Bearer',
      scope: 'openid email profile offline_access https://graph.microsoft.com/User.Read',
      expires_in: 4567,
      access_token: 'eyJ0eXAiOiJKV1Qi.graph-access-token',
      refresh_token: '1.AQ-long-entra-refresh-token',
      id_token: idToken,
    });
  }),
  http.all('https://graph.microsoft.com/*', () => {
    graphRequests++;
    return HttpResponse.json({ sub: 'from-graph', email: 'graph@example.test', email_verified: true });
  }),
);

function entraClient(extra: Record<string, unknown> = {}) {
  const settings = upstreamSettingsSchema.parse({ provider: 'microsoft', tenant: 'contoso.com', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...extra });
  return createUpstreamClient(resolveUpstream(settings), { clock: () => NOW });
}

function secrets(): UpstreamLoginSecrets {
  return { state: oauth.generateRandomState(), codeVerifier: oauth.generateRandomCodeVerifier(), nonce: oauth.generateRandomNonce() };
}

/** An ID token as Entra issues it for this app: no email_verified, ever. */
function claimsFor(login: UpstreamLoginSecrets, extra: Record<string, unknown> = {}) {
  const iat = Math.floor(NOW / 1000);
  return {
    ver: '2.0',
    iss: TENANT_ISSUER,
    aud: CLIENT_ID,
    sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
    oid: '00000000-0000-0000-66f3-3332eca7ea81',
    tid: TENANT_ID,
    iat,
    nbf: iat,
    exp: iat + 3600,
    nonce: login.nonce,
    name: 'Adele Vance',
    preferred_username: 'adelev@contoso.com',
    email: 'adele.vance@contoso.com',
    ...extra,
  };
}

async function login(extra: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
  const upstream = entraClient(settings);
  const current = secrets();
  const authorizationUrl = await upstream.authorizationUrl(current, REDIRECT_URI);
  idTokenClaims = claimsFor(current, extra);
  const callback = new URL(REDIRECT_URI);
  callback.search = new URLSearchParams({ code: 'entra-code', state: current.state }).toString();
  const result = await upstream.completeLogin(callback, current, REDIRECT_URI).catch((e: unknown) => e);
  return { authorizationUrl, result };
}

describe('microsoft preset', () => {
  beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
  afterEach(() => {
    discoveredIssuer = TENANT_ISSUER;
    graphRequests = 0;
    tokenBodies.length = 0;
  });
  afterAll(() => server.close());

  it('discovers a domain tenant, requests offline_access, and posts the secret', async () => {
    const { authorizationUrl, result } = await login({ xms_edov: true });
    expect(`${authorizationUrl.origin}${authorizationUrl.pathname}`).toBe(`${LOGIN}/contoso.com/oauth2/v2.0/authorize`);
    expect(authorizationUrl.searchParams.get('scope')).toBe('openid email profile offline_access');
    expect(result).not.toBeInstanceOf(Error);
    expect(tokenBodies[0]?.get('client_secret')).toBe(CLIENT_SECRET);
    expect(tokenBodies[0]?.get('client_id')).toBe(CLIENT_ID);
  });

  it('counts the email as verified only with xms_edov, and never asks Graph userinfo', async () => {
    const verified = await login({ xms_edov: true, groups: ['b6ca5d67-9a3b-4d6f-8d3e-2f9c4c0f3a11'] });
    expect(verified.result).toMatchObject({
      identity: {
        sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
        email: 'adele.vance@contoso.com',
        email_verified: true,
        name: 'Adele Vance',
        groups: ['b6ca5d67-9a3b-4d6f-8d3e-2f9c4c0f3a11'],
      },
      tokens: { expires_at: Math.floor(NOW / 1000) + 4567, refresh_token: '1.AQ-long-entra-refresh-token' },
    });

    const unverified = await login();
    expect(unverified.result).toMatchObject({ identity: { email: 'adele.vance@contoso.com', email_verified: false } });
    const falseClaim = await login({ xms_edov: false, email_verified: true });
    // email_verified is not what Entra's preset reads: only xms_edov counts.
    expect(falseClaim.result).toMatchObject({ identity: { email_verified: false } });
    expect(graphRequests).toBe(0);
  });

  it('uses the directory object id as subject and app roles as groups when configured', async () => {
    const { result } = await login({ roles: ['MCP.Admin'] }, { claims: 'subject=oid groups=roles' });
    expect(result).toMatchObject({ identity: { sub: '00000000-0000-0000-66f3-3332eca7ea81', groups: ['MCP.Admin'] } });
  });

  it('refuses an ID token issued by another tenant', async () => {
    const { result } = await login({ iss: `${LOGIN}/${OTHER_TENANT_ID}/v2.0`, tid: OTHER_TENANT_ID });
    expect(result).toBeInstanceOf(UpstreamError);
    expect((result as UpstreamError).kind).toBe('unavailable');
    expect((result as UpstreamError).detail).toMatch(/"iss"/);
  });

  it.each([
    ['the multi-tenant template', `${LOGIN}/{tenantid}/v2.0`],
    ['another host', `https://login.example.test/${TENANT_ID}/v2.0`],
    ['a tenant-less path', `${LOGIN}/v2.0`],
  ])('refuses a domain discovery document naming %s as issuer', async (_name, issuer) => {
    discoveredIssuer = issuer;
    const error = await entraClient().ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).detail).toMatch(/Entra named an issuer other than/);
  });

  it('requires the exact tenant issuer when the tenant is a GUID', async () => {
    const upstream = entraClient({ tenant: TENANT_ID });
    await expect(upstream.ready()).resolves.toBeUndefined();
    discoveredIssuer = `${LOGIN}/${OTHER_TENANT_ID}/v2.0`;
    const error = await entraClient({ tenant: TENANT_ID }).ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
  });
});
