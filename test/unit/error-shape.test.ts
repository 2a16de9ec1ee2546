import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfigFile } from '../../src/config/load.js';
import { CapsuleError } from '../../src/crypto/capsule.js';
import { loggedError, ProblemError } from '../../src/domain/errors.js';
import { TokenEndpointError, withoutSecrets } from '../../src/downstream/token-endpoint/errors.js';
import { sendTokenRequest } from '../../src/downstream/token-endpoint/token-fetch.js';
import { SafeFetchError } from '../../src/net/errors.js';
import { safeFetch } from '../../src/net/safe-fetch.js';
import { ErrorPage, RedirectToClient } from '../../src/oauth/browser-errors.js';
import { ClientAssertionError, ClientMetadataError, ClientMetadataFetchLimited } from '../../src/oauth/cimd/errors.js';
import { verifyClientAssertion } from '../../src/oauth/cimd/private-key-jwt.js';
import { invalidClient, OAuthError, serverError, tooManyRequests } from '../../src/oauth/errors.js';
import { createLogger } from '../../src/observability/logger.js';
import { toUpstreamError } from '../../src/upstream/errors.js';
import { UpstreamError } from '../../src/upstream/upstream-client.js';
import { MemoryReplayStore } from '../../src/store/replay-store.js';
import { codecFor, TEST_KEY_A, TEST_KEY_B, testConfig } from '../support/deps.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('one error shape', () => {
  it('gives every kind the same fields: code, status, description, detail', () => {
    const kinds: ProblemError[] = [
      invalidClient('Client authentication failed.', 'client used none'),
      new ErrorPage('Request refused', 'The consent form was submitted from another site.', 403, 'origin https://evil.example'),
      new RedirectToClient('https://app.example/cb', 'st', 'access_denied', 'The user denied the request.', 'policy: group'),
      new CapsuleError('decryption failed'),
      new UpstreamError('invalid_grant', 'refresh: error invalid_grant (HTTP 400)'),
      new SafeFetchError('http_status', 'The server answered with status 404.', 404),
      new ClientMetadataError('invalid_document', 'The client metadata document is invalid.', 'redirect_uris missing'),
      new ClientMetadataFetchLimited(30),
      new ClientAssertionError('replayed', 'jti already used'),
      new TokenEndpointError('token_endpoint_error', 'token endpoint answered invalid_client (HTTP 401)', 'invalid_client', 401),
      new ConfigError(['CAPSULE_PUBLIC_URL: must be an absolute URL']),
    ];
    expect(kinds.map((error) => [error.name, error.code, error.status, error.description, error.detail])).toEqual([
      ['OAuthError', 'invalid_client', 401, 'Client authentication failed.', 'client used none'],
      ['ErrorPage', 'access_denied', 403, 'The consent form was submitted from another site.', 'origin https://evil.example'],
      ['RedirectToClient', 'access_denied', undefined, 'The user denied the request.', 'policy: group'],
      ['CapsuleError', 'invalid_capsule', undefined, 'invalid or expired capsule', 'decryption failed'],
      ['UpstreamError', 'invalid_grant', undefined, 'The identity provider no longer accepts the grant.', 'refresh: error invalid_grant (HTTP 400)'],
      ['SafeFetchError', 'http_status', 404, 'The server answered with status 404.', undefined],
      ['ClientMetadataError', 'invalid_document', undefined, 'The client metadata document is invalid.', 'redirect_uris missing'],
      ['ClientMetadataError', 'too_many_fetches', undefined, 'Too many client metadata documents were fetched for this address.', 'fetch limit reached; retry in 30s'],
      ['ClientAssertionError', 'replayed', undefined, 'Client authentication failed.', 'jti already used'],
      ['TokenEndpointError', 'token_endpoint_error', 401, 'token endpoint token_endpoint_error (invalid_client)', 'token endpoint answered invalid_client (HTTP 401)'],
      ['ConfigError', 'invalid_configuration', undefined, 'The configuration is invalid.', 'CAPSULE_PUBLIC_URL: must be an absolute URL'],
    ]);
    for (const error of kinds) expect(error).toBeInstanceOf(ProblemError);
  });

  it('names a page by the OAuth code of its status', () => {
    expect([400, 403, 429, 500].map((status) => new ErrorPage('t', 'd', status).code)).toEqual([
      'invalid_request',
      'access_denied',
      'temporarily_unavailable',
      'server_error',
    ]);
  });

  it('puts only code and description on the wire, never the detail or the cause', () => {
    const cause = new Error('Bearer eyJhbGciOiJkaXIifQ.leaked-secret');
    const error = tooManyRequests('Too many requests.', 30, 'address 203.0.113.9 over its limit');
    const wrapped = serverError('token store said eyJhbGciOiJkaXIifQ.leaked-secret', cause);
    expect(error.toJSON()).toEqual({ error: 'temporarily_unavailable', error_description: 'Too many requests.' });
    expect(JSON.stringify(wrapped.toJSON())).not.toMatch(/leaked-secret|token store/);
    expect(wrapped.cause).toBe(cause);
    expect(wrapped.status).toBe(500);
    // The description is made wire-safe however it was written.
    expect(new OAuthError('invalid_request', 'bad "quote"\n').toJSON().error_description).toBe('bad ?quote??');
  });

  it('keeps what a capsule failed on as detail and the jose error as cause', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const { codec: other } = await codecFor([TEST_KEY_B]);
    const forged = await other.seal('refresh', { exp: other.nowSeconds() + 60 } as never);
    const unknownKid = await rejection(codec.open('refresh', forged));
    expect(unknownKid).toBeInstanceOf(CapsuleError);
    expect((unknownKid as CapsuleError).detail).toMatch(/^unknown kid /);

    const garbled = await rejection(codec.open('refresh', 'not.a.capsule.at.all'));
    expect(garbled).toBeInstanceOf(CapsuleError);
    expect((garbled as CapsuleError).detail).toBe('malformed protected header');
    expect((garbled as CapsuleError).cause).toBeInstanceOf(Error);
    expect((garbled as CapsuleError).message).toBe('invalid or expired capsule');
  });

  it('chains a fetch failure under the safe-fetch error, and the jose failure under an assertion error', async () => {
    const port = await closedPort();
    const refused = await rejection(safeFetch(`http://127.0.0.1:${port}/client.json`, { allowPrivateNetwork: true, timeoutMs: 5000 }));
    expect(refused).toBeInstanceOf(SafeFetchError);
    expect((refused as SafeFetchError).code).toBe('network');
    expect(loggedError(refused)).toMatchObject({ name: 'SafeFetchError', error: 'network', cause: { message: expect.stringMatching(/ECONNREFUSED/) } });

    const malformed = await rejection(
      verifyClientAssertion({
        assertion: 'not-a-jws',
        assertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        clientId: 'https://app.example/client.json',
        client: { client_id: 'https://app.example/client.json', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } } as never,
        audiences: ['https://proxy.example/token'],
        replay: new MemoryReplayStore(),
        clock: Date.now,
      } as never),
    );
    expect(malformed).toBeInstanceOf(ClientAssertionError);
    expect((malformed as ClientAssertionError).code).toBe('malformed');
    expect((malformed as ClientAssertionError).cause).toBeInstanceOf(Error);
  });

  it('chains the network failure under a client-credentials error, and drops a cause that names a secret', async () => {
    const port = await closedPort();
    const url = new URL(`http://127.0.0.1:${port}/token`);
    const unreachable = await rejection(
      sendTokenRequest(url, { headers: new Headers(), body: new URLSearchParams({ grant_type: 'client_credentials' }) }, { fetch, timeoutMs: 5000, maxResponseBytes: 1024 }),
    );
    expect(unreachable).toBeInstanceOf(TokenEndpointError);
    expect((unreachable as TokenEndpointError).code).toBe('unavailable');
    expect((unreachable as TokenEndpointError).cause).toBeInstanceOf(Error);
    expect(withoutSecrets(unreachable as TokenEndpointError, ['s3cret-value']).cause).toBe((unreachable as TokenEndpointError).cause);

    const leaky = new TokenEndpointError('unavailable', 'endpoint echoed s3cret-value', undefined, undefined, new Error('body: client_secret=s3cret-value'));
    const cleaned = withoutSecrets(leaky, ['s3cret-value']);
    expect(cleaned.detail).toBe('endpoint echoed [redacted]');
    expect(cleaned.cause).toBeUndefined();
    expect(JSON.stringify(loggedError(cleaned))).not.toContain('s3cret-value');
  });

  it('chains what the provider library threw under an upstream error', () => {
    const thrown = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    const error = toUpstreamError(thrown, 'refresh');
    expect([error.code, error.kind, error.detail]).toEqual(['unavailable', 'unavailable', 'refresh: TypeError: fetch failed']);
    expect(loggedError(error)).toEqual({
      name: 'UpstreamError',
      error: 'unavailable',
      message: 'upstream unavailable',
      detail: 'refresh: TypeError: fetch failed',
      cause: { name: 'TypeError', message: 'fetch failed', cause: { name: 'Error', error: 'ECONNREFUSED', message: 'connect ECONNREFUSED' } },
    });
  });

  it('chains the read failure under a configuration error, but never a parser message that quotes the file', () => {
    const missing = (() => {
      try {
        readConfigFile('/nonexistent/capsule.yaml');
      } catch (error) {
        return error;
      }
    })();
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as ConfigError).detail).toMatch(/^CAPSULE_CONFIG: cannot read \/nonexistent\/capsule.yaml \(ENOENT\)/);
    expect(loggedError(missing).cause).toMatchObject({ error: 'ENOENT' });

    const broken = (() => {
      try {
        readConfigFile('/etc/capsule.yaml', () => 'upstream:\n  clientSecret: [hunter2-secret');
      } catch (error) {
        return error;
      }
    })();
    expect(broken).toBeInstanceOf(ConfigError);
    expect((broken as ConfigError).code).toBe('invalid_configuration');
    expect((broken as ConfigError).cause).toBeUndefined();
    expect(JSON.stringify(loggedError(broken))).not.toContain('hunter2-secret');
  });

  it('logs an error with its chain, and none of the other fields a foreign error carries', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    const jose = Object.assign(new Error('"exp" claim timestamp check failed'), { code: 'ERR_JWT_EXPIRED', payload: { sub: 'alice', secret_claim: 'x' } });
    logger.error('failed', { error: invalidClient('Client authentication failed.', 'Client authentication failed.', new ClientAssertionError('expired', 'exp is in the past', jose)) });
    const logged = JSON.parse(lines[0]!) as { error: unknown };
    expect(logged.error).toEqual({
      name: 'OAuthError',
      error: 'invalid_client',
      status: 401,
      message: 'invalid_client: Client authentication failed.',
      detail: 'Client authentication failed.',
      cause: {
        name: 'ClientAssertionError',
        error: 'expired',
        message: 'Client authentication failed.',
        detail: 'exp is in the past',
        cause: { name: 'Error', error: 'ERR_JWT_EXPIRED', message: '"exp" claim timestamp check failed' },
      },
    });
  });

  it('cuts a long chain where the logger still redacts every level', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    let error = new Error('innermost Bearer abc.def');
    for (let i = 0; i < 6; i++) error = new Error(`wrapper ${i} Bearer abc.def`, { cause: error });
    logger.error('failed', { error });
    const logged = JSON.parse(lines[0]!) as { error: Record<string, unknown> };
    expect(JSON.stringify(logged)).not.toContain('abc.def');
    let depth = 0;
    for (let link: Record<string, unknown> | undefined = logged.error; link; link = link.cause as Record<string, unknown> | undefined) depth++;
    expect(depth).toBe(4);
  });
});

