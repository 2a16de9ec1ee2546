import { beforeAll, describe, expect, it } from 'vitest';
import type { ProxyApp } from '../../src/http/app.js';
import { inProcessApp, testConfig } from '../support/deps.js';

const ISSUER = 'https://proxy.example.com';

describe('metadata documents', () => {
  let app: ProxyApp;
  beforeAll(async () => {
    ({ app } = await inProcessApp(testConfig({ scopes: 'mcp:read mcp:write' })));
  });

  it('publishes RFC 8414 metadata with every field MCP clients rely on', async () => {
    const response = await app.request('/.well-known/oauth-authorization-server');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: `${ISSUER}/token`,
      registration_endpoint: `${ISSUER}/register`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'],
      client_id_metadata_document_supported: true,
      revocation_endpoint: `${ISSUER}/revoke`,
      revocation_endpoint_auth_methods_supported: ['none', 'client_secret_post', 'client_secret_basic', 'private_key_jwt'],
      scopes_supported: ['mcp:read', 'mcp:write', 'offline_access'],
      authorization_response_iss_parameter_supported: true,
    });
  });

  it('publishes RFC 9728 metadata at the path-inserted and root locations, resource equal to the MCP URL', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await app.request(path);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        resource: `${ISSUER}/mcp`,
        authorization_servers: [ISSUER],
        bearer_methods_supported: ['header'],
        // offline_access belongs in the AS metadata only (SEP-2207).
        scopes_supported: ['mcp:read', 'mcp:write'],
      });
    }
  });

  it('takes the issuer from configuration, never from the Host header', async () => {
    const response = await app.request('/.well-known/oauth-authorization-server', { headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } });
    expect(JSON.stringify(await response.json())).not.toContain('evil.example');
  });

  it('answers preflight requests for browser clients', async () => {
    const response = await app.request('/token', {
      method: 'OPTIONS',
      headers: { origin: 'https://inspector.example', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('serves no OpenID configuration, since the proxy is not an OpenID provider', async () => {
    expect((await app.request('/.well-known/openid-configuration')).status).toBe(404);
  });
});

describe('dynamic client registration', () => {
  let app: ProxyApp;
  beforeAll(async () => {
    ({ app } = await inProcessApp());
  });

  const registerWith = (body: unknown, contentType = 'application/json') =>
    app.request('/register', { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('defaults to client_secret_basic, derives a secret, and echoes all metadata with 201 and no-store', async () => {
    const response = await registerWith({ redirect_uris: ['https://app.example.com/cb'], client_name: 'App', application_type: 'web', contacts: ['x'] });
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      redirect_uris: ['https://app.example.com/cb'],
      client_name: 'App',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      client_secret_expires_at: 0,
    });
    expect(body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(typeof body.client_id_issued_at).toBe('number');
    // Unknown members are ignored, not registered.
    expect(body).not.toHaveProperty('application_type');
    expect(body).not.toHaveProperty('contacts');
  });

  it('issues no secret to a public client', async () => {
    const response = await registerWith({ redirect_uris: ['http://127.0.0.1:9999/cb'], token_endpoint_auth_method: 'none' });
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.token_endpoint_auth_method).toBe('none');
    expect(body).not.toHaveProperty('client_secret');
    expect(body).not.toHaveProperty('client_secret_expires_at');
  });

  it('accepts Cursor-style native redirect URIs alongside loopback ones', async () => {
    const response = await registerWith({
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'http://127.0.0.1:5173/callback'],
      token_endpoint_auth_method: 'none',
    });
    expect(response.status).toBe(201);
  });

  it.each([
    [{ redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri'],
    [{ redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
    [{ redirect_uris: ['https://app.example.com/cb#x'] }, 'invalid_redirect_uri'],
    [{ redirect_uris: [] }, 'invalid_redirect_uri'],
    [{}, 'invalid_redirect_uri'],
    [{ redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
    [{ redirect_uris: ['https://a.example/cb'], grant_types: ['implicit'] }, 'invalid_client_metadata'],
    [{ redirect_uris: ['https://a.example/cb'], response_types: ['token'] }, 'invalid_client_metadata'],
    [{ redirect_uris: ['https://a.example/cb'], client_name: 'x'.repeat(201) }, 'invalid_client_metadata'],
    [[1, 2], 'invalid_client_metadata'],
    ['{not json', 'invalid_client_metadata'],
  ])('refuses %j with %s', async (body, error) => {
    const response = await registerWith(body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    // Descriptions may quote the caller's input; no browser may sniff them into HTML.
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const json = (await response.json()) as { error: string; error_description: string };
    expect(json.error).toBe(error);
    expect(json.error_description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
  });

  it('refuses a non-JSON content type and an oversized body', async () => {
    expect((await registerWith('redirect_uris=x', 'application/x-www-form-urlencoded')).status).toBe(400);
    const huge = await registerWith({ redirect_uris: ['https://a.example/cb'], padding: 'x'.repeat(20_000) });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });
});

describe('token endpoint input', () => {
  let app: ProxyApp;
  beforeAll(async () => {
    ({ app } = await inProcessApp());
  });
  const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    app.request('/token', { method: 'POST', headers: { 'content-type': contentType }, body });

  it.each([
    ['grant_type=password', 'unsupported_grant_type', 400],
    ['grant_type=authorization_code&grant_type=authorization_code', 'invalid_request', 400],
    ['', 'invalid_request', 400],
    ['grant_type=authorization_code&client_id=garbage&code=x', 'invalid_client', 401],
  ])('answers %s with %s', async (body, error, status) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(((await response.json()) as { error: string }).error).toBe(error);
  });

  it('refuses JSON bodies', async () => {
    const response = await post('{"grant_type":"authorization_code"}', 'application/json');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('registration controls', () => {
  it('limits registrations per client address and says when to retry', async () => {
    const { app } = await inProcessApp(testConfig({ registration: { perMinute: 2 } }));
    const register = () =>
      app.request('/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'] }),
      });
    expect((await register()).status).toBe(201);
    expect((await register()).status).toBe(201);
    const limited = await register();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toBe('temporarily_unavailable');
  });

  it('caps what a registration may seal into its client_id', async () => {
    const { app } = await inProcessApp();
    const uris = Array.from({ length: 20 }, (_, i) => `https://app.example.com/${'x'.repeat(180)}/${i}`);
    const response = await app.request('/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: uris }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error_description: string }).error_description).toMatch(/too large/);
  });

  it('can turn metadata documents off: no flag, no private_key_jwt', async () => {
    const { app } = await inProcessApp(testConfig({ clientMetadataDocuments: { enabled: 'false' } }));
    const metadata = (await (await app.request('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty('client_id_metadata_document_supported');
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['none', 'client_secret_post', 'client_secret_basic']);
  });

  it('can turn open registration off: no endpoint, and no registration_endpoint in the metadata', async () => {
    const { app } = await inProcessApp(testConfig({ registration: { dynamic: 'false' } }));
    const metadata = (await (await app.request('/.well-known/oauth-authorization-server')).json()) as Record<string, unknown>;
    expect(metadata).not.toHaveProperty('registration_endpoint');
    const response = await app.request('/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(404);
  });
});
