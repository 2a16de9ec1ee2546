import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import {
  ClientCredentialsTokens,
  credentialsFromRequest,
  type ClientCredentialsRequest,
} from '../../src/downstream/client-credentials/index.js';
import { countingFetch, errorText, failure, manualClock, recordingLogger } from './helpers.js';

/**
 * The client-credentials token source against a real oidc-provider token endpoint: caching,
 * expiry, single-flight, both client authentication methods, failures, invalidation, and the
 * bring-your-own-credentials variant.
 */

// Characters that client_secret_basic must form-urlencode before base64 (RFC 6749 §2.3.1).
const BASIC_SECRET = 'basic secret:with+special/chars&=%~*';
const POST_SECRET = 'post-secret-0123456789abcdef';
const BYO_A_SECRET = 'byo-a-secret-really-long-and-random';
const BYO_B_SECRET = 'byo-b-secret-really-long-and-random';
const SECRETS = [BASIC_SECRET, POST_SECRET, BYO_A_SECRET, BYO_B_SECRET];
const LIFETIME = 3600;

let idp: EmbeddedIdp;
let tokenUrl: string;

beforeAll(async () => {
  const client = (client_id: string, client_secret: string, token_endpoint_auth_method: string) => ({
    client_id,
    client_secret,
    redirect_uris: [],
    grant_types: ['client_credentials'],
    token_endpoint_auth_method,
  });
  idp = await startEmbeddedIdp({
    accessTokenTtlSeconds: LIFETIME,
    clients: [
      client('cc-basic', BASIC_SECRET, 'client_secret_basic'),
      client('cc-post', POST_SECRET, 'client_secret_post'),
      client('byo-a', BYO_A_SECRET, 'client_secret_basic'),
      client('byo-b', BYO_B_SECRET, 'client_secret_basic'),
    ],
  });
  tokenUrl = `${idp.issuer}/token`;
});
afterAll(() => idp.close());

const basicRequest = (overrides: Partial<ClientCredentialsRequest> = {}): ClientCredentialsRequest => ({
  tokenUrl,
  clientId: 'cc-basic',
  clientSecret: BASIC_SECRET,
  scopes: ['profile'],
  authMethod: 'client_secret_basic',
  ...overrides,
});

function source(options: { clock?: () => number } = {}) {
  const counter = countingFetch(tokenUrl);
  const logger = recordingLogger();
  const tokens = new ClientCredentialsTokens({ fetch: counter.fetch, logger, ...options });
  return { tokens, requests: counter.requests, logger };
}

