/**
 * Property-based fuzzing of the machine-facing endpoints: /register, /token,
 * /revoke, /introspect, the metadata documents, /admin/revoke, /healthz and
 * /metrics. Invariant: never a 5xx nor an error log, always an OAuth-shaped JSON error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  basicAuth,
  useFixture,
  capsuleVariant,
  encodeForm,
  expectOAuthError,
  formContentType,
  formEncoding,
  formPair,
  FRESH,
  mutatedForm,
  garbageText,
  INTROSPECTOR,
  otherContentType,
  readChecked,
  REDIRECT_URI,
  RESOURCE,
  runs,
  scriptPayload,
  VERIFIER,
  type Fixture,
} from './harness.js';

let f: Fixture;
useFixture((fixture) => (f = fixture));

const TOKEN_PARAMS = [
  'grant_type',
  'code',
  'refresh_token',
  'client_id',
  'client_secret',
  'redirect_uri',
  'code_verifier',
  'resource',
  'scope',
  'client_assertion',
  'client_assertion_type',
  'token',
  'token_type_hint',
] as const;

/** Values for form parameters: meaningful ones (so deep paths are reached) mixed with garbage and capsule variants. */
const formValue = () =>
  fc.oneof(
    { weight: 3, arbitrary: capsuleVariant(f.allCapsules) },
    { weight: 2, arbitrary: garbageText },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'password',
        f.publicClient.id,
        f.secretClient.id,
        f.secretClient.secret,
        INTROSPECTOR.id,
        INTROSPECTOR.secret,
        REDIRECT_URI,
        VERIFIER,
        RESOURCE,
        `${RESOURCE}/`,
        'HTTPS://PROXY.EXAMPLE.COM/mcp',
        'https://evil.example/mcp',
        'access_token',
        'offline_access',
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.',
      ),
    },
  );

const authorizationHeader = () =>
  fc.option(
    fc.oneof(
      fc.constant(basicAuth(f.secretClient.id, f.secretClient.secret)),
      fc.constant(basicAuth(INTROSPECTOR.id, INTROSPECTOR.secret)),
      fc.tuple(fc.constantFrom(f.secretClient.id, INTROSPECTOR.id, f.publicClient.id), garbageText).map(([id, secret]) => basicAuth(id, secret)),
      fc.tuple(garbageText, garbageText).map(([id, secret]) => basicAuth(id, secret)),
      garbageText.map((text) => `Basic ${text}`),
      fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Basic Og==', 'Basic JQ==', 'Basic JTpa', 'basic   YTpi  ', 'Bearer x', 'Digest a=b'),
      capsuleVariant(f.allCapsules).map((value) => `Bearer ${value}`),
    ),
    { nil: undefined },
  );

/** Header values the Headers class accepts: no CR/LF/NUL, Latin-1 only. */
function headerSafe(value: string): string {
  return value.replace(/[^\x20-\x7e\x80-\xff\t]/g, '');
}

async function postForm(path: string, body: Uint8Array<ArrayBuffer> | string, contentType: string | undefined, authorization?: string) {
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (authorization !== undefined) headers.authorization = headerSafe(authorization);
  return f.app.request(path, { method: 'POST', headers, body });
}

