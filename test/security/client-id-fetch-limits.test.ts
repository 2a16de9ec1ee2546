import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_METADATA_DEFAULTS } from '../../src/oauth/cimd/document-cache.js';
import { json, startServer, type TestServer } from '../cimd/servers.js';
import { manualClock } from '../support/deps.js';
import { authorizeUrl, mcpPost, signIn, tokenRequest, VERIFIER, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

const REDIRECT = 'http://127.0.0.1:1/callback';
const LIMIT = CLIENT_METADATA_DEFAULTS.fetchesPerAddressPerMinute;
/** How many requests past the limit each attacker sends. */
const EXTRA = 10;

/**
 * A URL client_id makes the proxy fetch a document. An attacker who names a fresh URL on
 * every request, at any endpoint that resolves client_ids, must not turn the proxy into a
 * fetcher: each client address gets a fixed number of fetches a minute, shared by /authorize,
 * /token, /revoke and /introspect. Documents already cached cost nothing, so known clients go on.
 * The documents are served by a real server on loopback, which counts what it is asked for.
 */
describe('URL client_id fetches are limited per client address at every endpoint', () => {
  // The limit's window never rolls over mid-test on a loaded machine.
  const clock = manualClock(Date.now());
  let documents: TestServer;
  let stack: Stack;

  /** A valid public-client document at a fresh path; the server counts its fetches. */
  const documentAt = (path: string): string => {
    const clientId = `${documents.origin}${path}`;
    documents.route(path, json({ client_id: clientId, client_name: `Client ${path}`, redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'] }, { 'cache-control': 'max-age=300' }));
    return clientId;
  };
  const fetchesUnder = (prefix: string): number => [...documents.hits].filter(([path]) => path.startsWith(prefix)).reduce((sum, [, count]) => sum + count, 0);

  const post = async (path: string, params: Record<string, string>, address: string) => {
    const response = await fetch(`${stack.publicUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
      body: new URLSearchParams(params).toString(),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  beforeAll(async () => {
    documents = await startServer();
    // One trusted hop: X-Forwarded-For names the client address, so one test plays many addresses.
    stack = await Stack.start({ clock, extra: { clientMetadataDocuments: { allowPrivateNetwork: true }, trustProxyHops: 1 } });
  });
  afterAll(async () => {
    await stack?.close();
    await documents?.close();
  });

  it.each([
    ['/token', '203.0.113.1', (clientId: string) => ({ grant_type: 'authorization_code', code: 'guessed', redirect_uri: REDIRECT, code_verifier: VERIFIER, client_id: clientId })],
    ['/revoke', '203.0.113.2', (clientId: string) => ({ token: 'some-token', client_id: clientId })],
    ['/introspect', '203.0.113.3', (clientId: string) => ({ token: 'some-token', client_id: clientId })],
  ])('attacker: a flood of fresh URL client_ids at %s makes at most the limit of document fetches, then 429 with Retry-After', async (endpoint, address, params) => {
    const prefix = `/flood${endpoint}/`;
    const answers = [];
    for (let n = 0; n < LIMIT + EXTRA; n++) answers.push(await post(endpoint, params(documentAt(`${prefix}${n}.json`)), address));

    // Counted at the document server itself.
    expect(fetchesUnder(prefix)).toBe(LIMIT);
    expect(answers.every((answer) => answer.status < 500)).toBe(true);
    // Within the limit the documents were fetched and the request went on to fail on its own merits.
    expect(answers.slice(0, LIMIT).filter((answer) => answer.status === 429)).toEqual([]);
    for (const refused of answers.slice(LIMIT)) {
      expect(refused.status).toBe(429);
      expect(refused.body.error).toBe('temporarily_unavailable');
      expect(refused.body.error_description).toMatch(/try again later/);
      expect(refused.headers.get('content-type')).toMatch(/application\/json/);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });

  it('attacker: the limit is one per address across endpoints: spent at /token, /authorize refuses with its 429 page and fetches nothing', async () => {
    const address = '203.0.113.4';
    for (let n = 0; n < LIMIT; n++) await post('/token', { grant_type: 'refresh_token', refresh_token: 'guessed', client_id: documentAt(`/mixed/${n}.json`) }, address);
    expect(fetchesUnder('/mixed/')).toBe(LIMIT);

    const client: RegisteredClient = { client_id: documentAt('/mixed/at-authorize.json'), token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT] };
    const page = await fetch(await authorizeUrl(stack.publicUrl, client), { headers: { 'x-forwarded-for': address }, redirect: 'manual' });
    expect(page.status).toBe(429);
    expect(page.headers.get('location')).toBeNull();
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Too many sign-in attempts');
    expect(documents.hits.get('/mixed/at-authorize.json')).toBeUndefined();
  });

  it('attacker: a cached private_key_jwt document whose key set keeps failing costs one fetch per attempt only within the same limit', async () => {
    const address = '203.0.113.6';
    const jwksPath = '/keys/failing.jwks';
    documents.route(jwksPath, (_req, res) => {
      res.writeHead(500).end();
    });
    const clientId = `${documents.origin}/keys/client.json`;
    documents.route(
      '/keys/client.json',
      json(
        { client_id: clientId, client_name: 'Key set elsewhere', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${documents.origin}${jwksPath}` },
        { 'cache-control': 'max-age=300' },
      ),
    );
    const { privateKey } = await generateKeyPair('ES256');
    const attempt = async (n: number, from: string) => {
      const assertion = await new SignJWT({ jti: `attempt-${from}-${n}` })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(`${stack.publicUrl}/token`)
        .setIssuedAt(Math.floor(clock() / 1000))
        .setExpirationTime(Math.floor(clock() / 1000) + 60)
        .sign(privateKey);
      return post('/token', {
        grant_type: 'refresh_token',
        refresh_token: 'guessed',
        client_id: clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }, from);
    };

    const answers = [];
    for (let n = 0; n < LIMIT + EXTRA; n++) answers.push(await attempt(n, address));
    // The document was fetched once (and cached); every key-set fetch failed, so none was cached.
    expect(documents.hits.get('/keys/client.json')).toBe(1);
    // One limit for both: the document's fetch and the key sets' fetches together.
    expect(documents.hits.get(jwksPath)).toBe(LIMIT - 1);
    expect(answers.every((answer) => answer.status === 401 && answer.body.error === 'invalid_client')).toBe(true);

    // Another address still gets the key set fetched for it.
    await attempt(0, '198.51.100.10');
    expect(documents.hits.get(jwksPath)).toBe(LIMIT);
  });

  it('control: a legitimate URL client signs in and redeems its code; its cached document still works from an address that spent its limit; other addresses still fetch', async () => {
    const exhausted = '203.0.113.5';
    for (let n = 0; n <= LIMIT; n++) await post('/revoke', { token: 'some-token', client_id: documentAt(`/spent/${n}.json`) }, exhausted);
    expect(fetchesUnder('/spent/')).toBe(LIMIT);

    // Signed in from the test's own address (no X-Forwarded-For: the peer address counts).
    const clientId = documentAt('/legit.json');
    const client: RegisteredClient = { client_id: clientId, token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT] };
    const callback = await signIn(stack.publicUrl, client);
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();
    const tokens = await tokenRequest(stack.publicUrl, { grant_type: 'authorization_code', code: code!, client_id: clientId, redirect_uri: REDIRECT, code_verifier: VERIFIER });
    expect(tokens.status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, tokens.body.access_token as string)).status).toBe(200);
    expect(documents.hits.get('/legit.json')).toBe(1);

    // The exhausted address may still use the cached document: a hit is not a fetch.
    const refreshed = await post('/token', { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string, client_id: clientId }, exhausted);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).toEqual(expect.any(String));
    expect(documents.hits.get('/legit.json')).toBe(1);
    // While a document it has not fetched before is still refused to it...
    expect((await post('/revoke', { token: 'some-token', client_id: documentAt('/spent/one-more.json') }, exhausted)).status).toBe(429);
    // ...and fetched for another address.
    expect((await post('/revoke', { token: 'some-token', client_id: documentAt('/spent/one-more.json') }, '198.51.100.9')).status).toBe(200);
    expect(documents.hits.get('/spent/one-more.json')).toBe(1);
  });
});
