import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseClientMetadataDocument, type ClientMetadataDocument } from '../../src/oauth/cimd/document.js';
import { ClientAssertionError } from '../../src/oauth/cimd/errors.js';
import { ClientJwksCache } from '../../src/oauth/cimd/jwks-cache.js';
import {
  JWT_BEARER_ASSERTION_TYPE,
  unverifiedAssertionIssuer,
  verifyClientAssertion,
  type ClientAssertionInput,
} from '../../src/oauth/cimd/private-key-jwt.js';
import { MemoryReplayStore } from '../../src/store/replay-store.js';
import { json, manualClock, startServer, type TestServer } from './servers.js';

const ISSUER = 'https://proxy.example.com';
const TOKEN_ENDPOINT = 'https://proxy.example.com/token';

interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(alg: 'ES256' | 'RS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let server: TestServer;
let clientId: string;
let es256: SigningKey;
let rs256: SigningKey;
let rotated: SigningKey;
let impostor: SigningKey;
let published: JWK[];
let clock: ReturnType<typeof manualClock>;
let replay: MemoryReplayStore;
let jti = 0;

beforeAll(async () => {
  [es256, rs256, rotated, impostor] = await Promise.all([
    signingKey('ES256', 'k1'),
    signingKey('RS256', 'r1'),
    signingKey('ES256', 'k2'),
    signingKey('ES256', 'k1'),
  ]);
  server = await startServer();
  clientId = `${server.origin}/client.json`;
  server.route('/jwks.json', (req, res, origin) => json({ keys: published })(req, res, origin));
  server.route('/missing-jwks.json', (_req, res) => res.writeHead(404).end());
});
afterAll(() => server.close());
beforeEach(() => {
  clock = manualClock();
  replay = new MemoryReplayStore({ clock: clock.now });
  published = [es256.publicJwk, rs256.publicJwk];
});

function documentWith(extra: Record<string, unknown>): ClientMetadataDocument {
  const result = parseClientMetadataDocument(
    { client_id: clientId, client_name: 'Keyed Client', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'private_key_jwt', ...extra },
    { clientId, redirectSchemes: [], allowHttpLoopback: true },
  );
  if (!result.ok) throw new Error(result.problem);
  return result.document;
}

const inlineDocument = () => documentWith({ jwks: { keys: [es256.publicJwk, rs256.publicJwk] } });

interface Claims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number | null;
  nbf?: number;
  jti?: string | null;
}

async function assertion(key: SigningKey = es256, claims: Claims = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(clock.now() / 1000);
  const payload: Record<string, unknown> = { jti: claims.jti === null ? undefined : (claims.jti ?? `jti-${++jti}`) };
  if (claims.nbf !== undefined) payload.nbf = claims.nbf;
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: key.publicJwk.alg!, kid: key.publicJwk.kid!, ...header })
    .setIssuer(claims.iss ?? clientId)
    .setSubject(claims.sub ?? clientId)
    .setAudience(claims.aud ?? ISSUER)
    .setIssuedAt(now);
  if (claims.exp !== null) jwt.setExpirationTime(claims.exp ?? now + 60);
  return jwt.sign(key.privateKey);
}

function input(assertionValue: string, overrides: Partial<ClientAssertionInput> = {}): ClientAssertionInput {
  return {
    assertion: assertionValue,
    assertionType: JWT_BEARER_ASSERTION_TYPE,
    clientId,
    client: inlineDocument(),
    audiences: [ISSUER, TOKEN_ENDPOINT],
    replay,
    clock: clock.now,
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<ClientAssertionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ClientAssertionError);
  expect((error as Error).message).toBe('Client authentication failed.');
  return error as ClientAssertionError;
}