describe('client-credentials tokens from a real token endpoint', () => {
  it('asks once for many calls, and the hit ratio shows it', async () => {
    const { tokens, requests } = source();
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add((await tokens.getToken(basicRequest())).accessToken);
    expect(requests).toHaveLength(1);
    expect(seen.size).toBe(1);
    const { hits, misses, fetches, errors } = tokens.stats();
    expect({ hits, misses, fetches, errors }).toEqual({ hits: 99, misses: 1, fetches: 1, errors: 0 });
    const ratio = hits / (hits + misses);
    console.info(`client-credentials cache hit ratio over 100 sequential calls: ${ratio.toFixed(2)} (${fetches} token request)`);
    expect(ratio).toBeGreaterThanOrEqual(0.95);
  });

  it('sends client_secret_basic with form-urlencoded parts, which the endpoint accepts', async () => {
    const { tokens, requests } = source();
    const token = await tokens.getToken(basicRequest());
    expect(token.accessToken).toMatch(/^[\w-]{20,}$/);
    const [request] = requests;
    expect(request!.body.get('grant_type')).toBe('client_credentials');
    expect(request!.body.get('scope')).toBe('profile');
    expect(request!.body.has('client_secret')).toBe(false);
    const basic = atob(request!.headers.get('authorization')!.replace(/^Basic /, ''));
    expect(basic).toBe(`cc-basic:${'basic+secret%3Awith%2Bspecial%2Fchars%26%3D%25%7E%2A'}`);
  });

  it('sends client_secret_post in the body, which the endpoint accepts', async () => {
    const { tokens, requests } = source();
    const token = await tokens.getToken(basicRequest({ clientId: 'cc-post', clientSecret: POST_SECRET, authMethod: 'client_secret_post' }));
    expect(token.accessToken).toMatch(/^[\w-]{20,}$/);
    expect(requests[0]!.headers.has('authorization')).toBe(false);
    expect(requests[0]!.body.get('client_id')).toBe('cc-post');
    expect(requests[0]!.body.get('client_secret')).toBe(POST_SECRET);
  });

  it('reuses a token until the refresh margin before expiry, then fetches a new one', async () => {
    const clock = manualClock();
    const { tokens, requests } = source({ clock });
    const first = await tokens.getToken(basicRequest());
    expect(first.expiresAt).toBe(clock() + LIFETIME * 1000);

    clock.advance(LIFETIME - 30 - 1); // one second before the default 30 s margin
    expect((await tokens.getToken(basicRequest())).accessToken).toBe(first.accessToken);
    expect(requests).toHaveLength(1);

    clock.advance(1); // inside the margin
    const second = await tokens.getToken(basicRequest());
    expect(requests).toHaveLength(2);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.expiresAt).toBe(clock() + LIFETIME * 1000);
  });

  it('lets 50 concurrent misses share one token request', async () => {
    const { tokens, requests } = source();
    const results = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken(basicRequest())));
    expect(requests).toHaveLength(1);
    expect(new Set(results.map((token) => token.accessToken)).size).toBe(1);
    expect(tokens.stats()).toEqual({ hits: 0, misses: 50, fetches: 1, errors: 0 });
  });

  it('keys by scope set: order and duplicates do not matter, a different set does', async () => {
    const { tokens, requests } = source();
    const a = await tokens.getToken(basicRequest({ scopes: ['email', 'profile'] }));
    const b = await tokens.getToken(basicRequest({ scopes: ['profile', 'email', 'profile'] }));
    expect(b.accessToken).toBe(a.accessToken);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body.get('scope')).toBe('email profile');
    const c = await tokens.getToken(basicRequest({ scopes: ['email'] }));
    expect(c.accessToken).not.toBe(a.accessToken);
    expect(requests).toHaveLength(2);
  });

  it('answers a wrong secret with token_endpoint_error invalid_client, quoting no secret', async () => {
    const { tokens, requests, logger } = source();
    const wrong = 'wrong-secret-for-cc-basic';
    const error = await failure(tokens.getToken(basicRequest({ clientSecret: wrong })));
    expect(error.code).toBe('token_endpoint_error');
    expect(error.oauthError).toBe('invalid_client');
    expect(error.status).toBe(401);
    expect(requests).toHaveLength(1);
    const texts = [errorText(error), logger.text()];
    for (const secret of [wrong, ...SECRETS]) for (const text of texts) expect(text).not.toContain(secret);
    expect(logger.entries.some((entry) => entry.level === 'warn' && entry.fields?.['oauthError'] === 'invalid_client')).toBe(true);
  });

  it('answers a wrong secret sent with client_secret_post the same way', async () => {
    const { tokens, requests, logger } = source();
    const wrong = 'wrong-secret-for-cc-post';
    const error = await failure(tokens.getToken(basicRequest({ clientId: 'cc-post', clientSecret: wrong, authMethod: 'client_secret_post' })));
    expect(error.code).toBe('token_endpoint_error');
    expect(error.oauthError).toBe('invalid_client');
    expect(requests[0]!.body.get('client_secret')).toBe(wrong);
    for (const text of [errorText(error), logger.text()]) expect(text).not.toContain(wrong);
  });

  it('does not cache a failure: the next call asks again and succeeds', async () => {
    // The first request reaches the endpoint with its credentials spoiled, so the endpoint itself refuses it.
    let spoil = true;
    const counter = countingFetch(tokenUrl, () => async (input, init) => {
      const headers = new Headers(init?.headers);
      if (spoil) headers.set('authorization', `Basic ${btoa('cc-basic:not-the-secret')}`);
      spoil = false;
      return fetch(input, { ...init, headers });
    });
    const tokens = new ClientCredentialsTokens({ fetch: counter.fetch });
    const error = await failure(tokens.getToken(basicRequest()));
    expect(error.oauthError).toBe('invalid_client');
    const token = await tokens.getToken(basicRequest());
    expect(token.accessToken).toMatch(/^[\w-]{20,}$/);
    expect(counter.requests).toHaveLength(2);
    expect(tokens.stats()).toMatchObject({ fetches: 2, errors: 1 });
  });

  it('invalidate() forces a new token; a stale rejected token does not evict a renewed one', async () => {
    const { tokens, requests } = source();
    const first = await tokens.getToken(basicRequest());
    tokens.invalidate(basicRequest());
    const second = await tokens.getToken(basicRequest());
    expect(requests).toHaveLength(2);
    expect(second.accessToken).not.toBe(first.accessToken);

    tokens.invalidate(basicRequest(), first.accessToken); // a late 401 for the old token
    expect((await tokens.getToken(basicRequest())).accessToken).toBe(second.accessToken);
    expect(requests).toHaveLength(2);

    tokens.invalidate(basicRequest(), second.accessToken);
    await tokens.getToken(basicRequest());
    expect(requests).toHaveLength(3);
  });
});