describe('the token endpoint', () => {
  it('answers a forged code with invalid_grant only, and logs the capsule error as cause', async () => {
    const lines: string[] = [];
    const { buildDeps } = await import('../../src/runtime/deps.js');
    const { createApp } = await import('../../src/http/app.js');
    const { createForwarder } = await import('../../src/proxy/index.js');
    const logger = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const deps = await buildDeps(testConfig(), { logger, createForwarder: (headersTimeoutMs) => createForwarder({ runtime: 'web', headersTimeoutMs, logger }) });
    const app = createApp(deps);
    const registered = await app.request('/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9999/cb'], token_endpoint_auth_method: 'none' }),
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const { codec: other } = await codecFor([TEST_KEY_B]);
    const forged = await other.seal('code', { exp: other.nowSeconds() + 60 } as never);

    const response = await app.request('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: forged, client_id: clientId, redirect_uri: 'http://127.0.0.1:9999/cb', code_verifier: 'v'.repeat(43) }),
    });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    expect(body).not.toMatch(/kid|capsule|unknown/i);

    const refused = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'oauth request refused');
    expect(refused).toMatchObject({ error: 'invalid_grant', detail: expect.stringMatching(/^unknown kid /), cause: { name: 'CapsuleError', error: 'invalid_capsule' } });
    expect(lines.join('\n')).not.toContain(forged);
  });
});