describe.each(['/token', '/revoke', '/introspect'])('fuzzing %s', (path) => {
  /** Valid requests of each kind for this endpoint, with the Authorization header they need. */
  const bases = (): Array<{ pairs: Array<[string, string]>; authorization?: string }> => {
    const publicCode: Array<[string, string]> = [
      ['grant_type', 'authorization_code'],
      ['client_id', f.publicClient.id],
      ['code', FRESH.code],
      ['code_verifier', VERIFIER],
      ['redirect_uri', REDIRECT_URI],
      ['resource', RESOURCE],
    ];
    if (path === '/token') {
      return [
        { pairs: publicCode },
        {
          pairs: [['grant_type', 'authorization_code'], ['code', FRESH.secretCode], ['code_verifier', VERIFIER]],
          authorization: basicAuth(f.secretClient.id, f.secretClient.secret),
        },
        { pairs: [['grant_type', 'refresh_token'], ['client_id', f.publicClient.id], ['refresh_token', FRESH.refresh], ['scope', '']] },
        { pairs: [['grant_type', 'refresh_token'], ['client_id', f.publicClient.id], ['refresh_token', f.valid.refresh]] },
      ];
    }
    if (path === '/revoke') {
      return [
        { pairs: [['token', FRESH.refresh], ['client_id', f.publicClient.id], ['token_type_hint', 'refresh_token']] },
        { pairs: [['token', f.valid.access], ['client_id', f.publicClient.id], ['token_type_hint', 'access_token']] },
        { pairs: [['token', f.valid.access]], authorization: basicAuth(f.secretClient.id, f.secretClient.secret) },
      ];
    }
    return [
      { pairs: [['token', f.valid.access]], authorization: basicAuth(INTROSPECTOR.id, INTROSPECTOR.secret) },
      { pairs: [['token', f.valid.refresh], ['token_type_hint', 'access_token']], authorization: basicAuth(INTROSPECTOR.id, INTROSPECTOR.secret) },
    ];
  };

  it('answers any form body with tokens or an OAuth error, never a 5xx', async () => {
    const request = fc.oneof(
      // A valid request broken a little, usually with the credential it needs.
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.nat({ max: bases().length - 1 }), fc.boolean(), authorizationHeader())
          .chain(([index, keepAuth, otherAuth]) => {
            const base = bases()[index]!;
            return mutatedForm([base.pairs], TOKEN_PARAMS, formValue()).map((pairs) => ({ pairs, authorization: keepAuth ? base.authorization : otherAuth }));
          }),
      },
      // Anything at all.
      {
        weight: 1,
        arbitrary: fc.record({ pairs: fc.array(formPair(TOKEN_PARAMS, formValue()), { maxLength: 8 }), authorization: authorizationHeader() }),
      },
    );
    await fc.assert(
      fc.asyncProperty(request, formEncoding, formContentType, async ({ pairs, authorization }, encoding, contentType) => {
        // Invalid UTF-8 only now and then, or it would hide everything behind it.
        const response = await postForm(path, encodeForm(await f.freshen(pairs), encoding.raw ? encoding : { raw: false, invalidUtf8: undefined }), contentType, authorization);
        const checked = await readChecked(response);
        f.errors.assertClean();
        if (checked.status === 200) {
          if (path === '/token') {
            const tokens = checked.json as { access_token?: unknown; token_type?: unknown };
            expect(tokens.access_token).toEqual(expect.any(String));
            expect(tokens.token_type).toBe('Bearer');
          }
          if (path === '/introspect') expect(typeof (checked.json as { active?: unknown }).active).toBe('boolean');
          return;
        }
        expect([400, 401]).toContain(checked.status);
        expectOAuthError(checked, response);
      }),
      runs(100),
    );
  });

  it('refuses every other content type with invalid_request', async () => {
    await fc.assert(
      fc.asyncProperty(otherContentType, fc.array(formPair(TOKEN_PARAMS, formValue()), { maxLength: 4 }), async (contentType, pairs) => {
        const response = await postForm(path, encodeForm(pairs, { raw: false, invalidUtf8: undefined }), contentType, basicAuth(INTROSPECTOR.id, INTROSPECTOR.secret));
        const checked = await readChecked(response);
        f.errors.assertClean();
        expect(checked.status).toBe(400);
        expectOAuthError(checked, response);
        expect((checked.json as { error: string }).error).toBe('invalid_request');
      }),
      runs(30),
    );
  });

  it('refuses a repeated parameter with invalid_request (RFC 6749 §3.1)', async () => {
    const repeatable = path === '/token' ? (['grant_type', 'client_id', 'code', 'redirect_uri'] as const) : path === '/revoke' ? (['token', 'client_id'] as const) : (['token', 'client_secret'] as const);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...repeatable), fc.tuple(formValue(), formValue()), async (name, [first, second]) => {
        // /introspect is for the operator's confidential client (HTTP Basic); the others use the public client in the body.
        const introspect = path === '/introspect';
        const pairs = (
          [
            ['grant_type', 'authorization_code'],
            ['client_id', f.publicClient.id],
            ['code', f.valid.code],
            ['code_verifier', VERIFIER],
            ['token', f.valid.access],
          ] as Array<[string, string]>
        ).filter(([key]) => key !== name && !(introspect && key === 'client_id'));
        // Empty values count as absent, so the repeat must carry something.
        pairs.push([name, first || 'x'], [name, second || 'y']);
        const authorization = introspect ? basicAuth(INTROSPECTOR.id, INTROSPECTOR.secret) : undefined;
        const response = await postForm(path, encodeForm(pairs, { raw: false, invalidUtf8: undefined }), 'application/x-www-form-urlencoded', authorization);
        const checked = await readChecked(response);
        f.errors.assertClean();
        expect(checked.status).toBe(400);
        expect((checked.json as { error: string }).error).toBe('invalid_request');
      }),
      runs(30),
    );
  });

  it('refuses oversized bodies with 400, declared or not', async () => {
    for (const size of [64 * 1024 + 1, 1024 * 1024, 5 * 1024 * 1024]) {
      const body = `grant_type=authorization_code&code=${'A'.repeat(size)}`;
      const response = await postForm(path, body, 'application/x-www-form-urlencoded');
      const checked = await readChecked(response);
      expect(checked.status).toBe(400);
      expect((checked.json as { error: string }).error).toBe('invalid_request');
      // A lying Content-Length (smaller than the body) changes nothing.
      const lying = await f.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '10' },
        body: new TextEncoder().encode(body),
      });
      expect((await readChecked(lying)).status).toBe(400);
    }
    f.errors.assertClean();
  });
});

