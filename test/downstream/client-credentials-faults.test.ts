import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientCredentialsTokens, type ClientCredentialsRequest } from '../../src/downstream/client-credentials/index.js';
import type { TokenEndpointError } from '../../src/downstream/token-endpoint/index.js';
import { errorText, failure, manualClock, recordingLogger } from './helpers.js';

/**
 * A token endpoint on a bad day (msw on a fake https host): errors, garbage, hangs,
 * redirects, huge bodies. Each is a TokenEndpointError with a stable code, and no
 * secret, Basic credential or token shows up in any message, detail or log line.
 */

const TOKEN_URL = 'https://idp.test/oauth/token';
const SECRET = 'fault-test-client-secret-5f3a';
const BASIC = btoa(`proxy:${SECRET}`);
const TOKEN = 'fault-test-access-token-9c1e';

type Handler = (request: Request) => Response | Promise<Response>;
let tokenEndpoint: Handler = () => HttpResponse.json({ error: 'unset' }, { status: 400 });
const seen: Array<{ headers: Headers; body: URLSearchParams }> = [];
let redirectTargetHits = 0;

const server = setupServer(
  http.post(TOKEN_URL, async ({ request }) => {
    seen.push({ headers: request.headers, body: new URLSearchParams(await request.clone().text()) });
    return tokenEndpoint(request);
  }),
  http.all('https://idp.test/elsewhere', () => {
    redirectTargetHits++;
    return HttpResponse.json({ access_token: 'from-a-redirect', token_type: 'Bearer' });
  }),
  http.all('http://idp.test/*', () => HttpResponse.json({ access_token: 'over-plain-http', token_type: 'Bearer' })),
);

beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterEach(() => {
  server.resetHandlers();
  seen.length = 0;
  redirectTargetHits = 0;
});
afterAll(() => server.close());

const request = (overrides: Partial<ClientCredentialsRequest> = {}): ClientCredentialsRequest => ({
  tokenUrl: TOKEN_URL,
  clientId: 'proxy',
  clientSecret: SECRET,
  scopes: ['api.read'],
  authMethod: 'client_secret_basic',
  ...overrides,
});

function tokens(options: { timeoutMs?: number; clock?: () => number; maxEntries?: number } = {}) {
  const logger = recordingLogger();
  return { tokens: new ClientCredentialsTokens({ logger, ...options }), logger };
}

function expectNothingSecret(error: TokenEndpointError, logger: ReturnType<typeof recordingLogger>) {
  for (const text of [errorText(error), logger.text()]) {
    for (const secret of [SECRET, encodeURIComponent(SECRET), BASIC, TOKEN]) expect(text).not.toContain(secret);
  }
}

async function unavailable(answer: Handler, options: { timeoutMs?: number } = {}): Promise<TokenEndpointError> {
  tokenEndpoint = answer;
  const { tokens: source, logger } = tokens(options);
  const error = await failure(source.getToken(request()));
  expect(error.code).toBe('unavailable');
  expect(seen).toHaveLength(1);
  expectNothingSecret(error, logger);
  expect(logger.entries.filter((entry) => entry.level === 'warn')).toHaveLength(1);
  expect(source.stats()).toMatchObject({ fetches: 1, errors: 1 });
  return error;
}

