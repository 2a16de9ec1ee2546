/**
 * Property-based fuzzing of the browser-facing endpoints: /authorize, the
 * consent form and the upstream callback. Invariant: never a 5xx nor an error
 * log; every page is locked down and carries no script or injected markup;
 * every redirect goes to the client's registered URI, the issuer or the upstream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BINDING,
  useFixture,
  capsuleVariant,
  encodeForm,
  expectSafeLocation,
  expectSafePage,
  formContentType,
  formEncoding,
  formPair,
  FRESH,
  mutatedForm,
  garbageText,
  ISSUER,
  otherContentType,
  readChecked,
  REDIRECT_URI,
  RESOURCE,
  runs,
  SCRIPT_PAYLOADS,
  scriptPayload,
  type Fixture,
} from './harness.js';

let f: Fixture;
useFixture((fixture) => (f = fixture));

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const UPSTREAM = 'http://127.0.0.1:9';

/** Where a browser endpoint may send the user: back to the client, to the issuer itself, or to the upstream. */
function expectKnownRedirect(response: Response): void {
  expectSafeLocation(response);
  const location = response.headers.get('location');
  if (location === null) return;
  const allowed = [REDIRECT_URI, 'http://127.0.0.1', 'http://localhost', ISSUER, UPSTREAM];
  expect(allowed.some((prefix) => location.startsWith(prefix)), location).toBe(true);
}

async function checkBrowserAnswer(response: Response, injected: readonly string[]): Promise<void> {
  const checked = await readChecked(response);
  f.errors.assertClean();
  expect([200, 302, 303, 400, 403, 429]).toContain(checked.status);
  if (checked.status === 302 || checked.status === 303) {
    expectKnownRedirect(response);
    return;
  }
  expectSafePage(checked, response, injected);
}

/** A Cookie header: our two cookies with valid, garbage or capsule values, and malformed cookie syntax. */
const cookieHeader = (): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.oneof(
            { weight: 4, arbitrary: fc.constant(BINDING) },
            { weight: 1, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: garbageText },
            { weight: 1, arbitrary: fc.constant('A'.repeat(43)) },
          ),
          fc.option(capsuleVariant(f.allCapsules), { nil: undefined }),
          fc.constantFrom('', '', '', '; =', ';;;', '; a=%E0%A4%A', '; capsule-binding=x', '; __Host-capsule-binding=' + BINDING, '; $Version=1', '; x="unterminated'),
        )
        .map(([binding, consent, junk]) => {
          const parts: string[] = [];
          if (binding !== undefined) parts.push(`__Host-capsule-binding=${encodeURIComponent(binding.replace(/[\ud800-\udfff]/g, ''))}`);
          if (consent !== undefined) parts.push(`__Host-capsule-consent=${consent.replace(/[^\x21-\x7e]/g, '')}`);
          return parts.join('; ') + junk;
        }),
    },
  );

const AUTHORIZE_PARAMS = ['client_id', 'redirect_uri', 'response_type', 'code_challenge', 'code_challenge_method', 'state', 'resource', 'scope', 'prompt'] as const;

describe('fuzzing GET /authorize', () => {
  const value = () =>
    fc.oneof(
      { weight: 2, arbitrary: garbageText },
      { weight: 2, arbitrary: capsuleVariant(f.allCapsules) },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          f.publicClient.id,
          f.secretClient.id,
          REDIRECT_URI,
          'http://127.0.0.1:4000/cb',
          `${REDIRECT_URI}?x=1`,
          'javascript:alert(1)',
          'code',
          'token',
          CHALLENGE,
          'S256',
          'plain',
          RESOURCE,
          'https://evil.example/mcp',
          'none',
          'login',
          'offline_access mcp:read',
          'https://client.example.com/metadata.json',
        ),
      },
    );

  /** Mostly a well-formed request with one or two things broken or added, so validation is passed deep. */
  const query = () =>
    fc
      .tuple(
        fc.constantFrom(f.publicClient.id, f.secretClient.id, undefined),
        fc.array(formPair(AUTHORIZE_PARAMS, value()), { maxLength: 3 }),
        fc.array(fc.constantFrom(...AUTHORIZE_PARAMS), { maxLength: 3 }),
      )
      .map(([clientId, extra, dropped]) => {
        const base: Array<[string, string]> = [
          ['response_type', 'code'],
          ['redirect_uri', REDIRECT_URI],
          ['code_challenge', CHALLENGE],
          ['code_challenge_method', 'S256'],
          ['state', 'abc'],
          ['resource', RESOURCE],
        ];
        if (clientId) base.unshift(['client_id', clientId]);
        return [...base.filter(([name]) => !dropped.includes(name as (typeof AUTHORIZE_PARAMS)[number])), ...extra];
      });

  it('answers with a safe page or a redirect to a registered URI, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(query(), fc.boolean(), cookieHeader(), async (pairs, raw, cookie) => {
        const search = raw ? pairs.map(([k, v]) => `${k}=${v}`).join('&') : new URLSearchParams(pairs).toString();
        let url: string;
        try {
          url = new URL(`/authorize?${search}`, 'http://localhost').href;
        } catch {
          return; // not a request a client could send
        }
        const response = await f.app.request(url, { headers: cookie === undefined ? {} : { cookie } });
        await checkBrowserAnswer(response, pairs.map(([, v]) => v));
        // An unvalidated client or redirect URI never redirects (OAuth 2.1 §4.1.2.1).
        const location = response.headers.get('location');
        if (location?.startsWith(REDIRECT_URI)) {
          const sent = new URLSearchParams(search);
          expect(sent.getAll('client_id')).toHaveLength(1);
          expect(new URL(location).searchParams.get('iss')).toBe(ISSUER);
        }
      }),
      runs(150),
    );
  });

  it('escapes whatever a client registered when rendering the consent page', async () => {
    await fc.assert(
      fc.asyncProperty(scriptPayload, scriptPayload, fc.constantFrom('path', 'query'), async (name, inUri, where) => {
        const redirectUri = where === 'path' ? `https://app.example.com/${inUri}` : `https://app.example.com/cb?next=${inUri}`;
        const registered = await f.app.request('/register', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ redirect_uris: [redirectUri], client_name: name, token_endpoint_auth_method: 'none' }),
        });
        if (registered.status !== 201) {
          expect(registered.status).toBe(400);
          return;
        }
        const { client_id: clientId } = (await registered.json()) as { client_id: string };
        const params = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', code_challenge: CHALLENGE, code_challenge_method: 'S256', state: inUri });
        const response = await f.app.request(`/authorize?${params}`);
        const checked = await readChecked(response);
        f.errors.assertClean();
        expect(checked.status).toBe(200);
        expectSafePage(checked, response, [name, inUri, redirectUri]);
        expect(checked.text).toContain('<form method="post" action="/consent">');
      }),
      runs(40),
    );
  });
});

