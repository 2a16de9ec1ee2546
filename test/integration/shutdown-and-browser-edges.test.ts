import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.js';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { authorizeUrl, register } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

describe('consent form and local hosts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a consent post that the browser marks as cross-site, even with the cookie', async () => {
    const browser = new Browser();
    const client = await register(stack.publicUrl);
    const page = await browser.get(await authorizeUrl(stack.publicUrl, client));
    const request = /name="request" value="([^"]+)"/.exec(page.body)![1]!;
    const post = (headers: Record<string, string>) =>
      browser.request(`${stack.publicUrl}/consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ request, decision: 'approve' }).toString(),
      });
    expect((await post({ origin: 'null', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-site' })).status).toBe(403);
    const approved = await post({ origin: stack.publicUrl, 'sec-fetch-site': 'same-origin' });
    expect(approved.status).toBe(303);
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
  });

  it('sends a browser that used another loopback name for the proxy to the issuer host', async () => {
    const client = await register(stack.publicUrl);
    const viaLocalhost = (await authorizeUrl(stack.publicUrl, client)).href.replace('127.0.0.1', 'localhost');
    const page = await new Browser().get(viaLocalhost);
    expect(page.status).toBe(302);
    expect(page.location!.origin).toBe(stack.publicUrl);
    expect(page.location!.pathname).toBe('/authorize');
    expect(page.location!.searchParams.get('client_id')).toBe(client.client_id);
  });

  it('names the identity provider and what each party receives on the consent page', async () => {
    const client = await register(stack.publicUrl, { client_name: 'Named Client' });
    const page = await new Browser().get(await authorizeUrl(stack.publicUrl, client));
    expect(page.body).toContain(new URL(stack.idp.issuer).host);
    expect(page.body).toContain('receives an access token for your account');
    expect(page.body).not.toContain('offline_access');
  });
});

describe('graceful shutdown', () => {
  it('finishes a call in flight, ends idle event streams at once, and does not wait out the grace period', async () => {
    const stack = await Stack.start();
    try {
      const { client } = await connectWithOAuth(stack.mcpUrl, new TestOAuthProvider({ login: 'frank' }));
      // The SDK client now holds a standalone GET event stream open, as real clients do.
      let callInFlight!: () => void;
      const firstProgress = new Promise<void>((resolve) => {
        callInFlight = resolve;
      });
      const call = client.callTool({ name: 'countdown', arguments: { from: 3, delayMs: 200 } }, undefined, { onprogress: () => callInFlight() });
      await firstProgress;
      // A grace period far beyond the test's own timeout: close() settles in time only if it waits
      // for the call in flight alone, not for the idle event stream or the grace period.
      await stack.proxies[0]!.close(3_600_000);
      expect(textOf(await call)).toBe('liftoff');
      await client.close().catch(() => {});
    } finally {
      await stack.close();
    }
  });
});