describe('a failing token endpoint', () => {
  it('HTTP 500 is unavailable', async () => {
    const error = await unavailable(() => new HttpResponse('oops', { status: 500 }));
    expect(error.status).toBe(500);
    expect(error.detail).toContain('HTTP 500');
  });

  it('HTTP 503 with an OAuth error body is still unavailable', async () => {
    const error = await unavailable(() => HttpResponse.json({ error: 'temporarily_unavailable' }, { status: 503 }));
    expect(error.status).toBe(503);
  });

  it('a 404 without an OAuth error is unavailable', async () => {
    const error = await unavailable(() => new HttpResponse('<html>not found</html>', { status: 404, headers: { 'content-type': 'text/html' } }));
    expect(error.detail).toContain('HTTP 404 without an OAuth error');
  });

  it('malformed JSON is unavailable', async () => {
    const error = await unavailable(() => new HttpResponse(`{"access_token":"${TOKEN}",`, { headers: { 'content-type': 'application/json' } }));
    expect(error.detail).toContain('not JSON');
  });

  it('a missing access_token is unavailable', async () => {
    const error = await unavailable(() => HttpResponse.json({ token_type: 'Bearer', expires_in: 60 }));
    expect(error.detail).toMatch(/access_token/);
  });

  it('a token_type other than Bearer is unavailable, and the token is not quoted', async () => {
    const error = await unavailable(() => HttpResponse.json({ access_token: TOKEN, token_type: 'DPoP', expires_in: 60 }));
    expect(error.detail).toMatch(/token_type is not Bearer/);
  });

  it('an access token that could split a header is unavailable', async () => {
    const error = await unavailable(() => HttpResponse.json({ access_token: `${TOKEN}\r\nX-Injected: 1`, token_type: 'Bearer' }));
    expect(error.detail).toMatch(/access_token/);
  });

  it('a negative expires_in is unavailable', async () => {
    await unavailable(() => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer', expires_in: -5 }));
  });

  it('a hang past the timeout is unavailable, promptly', async () => {
    // The endpoint never answers: the error can only come from the configured timeout.
    const error = await unavailable(async () => {
      await delay('infinite');
      return HttpResponse.json({ access_token: TOKEN });
    }, { timeoutMs: 200 });
    expect(error.detail).toContain('did not answer within 200 ms');
  });

  it('a body that stalls after the headers is cut off by the same timeout', async () => {
    const error = await unavailable(() => {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"access_token":'));
        },
      });
      return new HttpResponse(stream, { headers: { 'content-type': 'application/json' } });
    }, { timeoutMs: 200 });
    expect(error.detail).toContain('did not answer within 200 ms');
  });

  it('a 302 is an error and is not followed', async () => {
    const error = await unavailable(() => new HttpResponse(null, { status: 302, headers: { location: 'https://idp.test/elsewhere' } }));
    expect(error.status).toBe(302);
    expect(error.detail).toContain('redirect (HTTP 302)');
    expect(redirectTargetHits).toBe(0);
  });

  it('a response over the 64 KB cap is unavailable, declared or streamed', async () => {
    const huge = JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', padding: 'x'.repeat(70 * 1024) });
    const declared = await unavailable(() => new HttpResponse(huge, { headers: { 'content-type': 'application/json' } }));
    expect(declared.detail).toContain('more than 65536 bytes');
    seen.length = 0;
    const streamed = await unavailable(() => {
      const bytes = new TextEncoder().encode(huge);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < bytes.length; offset += 8192) controller.enqueue(bytes.slice(offset, offset + 8192));
          controller.close();
        },
      });
      return new HttpResponse(stream, { headers: { 'content-type': 'application/json' } });
    });
    expect(streamed.detail).toContain('more than 65536 bytes');
  });

  it('a network failure is unavailable', async () => {
    await unavailable(() => HttpResponse.error());
  });
});

describe('OAuth errors from the token endpoint', () => {
  it('passes the RFC 6749 error code on as token_endpoint_error', async () => {
    tokenEndpoint = () => HttpResponse.json({ error: 'invalid_scope', error_description: 'api.read is not allowed' }, { status: 400 });
    const { tokens: source, logger } = tokens();
    const error = await failure(source.getToken(request()));
    expect(error).toMatchObject({ code: 'token_endpoint_error', oauthError: 'invalid_scope', status: 400 });
    expect(error.message).toBe('token endpoint token_endpoint_error (invalid_scope)');
    expect(error.detail).toContain('api.read is not allowed');
    expectNothingSecret(error, logger);
  });

  it('takes an error in an HTTP 200 body as an error, not a token', async () => {
    tokenEndpoint = () => HttpResponse.json({ error: 'unauthorized_client' });
    const error = await failure(tokens().tokens.getToken(request()));
    expect(error).toMatchObject({ code: 'token_endpoint_error', oauthError: 'unauthorized_client' });
  });

  it('takes a bare 401 as invalid_client', async () => {
    tokenEndpoint = () => new HttpResponse(null, { status: 401, headers: { 'www-authenticate': 'Basic realm="token"' } });
    const error = await failure(tokens().tokens.getToken(request()));
    expect(error).toMatchObject({ code: 'token_endpoint_error', oauthError: 'invalid_client', status: 401 });
  });

  it('cuts the secret out of an error_description that echoes it', async () => {
    tokenEndpoint = () =>
      HttpResponse.json({ error: 'invalid_client', error_description: `secret ${SECRET} (basic ${BASIC}) is wrong` }, { status: 401 });
    const { tokens: source, logger } = tokens();
    const error = await failure(source.getToken(request()));
    expect(error.detail).toContain('[redacted]');
    expectNothingSecret(error, logger);
  });

  it('never passes on an error code it cannot vouch for', async () => {
    tokenEndpoint = () => HttpResponse.json({ error: 'bad code <script>' }, { status: 400 });
    const error = await failure(tokens().tokens.getToken(request()));
    expect(error.oauthError).toBe('unrecognised_error');
  });
});