describe('fuzzing POST /consent', () => {
  const CONSENT_PARAMS = ['request', 'decision'] as const;
  const value = () =>
    fc.oneof(
      { weight: 3, arbitrary: capsuleVariant(f.allCapsules) },
      { weight: 1, arbitrary: garbageText },
      { weight: 3, arbitrary: fc.constantFrom(f.valid.pending, 'approve', 'deny', 'APPROVE', '') },
    );

  it('answers any submission with a safe page or a redirect, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: mutatedForm([[['request', f.valid.pending], ['decision', 'approve']], [['request', f.valid.pending], ['decision', 'deny']]], CONSENT_PARAMS, value()) },
          { weight: 1, arbitrary: fc.array(formPair(CONSENT_PARAMS, value()), { maxLength: 4 }) },
        ),
        formEncoding,
        fc.oneof({ weight: 4, arbitrary: formContentType }, { weight: 1, arbitrary: otherContentType }),
        cookieHeader(),
        fc.record({
          origin: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(undefined, ISSUER) }, { weight: 1, arbitrary: fc.constantFrom('null', 'https://evil.example', `${ISSUER}/`, '') }),
          fetchSite: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(undefined, 'same-origin') }, { weight: 1, arbitrary: fc.constantFrom('cross-site', 'none', 'same-site') }),
        }),
        async (pairs, encoding, contentType, cookie, { origin, fetchSite }) => {
          const headers: Record<string, string> = {};
          if (contentType !== undefined) headers['content-type'] = contentType;
          if (cookie !== undefined) headers.cookie = cookie;
          if (origin !== undefined) headers.origin = origin;
          if (fetchSite !== undefined) headers['sec-fetch-site'] = fetchSite;
          // Invalid UTF-8 only now and then, or it would hide everything behind it.
          const response = await f.app.request('/consent', { method: 'POST', headers, body: encodeForm(pairs, encoding.raw ? encoding : { raw: false, invalidUtf8: undefined }) });
          await checkBrowserAnswer(response, pairs.map(([, v]) => v));
          if (response.status === 303) {
            // Only a form opened with the valid pending capsule, in the browser it was bound to, gets anywhere.
            expect(pairs.some(([name, v]) => name === 'request' && v.startsWith(f.valid.pending.slice(0, 40)))).toBe(true);
            expect(cookie).toContain(BINDING);
          }
        },
      ),
      runs(150),
    );
  });

  it('refuses a 5 MB form with a page, not a 5xx', async () => {
    const response = await f.app.request('/consent', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-capsule-binding=${BINDING}` },
      body: `request=${f.valid.pending}&decision=approve&pad=${'x'.repeat(5 * 1024 * 1024)}`,
    });
    const checked = await readChecked(response);
    expect(checked.status).toBe(400);
    expectSafePage(checked, response);
  });
});

describe('fuzzing GET /oauth/callback', () => {
  const CALLBACK_PARAMS = ['state', 'code', 'error', 'error_description', 'iss', 'session_state'] as const;
  const value = () =>
    fc.oneof(
      { weight: 3, arbitrary: capsuleVariant(f.allCapsules) },
      { weight: 2, arbitrary: garbageText },
      { weight: 2, arbitrary: fc.constantFrom(f.valid.transaction, f.valid.pending, 'access_denied', UPSTREAM, ...SCRIPT_PAYLOADS) },
    );

  it('answers any callback with a safe page or a redirect to the client, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          mutatedForm([[['state', FRESH.transaction], ['code', 'upstream-code'], ['iss', UPSTREAM]], [['state', FRESH.transaction], ['error', 'access_denied']]], CALLBACK_PARAMS, value()),
          fc.array(formPair(CALLBACK_PARAMS, value()), { maxLength: 5 }),
        ),
        cookieHeader(),
        async (generated, cookie) => {
        const pairs = await f.freshen(generated);
        const response = await f.app.request(`/oauth/callback?${new URLSearchParams(pairs)}`, { headers: cookie === undefined ? {} : { cookie } });
        await checkBrowserAnswer(response, pairs.map(([, v]) => v));
        // The upstream's error text never travels to the client.
        const location = response.headers.get('location');
        if (location) {
          const description = new URL(location).searchParams.get('error_description') ?? '';
          for (const payload of SCRIPT_PAYLOADS) expect(description).not.toContain(payload);
        }
        },
      ),
      runs(120),
    );
  });
});
