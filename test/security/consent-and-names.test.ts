import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortDigest } from '../../src/crypto/encoding.js';
import { COOKIE } from '../../src/oauth/cookies.js';
import { Browser, parseForms, type Page } from '../support/browser.js';
import { codecFor, TEST_KEY_A } from '../support/deps.js';
import { authorizeUrl, CLIENT_REDIRECT, register, signIn, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/**
 * What a person is asked before a client gets a code: played from the attacker's side against the
 * real stack. An approval covers one client, redirect URI and MCP server; the names shown on the
 * consent page are text that reads as its characters, whoever chose them.
 */

const RIGHT_TO_LEFT_OVERRIDE = '\u202E';
/** Each character an attacker could use to reorder or hide part of a name. */
const HIDDEN_CHARACTERS = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C', '\u200B', '\u0007', '\u0085'];
const SPOOFED_NAME = `Calendar ${RIGHT_TO_LEFT_OVERRIDE}elgooG`;
const HONEST_NAME = 'Café 日本';

describe('security: remembered consent and client names', () => {
  let documents: Server;
  let documentBase: string;
  const bodies = new Map<string, unknown>();
  let stack: Stack;
  let base: string;
  let idpOrigin: string;

  beforeAll(async () => {
    documents = createServer((req, res) => {
      const body = bodies.get(req.url ?? '');
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
    documentBase = `http://127.0.0.1:${(documents.address() as AddressInfo).port}`;
    const document = (path: string, name: string) => ({ client_id: `${documentBase}${path}`, client_name: name, redirect_uris: [CLIENT_REDIRECT] });
    bodies.set('/spoofed.json', document('/spoofed.json', SPOOFED_NAME));
    bodies.set('/honest.json', document('/honest.json', HONEST_NAME));

    stack = await Stack.start({
      extra: { clientMetadataDocuments: { allowPrivateNetwork: true } },
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/team', url: demoUrl, auth: 'identity-headers', timeout: 2 },
      ],
    });
    base = stack.publicUrl;
    idpOrigin = new URL(stack.idp.issuer).origin;
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => documents?.close(() => resolve()));
  });

  const isConsentPage = (page: Page) =>
    page.status === 200 && parseForms(page.body, page.url).some((form) => form.buttons.some((button) => button.name === 'decision'));
  const heading = (page: Page) => /<h1>(.*?)<\/h1>/s.exec(page.body)?.[1] ?? '';
  const documentClient = (path: string): RegisteredClient => ({ client_id: `${documentBase}${path}`, token_endpoint_auth_method: 'none', redirect_uris: [CLIENT_REDIRECT] });

  it('remembered consent: a client approved for /mcp is asked again for /team, whose server receives the identity, and the page says so', async () => {
    const client = await register(base, { client_name: 'Approved For Mcp' });
    const browser = new Browser();
    await signIn(base, client, { browser });
    // Control: the approved client, redirect URI and server go straight to the identity provider.
    const silent = await browser.get(await authorizeUrl(base, client));
    expect(silent.status).toBe(302);
    expect(silent.location!.origin).toBe(idpOrigin);

    const other = await browser.get(await authorizeUrl(base, client, { resource: `${base}/team` }));
    expect(other.location?.origin).not.toBe(idpOrigin);
    expect(isConsentPage(other)).toBe(true);
    expect(heading(other)).toContain(`<code>${base}/team</code>`);
    expect(other.body).toContain(`the MCP server at <code>${base}/team</code> receives your identity`);
    expect(other.body).toContain('user ID, name and verified email address');

    // Approving /team remembers it beside /mcp, not instead of it.
    await signIn(base, client, { browser, extra: { resource: `${base}/team` } });
    for (const route of ['/team', '/mcp']) {
      const again = await browser.get(await authorizeUrl(base, client, { resource: `${base}${route}` }));
      expect(again.location?.origin, route).toBe(idpOrigin);
    }
  });

  it('remembered consent: a cookie sealed before approvals named the server grants no route', async () => {
    const client = await register(base, { client_name: 'Approved Long Ago' });
    const { codec } = await codecFor([TEST_KEY_A]);
    const now = codec.nowSeconds();
    // The earlier format: the client and redirect URI only.
    const approval = { key: await shortDigest(`${await shortDigest(client.client_id)} ${CLIENT_REDIRECT}`), at: now };
    const oldCookie = await codec.seal('consent', { approvals: [approval], exp: now + 3600 } as never);
    const browser = new Browser();
    browser.cookies.store(new URL(base), `${COOKIE.consent}=${oldCookie}; Path=/`);

    for (const route of ['/team', '/mcp']) {
      const page = await browser.get(await authorizeUrl(base, client, { resource: `${base}${route}` }));
      expect(isConsentPage(page), route).toBe(true);
    }
    // Control: approving once in the same browser replaces the cookie, and the approval holds.
    await signIn(base, client, { browser });
    expect((await browser.get(await authorizeUrl(base, client))).location?.origin).toBe(idpOrigin);
  });

  it('client names: registration refuses a name with bidirectional controls or other hidden characters', async () => {
    for (const hidden of HIDDEN_CHARACTERS) {
      const response = await fetch(`${base}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_name: `Calendar ${hidden}elgooG`, redirect_uris: [CLIENT_REDIRECT], token_endpoint_auth_method: 'none' }),
      });
      const codePoint = `U+${hidden.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      expect(response.status, codePoint).toBe(400);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error, codePoint).toBe('invalid_client_metadata');
      expect(body.error_description, codePoint).toContain('client_name');
    }
  });

  it('client names: a metadata document whose name has a right-to-left override is refused, and no consent page is shown', async () => {
    const page = await new Browser().get(await authorizeUrl(base, documentClient('/spoofed.json')));
    expect(page.status).toBe(400);
    expect(isConsentPage(page)).toBe(false);
    expect(page.body).not.toContain(RIGHT_TO_LEFT_OVERRIDE);
  });

  it('client names (control): an ordinary name in any script registers, and the consent page isolates it and the redirect host', async () => {
    const client = await register(base, { client_name: HONEST_NAME });
    expect(client.client_name).toBe(HONEST_NAME);
    const page = await new Browser().get(await authorizeUrl(base, client));
    expect(isConsentPage(page)).toBe(true);
    expect(heading(page)).toContain(`<bdi>${HONEST_NAME}</bdi> wants to use`);
    expect(page.body).toContain(`<strong><bdi>${new URL(CLIENT_REDIRECT).host}</bdi></strong>`);

    const published = await new Browser().get(await authorizeUrl(base, documentClient('/honest.json')));
    expect(isConsentPage(published)).toBe(true);
    expect(heading(published)).toContain(`<bdi>${HONEST_NAME}</bdi> wants to use`);
  });
});