describe('fuzzing /register', () => {
  const metadataValue = fc.oneof(
    garbageText,
    fc.array(garbageText, { maxLength: 3 }),
    fc.constantFrom(
      [REDIRECT_URI],
      ['javascript:alert(1)//'],
      ['data:text/html,<script>alert(1)</script>'],
      ['http://127.0.0.1:3000/cb', 'cursor://cb'],
      [`https://app.example.com/cb?x="><script>alert(1)</script>`],
      ['https://app.example.com/cb#frag'],
      ['https://user:pw@app.example.com/cb'],
      'none',
      'client_secret_post',
      'private_key_jwt',
      ['authorization_code'],
      ['implicit'],
      ['code', 'token'],
    ),
    fc.integer(),
    fc.constantFrom(null, true, {}, [], 1e400, -0),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const registrationBody = fc.dictionary(
    fc.oneof(
      fc.constantFrom('redirect_uris', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'client_name', 'client_uri', 'logo_uri', 'scope', 'software_id', 'software_version', '__proto__', 'constructor'),
      fc.string({ maxLength: 10 }),
    ),
    metadataValue,
    { maxKeys: 6 },
  );

  it('registers or refuses with an RFC 7591 error, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 2, arbitrary: registrationBody.map((body) => JSON.stringify(body)) },
          {
            weight: 3,
            arbitrary: fc
              .dictionary(
                fc.constantFrom('redirect_uris', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'client_name', 'client_uri', 'scope', 'software_id', 'contacts', 'jwks'),
                metadataValue,
                { maxKeys: 2 },
              )
              .map((changes) => JSON.stringify({ redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], ...changes })),
          },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
          { weight: 1, arbitrary: garbageText },
          { weight: 1, arbitrary: fc.constantFrom('{"redirect_uris":["https://a.example/cb"]', '{"__proto__":{"redirect_uris":["https://a.example/cb"]}}', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]', '{"a":' + '['.repeat(5000)) },
        ),
        fc.option(fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80]), { nil: undefined }),
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON') }, { weight: 1, arbitrary: otherContentType }),
        async (text, invalid, contentType) => {
          const body = invalid ? new Uint8Array([...new TextEncoder().encode(text), ...invalid]) : text;
          const response = await f.app.request('/register', { method: 'POST', headers: contentType === undefined ? {} : { 'content-type': contentType }, body });
          const checked = await readChecked(response);
          f.errors.assertClean();
          if (checked.status === 201) {
            const registered = checked.json as { client_id: string; redirect_uris: string[] };
            expect(registered.client_id).toEqual(expect.any(String));
            for (const uri of registered.redirect_uris) expect(uri).not.toMatch(/^\s*(javascript|data|vbscript|file):/i);
            return;
          }
          expect(checked.status).toBe(400);
          expectOAuthError(checked, response);
          expect(['invalid_client_metadata', 'invalid_redirect_uri']).toContain((checked.json as { error: string }).error);
        },
      ),
      runs(150),
    );
  });

  it('reflects injected markup only inside application/json', async () => {
    await fc.assert(
      fc.asyncProperty(scriptPayload, fc.constantFrom('redirect_uris', 'client_name', 'client_uri', 'scope'), async (payload, field) => {
        const value = field === 'redirect_uris' ? [`https://app.example.com/${payload}`, payload] : field === 'client_uri' ? `https://a.example/${payload}` : payload;
        const response = await f.app.request('/register', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: [REDIRECT_URI], [field]: value }),
        });
        const checked = await readChecked(response);
        expect(checked.contentType).toMatch(/^application\/json/);
        // Hono's JSON serializer is the only encoder: the body must round-trip.
        expect(() => JSON.parse(checked.text)).not.toThrow();
      }),
      runs(40),
    );
  });

  it('refuses oversized and empty bodies with invalid_client_metadata', async () => {
    for (const body of ['', ' ', `{"redirect_uris":["${REDIRECT_URI}"],"client_name":"${'x'.repeat(16 * 1024)}"}`, 'x'.repeat(5 * 1024 * 1024)]) {
      const response = await f.app.request('/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const checked = await readChecked(response);
      expect(checked.status).toBe(400);
      expect((checked.json as { error: string }).error).toBe('invalid_client_metadata');
    }
    f.errors.assertClean();
  });
});

