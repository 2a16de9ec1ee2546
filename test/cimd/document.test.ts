import { describe, expect, it } from 'vitest';
import { isConfidentialDocument, parseClientMetadataDocument } from '../../src/oauth/cimd/document.js';
import { cacheLifetimeSeconds, statedFreshness } from '../../src/oauth/cimd/cache-lifetime.js';

const CLIENT_ID = 'https://app.example.com/oauth/client.json';
const context = { clientId: CLIENT_ID, redirectSchemes: ['cursor'] };
const base = { client_id: CLIENT_ID, client_name: 'Example App', redirect_uris: ['https://app.example.com/callback'] };
const publicKey = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };

function problem(doc: unknown): string {
  const result = parseClientMetadataDocument(doc, context);
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.problem;
}

describe('client metadata document schema (C4, C5, C7)', () => {
  it('applies defaults and drops members it does not use', () => {
    const result = parseClientMetadataDocument({ ...base, application_type: 'web', client_uri: 'https://app.example.com', logo_uri: 'javascript:alert(1)' }, context);
    expect(result).toEqual({
      ok: true,
      document: {
        ...base,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        client_uri: 'https://app.example.com',
      },
    });
    expect(result.ok && isConfidentialDocument(result.document)).toBe(false);
  });

  it('keeps refresh_token, ignores unknown grant types and accepts allowlisted and loopback redirect URIs', () => {
    const result = parseClientMetadataDocument(
      {
        ...base,
        redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      },
      context,
    );
    expect(result.ok && result.document.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });

  it('accepts private_key_jwt with inline public keys or a jwks_uri', () => {
    const inline = parseClientMetadataDocument({ ...base, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicKey] } }, context);
    expect(inline.ok && isConfidentialDocument(inline.document)).toBe(true);
    const remote = parseClientMetadataDocument({ ...base, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://app.example.com/jwks' }, context);
    expect(remote.ok && remote.document.jwks_uri).toBe('https://app.example.com/jwks');
  });

  it.each([
    [{ ...base, client_id: 'https://app.example.com/oauth/client.json/' }, /client_id: must equal/],
    [{ ...base, client_id: 'https://APP.example.com/oauth/client.json' }, /client_id: must equal/],
    [{ client_id: CLIENT_ID, redirect_uris: base.redirect_uris }, /client_name/],
    [{ ...base, client_name: '   ' }, /client_name/],
    [{ ...base, client_name: 'Evil\u0000App' }, /client_name: must be visible text/],
    [{ ...base, redirect_uris: [] }, /redirect_uris/],
    [{ client_id: CLIENT_ID, client_name: 'x' }, /redirect_uris/],
    [{ ...base, redirect_uris: ['http://app.example.com/callback'] }, /redirect_uris\[0\]: must use https/],
    [{ ...base, redirect_uris: ['https://ok.example/cb', 'myapp://cb'] }, /redirect_uris\[1\]: .*allowlist/],
    [{ ...base, redirect_uris: ['javascript:alert(1)'] }, /forbidden scheme/],
    [{ ...base, client_secret: 'shh' }, /client_secret: must not be present/],
    [{ ...base, client_secret_expires_at: 0 }, /client_secret_expires_at: must not be present/],
    [{ ...base, token_endpoint_auth_method: 'client_secret_basic' }, /shared secret/],
    [{ ...base, token_endpoint_auth_method: 'client_secret_post' }, /shared secret/],
    [{ ...base, token_endpoint_auth_method: 'client_secret_jwt' }, /shared secret/],
    [{ ...base, token_endpoint_auth_method: 'tls_client_auth' }, /not supported/],
    [{ ...base, token_endpoint_auth_method: 'private_key_jwt' }, /needs jwks_uri or jwks/],
    [{ ...base, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...publicKey, d: 'secret' }] } }, /public keys only/],
    [{ ...base, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, /jwks/],
    [{ ...base, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://app.example.com/jwks' }, /jwks_uri: must be an https URL/],
    [{ ...base, jwks_uri: 'https://app.example.com/jwks', jwks: { keys: [publicKey] } }, /together/],
    [{ ...base, grant_types: ['refresh_token'] }, /grant_types: must include authorization_code/],
    [{ ...base, response_types: ['token'] }, /response_types/],
    [['not', 'an', 'object'], /not a JSON object/],
    [null, /not a JSON object/],
  ])('refuses an invalid document (%#)', (doc, reason) => {
    expect(problem(doc)).toMatch(reason);
  });
});

describe('cache lifetime from HTTP headers', () => {
  const bounds = { minSeconds: 60, maxSeconds: 86_400, defaultSeconds: 300 };
  const now = Date.UTC(2026, 0, 1);
  const lifetime = (headers: Record<string, string>) => cacheLifetimeSeconds(new Headers(headers), now, bounds);

  it('follows max-age, s-maxage and Age', () => {
    expect(lifetime({ 'cache-control': 'public, max-age=600' })).toBe(600);
    expect(lifetime({ 'cache-control': 'max-age=600, s-maxage=900' })).toBe(900);
    expect(lifetime({ 'cache-control': 'max-age=600', age: '100' })).toBe(500);
  });

  it('follows Expires relative to Date, or to now without Date', () => {
    expect(lifetime({ expires: new Date(now + 7_200_000).toUTCString() })).toBe(7_200);
    expect(lifetime({ date: new Date(now - 1_000_000).toUTCString(), expires: new Date(now).toUTCString() })).toBe(1_000);
    expect(statedFreshness(new Headers({ expires: 'garbage' }), now)).toBe(0);
  });

  it('clamps to the bounds, keeps no-store for the minimum, and defaults without headers', () => {
    expect(lifetime({ 'cache-control': 'max-age=5' })).toBe(60);
    expect(lifetime({ 'cache-control': 'max-age=31536000' })).toBe(86_400);
    expect(lifetime({ 'cache-control': 'no-store' })).toBe(60);
    expect(lifetime({ 'cache-control': 'no-cache, max-age=600' })).toBe(60);
    expect(lifetime({})).toBe(300);
    expect(cacheLifetimeSeconds(new Headers({ 'cache-control': 'no-store' }), now, { ...bounds, minSeconds: 0 })).toBe(0);
  });
});
