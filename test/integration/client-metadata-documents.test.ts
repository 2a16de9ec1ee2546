import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { authorizeUrl, mcpPost, signIn, tokenRequest, VERIFIER, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

const REDIRECT = 'http://127.0.0.1:1/callback';

/** Client ID metadata documents served on loopback, with the development setting that allows it. */
describe('client ID metadata documents', () => {
  let documents: Server;
  let base: string;
  const served: string[] = [];
  const bodies = new Map<string, unknown>();
  let stack: Stack;
  let signingKey: CryptoKey;

  beforeAll(async () => {
    documents = createServer((req, res) => {
      served.push(req.url ?? '');
      const body = bodies.get(req.url ?? '');
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(documents.address() as AddressInfo).port}`;

    const { publicKey, privateKey } = await generateKeyPair('ES256');
    signingKey = privateKey;
    const document = (path: string, extra: Record<string, unknown> = {}) => ({
      client_id: `${base}${path}`,
      client_name: `Client at ${path}`,
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      ...extra,
    });
    bodies.set('/public.json', document('/public.json'));
    bodies.set('/jwt.json', document('/jwt.json', { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] } }));
    bodies.set('/mismatch.json', document('/mismatch.json', { client_id: `${base}/someone-else.json` }));
    bodies.set('/bad-redirect.json', document('/bad-redirect.json', { redirect_uris: ['http://evil.example/callback'] }));
    bodies.set('/secret.json', document('/secret.json', { token_endpoint_auth_method: 'client_secret_basic', client_secret: 'x' }));
    bodies.set('/big.json', JSON.stringify({ ...document('/big.json'), padding: 'x'.repeat(6000) }));

    stack = await Stack.start({ extra: { clientMetadataDocuments: { allowPrivateNetwork: true } } });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => documents?.close(() => resolve()));
  });

  const clientFor = (path: string): RegisteredClient => ({ client_id: `${base}${path}`, token_endpoint_auth_method: 'none', redirect_uris: [REDIRECT] });

  it('advertises metadata documents and private_key_jwt', async () => {
    const metadata = (await (await fetch(`${stack.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toContain('ES256');
  });

  it('signs in a public client named by its document URL, showing the document host, fetching the document once', async () => {
    const before = served.filter((url) => url === '/public.json').length;
    const page = await new Browser().get(await authorizeUrl(stack.publicUrl, clientFor('/public.json')));
    expect(page.status).toBe(200);
    expect(page.body).toContain('Client at /public.json');
    expect(page.body).toContain(new URL(base).host);
    const callback = await signIn(stack.publicUrl, clientFor('/public.json'));
    const tokens = await tokenRequest(stack.publicUrl, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      client_id: `${base}/public.json`,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
    });
    expect(tokens.status).toBe(200);
    expect((await mcpPost(stack.mcpUrl, tokens.body.access_token as string)).status).toBe(200);
    // Cached per its Cache-Control: one fetch served the consent page, the sign-in and the token request.
    expect(served.filter((url) => url === '/public.json').length - before).toBe(1);
  });

  it('authenticates a private_key_jwt client by its signed assertion, once per jti', async () => {
    const clientId = `${base}/jwt.json`;
    const callback = await signIn(stack.publicUrl, clientFor('/jwt.json'));
    const assertion = (jti: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(stack.publicUrl)
        .setJti(jti)
        .setIssuedAt()
        .setExpirationTime('2m')
        .sign(signingKey);
    const params = (clientAssertion?: string) => ({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    });
    const missing = await tokenRequest(stack.publicUrl, { ...params(), client_id: clientId });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('invalid_client');
    const first = await assertion('jti-1');
    expect((await tokenRequest(stack.publicUrl, params(first))).status).toBe(200);
    // The same assertion again is a replay, whatever it asks for.
    const replay = await tokenRequest(stack.publicUrl, params(first));
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
  });

  it.each([
    ['a document whose client_id is another URL', '/mismatch.json'],
    ['a redirect URI the document does not list', '/bad-redirect.json'],
    ['a document declaring a shared secret', '/secret.json'],
    ['an oversized document', '/big.json'],
    ['a document that is not there', '/missing.json'],
  ])('shows an error page, never a redirect, for %s', async (_name, path) => {
    const page = await new Browser().get(await authorizeUrl(stack.publicUrl, clientFor(path)));
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('refuses a document on a loopback address without the development setting, before connecting', async () => {
    const guarded = await Stack.start();
    try {
      const before = served.length;
      const page = await new Browser().get(await authorizeUrl(guarded.publicUrl, clientFor('/public.json')));
      expect(page.status).toBe(400);
      expect(page.body).toContain('metadata document');
      expect(served.length).toBe(before);
    } finally {
      await guarded.close();
    }
  });
});