describe('fuzzing /admin/revoke', () => {
  it('answers 200, 400 or 401 with a JSON error, for any token and body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(`Bearer ${ADMIN_TOKEN}`), fc.constant(`bearer  ${ADMIN_TOKEN}`), garbageText, fc.constant(`Bearer ${ADMIN_TOKEN}x`)),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
          fc.record({ user: fc.oneof(garbageText, fc.integer()), client: fc.oneof(garbageText, capsuleVariant(f.allCapsules)) }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
          garbageText,
        ),
        fc.oneof(fc.constantFrom('application/json', 'application/x-www-form-urlencoded'), otherContentType),
        async (authorization, body, contentType) => {
          const headers: Record<string, string> = { authorization: headerSafe(authorization) };
          if (contentType !== undefined) headers['content-type'] = contentType;
          const response = await f.app.request('/admin/revoke', { method: 'POST', headers, body });
          const checked = await readChecked(response);
          f.errors.assertClean();
          if (checked.status === 200) return;
          expect([400, 401]).toContain(checked.status);
          expectOAuthError(checked, response);
        },
      ),
      runs(100),
    );
  });

  it('refuses a 5 MB body with 400', async () => {
    const response = await f.app.request('/admin/revoke', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'x'.repeat(5 * 1024 * 1024) }),
    });
    expect((await readChecked(response)).status).toBe(400);
  });
});

describe('fuzzing every path and method', () => {
  const paths = [
    '/.well-known/oauth-authorization-server',
    '/.well-known/oauth-protected-resource',
    '/.well-known/oauth-protected-resource/mcp',
    '/.well-known/oauth-protected-resource/nope',
    '/.well-known/openid-configuration',
    '/register',
    '/token',
    '/revoke',
    '/introspect',
    '/admin/revoke',
    '/admin/',
    '/healthz',
    '/metrics',
    '/mcp/',
    '/MCP',
    '/%2e%2e/mcp',
    '//token',
    '/token/',
  ];
  it('answers any method on any path without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...paths) }, { weight: 1, arbitrary: fc.webPath() }),
        fc.option(fc.webQueryParameters(), { nil: undefined }),
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND'),
        fc.option(garbageText, { nil: undefined }),
        async (path, query, method, body) => {
          const url = `${path.startsWith('/') ? path : `/${path}`}${query ? `?${query}` : ''}`;
          const init: RequestInit = { method, headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } };
          if (body !== undefined && method !== 'GET' && method !== 'HEAD') init.body = body;
          const response = await f.app.request(url, init);
          const checked = await readChecked(response, method);
          f.errors.assertClean();
          if (method !== 'HEAD' && checked.contentType.startsWith('application/json') && checked.status >= 400 && checked.status !== 401) {
            // MCP routes answer in JSON-RPC (a refused method, say); every other endpoint with an OAuth error.
            const body = checked.json as { jsonrpc?: unknown; error?: { code?: unknown; message?: unknown } | unknown };
            if (body.jsonrpc === '2.0') {
              const error = body.error as { code?: unknown; message?: unknown };
              expect(typeof error.code).toBe('number');
              expect(typeof error.message).toBe('string');
            } else expect(typeof body.error).toBe('string');
          }
        },
      ),
      runs(150),
    );
  });
});