describe('the token request and response', () => {
  it('sends the grant, the scope, resource and audience, and asks for JSON', async () => {
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer', expires_in: 60 });
    await tokens().tokens.getToken(request({ scopes: ['b', 'a'], resource: 'https://mcp.example.test/mcp', audience: 'https://api.example.test' }));
    const [sent] = seen;
    expect(sent!.headers.get('accept')).toBe('application/json');
    expect(sent!.headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(sent!.headers.get('authorization')).toBe(`Basic ${BASIC}`);
    expect(Object.fromEntries(sent!.body)).toEqual({
      grant_type: 'client_credentials',
      scope: 'a b',
      resource: 'https://mcp.example.test/mcp',
      audience: 'https://api.example.test',
    });
  });

  it('omits scope when there is none', async () => {
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer' });
    await tokens().tokens.getToken(request({ scopes: [] }));
    expect(seen[0]!.body.has('scope')).toBe(false);
  });

  it('accepts a lowercase token_type and an expires_in sent as a string', async () => {
    const clock = manualClock();
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'bearer', expires_in: '120' });
    const token = await tokens({ clock }).tokens.getToken(request());
    expect(token).toEqual({ accessToken: TOKEN, expiresAt: clock() + 120_000 });
  });

  it('assumes the default lifetime (300 s) without expires_in', async () => {
    const clock = manualClock();
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer' });
    const { tokens: source } = tokens({ clock });
    expect((await source.getToken(request())).expiresAt).toBe(clock() + 300_000);
    clock.advance(300 - 30 - 1);
    await source.getToken(request());
    expect(seen).toHaveLength(1);
    clock.advance(1);
    await source.getToken(request());
    expect(seen).toHaveLength(2);
  });

  it('reuses a token shorter-lived than twice the margin for half its life', async () => {
    const clock = manualClock();
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer', expires_in: 20 });
    const { tokens: source } = tokens({ clock });
    await source.getToken(request());
    clock.advance(9);
    await source.getToken(request());
    expect(seen).toHaveLength(1);
    clock.advance(1);
    await source.getToken(request());
    expect(seen).toHaveLength(2);
  });

  it('does not cache a token that expires at once', async () => {
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer', expires_in: 0 });
    const { tokens: source } = tokens();
    await source.getToken(request());
    await source.getToken(request());
    expect(seen).toHaveLength(2);
  });

  it('does not cache an error: a 500 then a 200 for the same key are two requests', async () => {
    let calls = 0;
    tokenEndpoint = () => (++calls === 1 ? new HttpResponse(null, { status: 500 }) : HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer' }));
    const { tokens: source } = tokens();
    expect((await failure(source.getToken(request()))).code).toBe('unavailable');
    expect((await source.getToken(request())).accessToken).toBe(TOKEN);
    expect(seen).toHaveLength(2);
    expect(source.stats()).toEqual({ hits: 0, misses: 2, fetches: 2, errors: 1 });
  });

  it('shares one failure among concurrent callers, then tries again', async () => {
    let calls = 0;
    // The endpoint holds its answer until every caller has asked.
    let arrived!: () => void;
    const firstArrival = new Promise<void>((resolve) => (arrived = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    tokenEndpoint = async () => {
      calls++;
      arrived();
      await answered;
      return new HttpResponse(null, { status: 502 });
    };
    const { tokens: source } = tokens();
    const settling = Promise.allSettled(Array.from({ length: 10 }, () => source.getToken(request())));
    await firstArrival;
    answer();
    const outcomes = await settling;
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(calls).toBe(1);
    await failure(source.getToken(request()));
    expect(calls).toBe(2);
  });

  it('keeps at most maxEntries tokens', async () => {
    tokenEndpoint = () => HttpResponse.json({ access_token: TOKEN, token_type: 'Bearer' });
    const { tokens: source } = tokens({ maxEntries: 2 });
    for (const clientId of ['one', 'two', 'three', 'one']) await source.getToken(request({ clientId }));
    expect(seen).toHaveLength(4); // "one" was evicted by "three"
    await source.getToken(request({ clientId: 'three' }));
    expect(seen).toHaveLength(4);
  });
});

describe('requests that can never succeed', () => {
  it.each([
    ['plain http to a non-loopback host', { tokenUrl: 'http://idp.test/oauth/token' }, /must use https/],
    ['a relative URL', { tokenUrl: '/oauth/token' }, /not an absolute URL/],
    ['credentials in the URL', { tokenUrl: 'https://user:pw@idp.test/oauth/token' }, /must not carry credentials/],
    ['an empty client_id', { clientId: '' }, /client_id/],
    ['a non-ASCII secret', { clientSecret: `${SECRET}\u00e9` }, /client_secret/],
    ['a scope with a space', { scopes: ['a b'] }, /scope/],
    ['an unknown auth method', { authMethod: 'private_key_jwt' as never }, /authentication method/],
  ])('refuse %s without sending anything', async (_label, overrides, detail) => {
    const { tokens: source, logger } = tokens();
    const error = await failure(source.getToken(request(overrides)));
    expect(error.code).toBe('invalid_configuration');
    expect(error.detail).toMatch(detail);
    expect(seen).toHaveLength(0);
    expectNothingSecret(error, logger);
  });

  it.each([{ timeoutMs: 0 }, { maxEntries: 1.5 }, { refreshMarginSeconds: -1 }, { defaultLifetimeSeconds: Number.NaN }])(
    'refuses the option %o at construction',
    (options) => {
      expect(() => new ClientCredentialsTokens(options)).toThrow(RangeError);
    },
  );

  it('allows plain http to loopback hosts', async () => {
    const { tokens: source } = tokens();
    // Nothing listens on port 9: the request is attempted (unavailable), not refused as configuration.
    for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
      const error = await failure(source.getToken(request({ tokenUrl: `http://${host}:9/token` })));
      expect(error.code).toBe('unavailable');
    }
  });
});