describe('bring your own client credentials', () => {
  const headersFor = (clientId: string, clientSecret: string) => new Headers({ 'X-Client-Id': clientId, 'X-Client-Secret': clientSecret });

  async function byoToken(tokens: ClientCredentialsTokens, headers: Headers) {
    const credentials = credentialsFromRequest(headers, { clientId: 'X-Client-Id', clientSecret: 'X-Client-Secret' });
    expect(credentials).toBeDefined();
    return tokens.getToken({ tokenUrl, scopes: ['profile'], authMethod: 'client_secret_basic', ...credentials! });
  }

  it('caches per client: two callers, twenty calls, two token requests', async () => {
    const { tokens, requests } = source();
    const a = new Set<string>();
    const b = new Set<string>();
    for (let i = 0; i < 10; i++) {
      a.add((await byoToken(tokens, headersFor('byo-a', BYO_A_SECRET))).accessToken);
      b.add((await byoToken(tokens, headersFor('byo-b', BYO_B_SECRET))).accessToken);
    }
    expect(requests).toHaveLength(2);
    expect(a.size).toBe(1);
    expect(b.size).toBe(1);
    expect([...a][0]).not.toBe([...b][0]);
  });

  it('never hands a cached token to a wrong secret for the same client_id', async () => {
    const { tokens, requests, logger } = source();
    const good = await byoToken(tokens, headersFor('byo-a', BYO_A_SECRET));
    expect(requests).toHaveLength(1);

    const wrong = 'byo-a-guessed-secret';
    const error = await failure(byoToken(tokens, headersFor('byo-a', wrong)));
    expect(error.code).toBe('token_endpoint_error');
    expect(error.oauthError).toBe('invalid_client');
    // It went to the endpoint rather than to the cache, and again on a retry.
    expect(requests).toHaveLength(2);
    await failure(byoToken(tokens, headersFor('byo-a', wrong)));
    expect(requests).toHaveLength(3);

    // The right secret still gets the cached token.
    expect((await byoToken(tokens, headersFor('byo-a', BYO_A_SECRET))).accessToken).toBe(good.accessToken);
    expect(requests).toHaveLength(3);
    for (const text of [errorText(error), logger.text()]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(BYO_A_SECRET);
    }
  });

  it("another client's secret does not unlock a cached client_id either", async () => {
    const { tokens, requests } = source();
    await byoToken(tokens, headersFor('byo-a', BYO_A_SECRET));
    const error = await failure(byoToken(tokens, headersFor('byo-a', BYO_B_SECRET)));
    expect(error.oauthError).toBe('invalid_client');
    expect(requests).toHaveLength(2);
  });
});
