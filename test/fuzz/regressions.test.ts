/**
 * Counterexamples the fuzz suites found, kept as fixed cases.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, useFixture, expectOAuthError, expectSafePage, readChecked, type Fixture } from './harness.js';

let f: Fixture;
useFixture((fixture) => (f = fixture));

/** A body whose stream fails after the first bytes, as when the client disconnects mid-upload. */
function abortedBody(first: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
      controller.error(new Error('aborted'));
    },
  });
}

describe('fuzz regressions', () => {
  // Found by oauth-api.test.ts: the zod messages quote the caller's keys, so `"` reached the wire
  // (seed 337706909: form body `{"user":""}`; seed 1978416378: JSON body `[]`).
  it.each([
    ['application/x-www-form-urlencoded', '{"user":""}'],
    ['application/json', '[]'],
    ['application/json', '{"user":"u","<script>\\\\":1}'],
  ])('keeps /admin/revoke error descriptions to the RFC 6749 character set (%s %s)', async (contentType, body) => {
    const response = await f.app.request('/admin/revoke', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': contentType },
      body,
    });
    const checked = await readChecked(response);
    expect(checked.status).toBe(400);
    expectOAuthError(checked, response);
  });

  // Found by sockets.test.ts: a client that disconnected mid-body got a 500 and an error log
  // ("token endpoint failure ... aborted") from every form and JSON endpoint, and a 500 page from /consent.
  it.each(['/token', '/revoke', '/introspect', '/register'])('answers a body that breaks off on %s with 400 invalid_request, not 500', async (path) => {
    const response = await f.app.request(path, {
      method: 'POST',
      headers: { 'content-type': path === '/register' ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: abortedBody(path === '/register' ? '{"redirect_uris":' : 'grant_type='),
      duplex: 'half',
    } as RequestInit);
    const checked = await readChecked(response);
    expect(checked.status).toBe(400);
    expectOAuthError(checked, response);
    expect((checked.json as { error: string }).error).toBe('invalid_request');
    f.errors.assertClean();
  });

  it('answers a consent form that breaks off with a 400 page, not 500', async () => {
    const response = await f.app.request('/consent', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: abortedBody('request='),
      duplex: 'half',
    } as RequestInit);
    const checked = await readChecked(response);
    expect(checked.status).toBe(400);
    expectSafePage(checked, response);
    f.errors.assertClean();
  });
});