describe('private_key_jwt with inline jwks (T2, E1, C7)', () => {
  it('accepts a valid assertion and records its jti', async () => {
    const verified = await verifyClientAssertion(input(await assertion(es256, { jti: 'abc' })));
    expect(verified.jti).toBe('abc');
    expect(await replay.has(`pkjwt:${clientId}:abc`)).toBe(true);
    await expect(verifyClientAssertion(input(await assertion(rs256)))).resolves.toBeDefined();
  });

  it('refuses a replayed jti', async () => {
    const value = await assertion();
    await verifyClientAssertion(input(value));
    expect((await refusal(verifyClientAssertion(input(value)))).code).toBe('replayed');
  });

  it('accepts the issuer with or without a trailing slash, the token endpoint, and an audience list', async () => {
    for (const aud of [ISSUER, `${ISSUER}/`, TOKEN_ENDPOINT, ['https://other.example', ISSUER]]) {
      await expect(verifyClientAssertion(input(await assertion(es256, { aud })))).resolves.toBeDefined();
    }
  });

  it.each([
    ['a foreign audience', { aud: 'https://other.example.com' }, /aud/],
    ['a foreign iss', { iss: 'https://evil.example/client.json' }, /iss/],
    ['a foreign sub', { sub: 'someone-else' }, /sub/],
    ['no exp', { exp: null }, /exp/],
    ['no jti', { jti: null }, /jti/],
  ])('refuses %s', async (_label, claims, detail) => {
    const error = await refusal(verifyClientAssertion(input(await assertion(es256, claims as Claims))));
    expect(error.code).toBe('invalid_claims');
    expect(error.detail).toMatch(detail);
  });

  it('refuses a not-yet-valid assertion beyond the clock tolerance, but tolerates a little skew', async () => {
    const now = Math.floor(clock.now() / 1000);
    expect((await refusal(verifyClientAssertion(input(await assertion(es256, { nbf: now + 120 }))))).code).toBe('invalid_claims');
    await expect(verifyClientAssertion(input(await assertion(es256, { nbf: now + 10 })))).resolves.toBeDefined();
  });

  it('refuses an expired assertion and one that lives too long', async () => {
    const expired = await assertion(es256, { exp: Math.floor(clock.now() / 1000) + 60 });
    clock.advance(120);
    expect((await refusal(verifyClientAssertion(input(expired)))).code).toBe('expired');
    const longLived = await assertion(es256, { exp: Math.floor(clock.now() / 1000) + 3_600 });
    expect((await refusal(verifyClientAssertion(input(longLived)))).code).toBe('lifetime_too_long');
  });

  it('refuses HS256 (even keyed with a public key value) and alg none', async () => {
    const hs256 = await new SignJWT({ jti: 'hs' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(ISSUER)
      .setExpirationTime(Math.floor(clock.now() / 1000) + 60)
      .sign(new TextEncoder().encode(JSON.stringify(es256.publicJwk)));
    expect((await refusal(verifyClientAssertion(input(hs256)))).code).toBe('unsupported_alg');
    const unsecured = new UnsecuredJWT({ jti: 'none' }).setIssuer(clientId).setSubject(clientId).setAudience(ISSUER).setExpirationTime('1m').encode();
    expect((await refusal(verifyClientAssertion(input(unsecured)))).code).toBe('unsupported_alg');
  });

  it('refuses an unknown kid and a signature by another key under a known kid', async () => {
    expect((await refusal(verifyClientAssertion(input(await assertion(rotated)))))).toMatchObject({ code: 'unknown_key' });
    expect((await refusal(verifyClientAssertion(input(await assertion(impostor)))))).toMatchObject({ code: 'bad_signature' });
  });

  it('refuses the wrong assertion type, a missing assertion, garbage, and a client not registered for private_key_jwt', async () => {
    const value = await assertion();
    expect((await refusal(verifyClientAssertion(input(value, { assertionType: 'urn:other' })))).code).toBe('invalid_assertion_type');
    expect((await refusal(verifyClientAssertion(input('', {})))).code).toBe('malformed');
    expect((await refusal(verifyClientAssertion(input('not.a.jwt')))).code).toBe('malformed');
    const publicClient = parseClientMetadataDocument(
      { client_id: clientId, client_name: 'Public', redirect_uris: ['http://127.0.0.1/cb'] },
      { clientId, redirectSchemes: [] },
    );
    if (!publicClient.ok) throw new Error(publicClient.problem);
    expect((await refusal(verifyClientAssertion(input(value, { client: publicClient.document })))).code).toBe('wrong_auth_method');
    expect((await refusal(verifyClientAssertion(input(value, { clientId: 'https://other.example/client.json' })))).code).toBe('wrong_auth_method');
  });

  it('reads the unverified issuer so the token endpoint can find the client', async () => {
    expect(unverifiedAssertionIssuer(await assertion())).toBe(clientId);
    expect(unverifiedAssertionIssuer('garbage')).toBeUndefined();
  });
});

describe('private_key_jwt with a jwks_uri served over HTTP', () => {
  const remoteDocument = () => documentWith({ jwks_uri: `${server.origin}/jwks.json` });
  const jwksCache = () => new ClientJwksCache({ allowPrivateNetwork: true, clock: clock.now, refetchCooldownSeconds: 30 });

  it('verifies with the fetched key set and caches it', async () => {
    const cache = jwksCache();
    const hits = server.hits.get('/jwks.json') ?? 0;
    const options = { client: remoteDocument(), fetchJwks: cache.fetch };
    await verifyClientAssertion(input(await assertion(es256), options));
    await verifyClientAssertion(input(await assertion(rs256), options));
    expect((server.hits.get('/jwks.json') ?? 0) - hits).toBe(1);
  });

  it('refetches once on an unknown kid, but not more often than the cooldown allows', async () => {
    const cache = jwksCache();
    const fetches = () => server.hits.get('/jwks.json') ?? 0;
    const options = { client: remoteDocument(), fetchJwks: cache.fetch };
    const start = fetches();
    await verifyClientAssertion(input(await assertion(es256), options));
    published = [rotated.publicJwk];

    expect((await refusal(verifyClientAssertion(input(await assertion(rotated), options)))).code).toBe('unknown_key');
    expect(fetches() - start).toBe(1);

    clock.advance(31);
    await expect(verifyClientAssertion(input(await assertion(rotated), options))).resolves.toBeDefined();
    expect(fetches() - start).toBe(2);

    expect((await refusal(verifyClientAssertion(input(await assertion(rs256), options)))).code).toBe('unknown_key');
    expect(fetches() - start).toBe(2);
  });

  it('reports an unreachable key set, and a document without a fetcher', async () => {
    const broken = documentWith({ jwks_uri: `${server.origin}/missing-jwks.json` });
    const error = await refusal(verifyClientAssertion(input(await assertion(), { client: broken, fetchJwks: jwksCache().fetch })));
    expect([error.code, error.detail]).toEqual(['keys_unavailable', expect.stringMatching(/http_status/)]);
    expect((await refusal(verifyClientAssertion(input(await assertion(), { client: remoteDocument() })))).code).toBe('keys_unavailable');
  });

  it('refuses a jwks_uri on a loopback address in the production setting, before connecting', async () => {
    const connections = server.seen.connections;
    const cache = new ClientJwksCache({ allowPrivateNetwork: false, clock: clock.now });
    const error = await refusal(verifyClientAssertion(input(await assertion(), { client: remoteDocument(), fetchJwks: cache.fetch })));
    expect([error.code, error.detail]).toEqual(['keys_unavailable', expect.stringMatching(/not_https/)]);
    expect(server.seen.connections).toBe(connections);
  });
});
