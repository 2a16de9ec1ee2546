import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, CookieJar, driveLogin, parseForms } from '../support/browser.js';

const PAGE = new URL('http://127.0.0.1:8080/authorize?x=1');

describe('CookieJar', () => {
  it('scopes cookies by path and host, not port', () => {
    const jar = new CookieJar();
    jar.store(new URL('http://127.0.0.1:1000/a/b'), 'dir=1');
    jar.store(new URL('http://127.0.0.1:1000/'), 'root=1; Path=/');
    jar.store(new URL('http://127.0.0.1:1000/'), 'deep=1; Path=/interaction/abc');
    expect(jar.header(new URL('http://127.0.0.1:2000/a/c'))).toBe('dir=1; root=1');
    expect(jar.header(new URL('http://127.0.0.1:2000/ab'))).toBe('root=1');
    expect(jar.header(new URL('http://127.0.0.1:2000/interaction/abc'))).toBe('deep=1; root=1');
    expect(jar.header(new URL('http://127.0.0.1:2000/interaction/abcd'))).toBe('root=1');
    expect(jar.header(new URL('http://localhost:1000/a/c'))).toBeUndefined();
  });

  it('expires cookies by Max-Age (which beats Expires) and deletes on a past date', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const jar = new CookieJar({ now: () => now });
    const url = new URL('http://127.0.0.1/');
    jar.store(url, 'short=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Max-Age=60');
    jar.store(url, 'gone=1');
    jar.store(url, 'gone=; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    expect(jar.header(url)).toBe('short=1');
    now += 61_000;
    expect(jar.header(url)).toBeUndefined();
  });

  it('sends Secure cookies to loopback over http but not to other http hosts', () => {
    const jar = new CookieJar();
    jar.store(new URL('http://localhost:3000/'), '__Host-consent=yes; Path=/; Secure; HttpOnly; SameSite=Lax');
    jar.store(new URL('http://example.test/'), 'insecure=1; Secure');
    expect(jar.header(new URL('http://localhost:3000/consent'))).toBe('__Host-consent=yes');
    expect(jar.all().map((c) => c.name)).toEqual(['__Host-consent']);
    expect(jar.all()[0]).toMatchObject({ secure: true, httpOnly: true, sameSite: 'lax', hostOnly: true });
  });

  it('refuses cookies that break the __Host- and __Secure- prefix rules', () => {
    const jar = new CookieJar();
    const url = new URL('http://127.0.0.1/');
    jar.store(url, '__Host-a=1; Path=/');
    jar.store(url, '__Host-b=1; Secure; Path=/sub');
    jar.store(new URL('http://app.localhost/'), '__Host-c=1; Secure; Path=/; Domain=localhost');
    jar.store(url, '__Secure-d=1');
    expect(jar.all()).toEqual([]);
  });
});

describe('parseForms', () => {
  it('reads method, resolved action, hidden inputs and named buttons', () => {
    const html = `<p>Allow?</p>
      <form method="POST" action="/consent">
        <input type="hidden" name="tx" value="a&amp;b&#x3D;c">
        <input type='hidden' name=csrf value=t0k3n />
        <input type="checkbox" name="remember" value="yes">
        <input type="checkbox" name="agree" checked>
        <button type="submit" name="decision" value="approve">Allow</button>
        <button name="decision" value="deny">Deny</button>
        <button type="button" name="help" value="x">?</button>
      </form>
      <form><select name="s"><option value="1">one</option><option selected value="2">two</option></select></form>`;
    const [consent, second] = parseForms(html, PAGE);
    expect(consent?.method).toBe('POST');
    expect(consent?.action.href).toBe('http://127.0.0.1:8080/consent');
    expect(consent?.controls.map((c) => [c.name, c.value])).toEqual([
      ['tx', 'a&b=c'],
      ['csrf', 't0k3n'],
      ['agree', 'on'],
    ]);
    expect(consent?.buttons).toEqual([
      { name: 'decision', value: 'approve' },
      { name: 'decision', value: 'deny' },
    ]);
    expect(second?.method).toBe('GET');
    expect(second?.action.href).toBe(PAGE.href);
    expect(second?.controls).toEqual([{ name: 's', type: 'select', value: '2' }]);
  });
});

/** A stand-in for the proxy: a consent page, a CSRF cookie, and a redirect to the client. */
function fakeProxy(req: IncomingMessage, res: ServerResponse, seen: Array<{ body: string; origin?: string; cookie?: string }>) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname === '/authorize') {
    res.writeHead(302, { location: '/consent?client=demo', 'set-cookie': '__Host-csrf=c1; Path=/; Secure; HttpOnly' }).end();
  } else if (url.pathname === '/consent' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<form method="post" action="/consent">
      <input type="hidden" name="csrf" value="c1"><input type="hidden" name="tx" value="t-1">
      <button name="decision" value="approve">Allow</button><button name="decision" value="deny">Deny</button></form>`);
  } else if (url.pathname === '/consent' && req.method === 'POST') {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ body, origin: req.headers.origin, cookie: req.headers.cookie });
      const decision = new URLSearchParams(body).get('decision');
      res.writeHead(303, { location: `http://127.0.0.1:9/cb?decision=${decision}` }).end();
    });
  } else {
    res.writeHead(500).end('unexpected');
  }
}

describe('Browser and driveLogin against a consent page', () => {
  const seen: Array<{ body: string; origin?: string; cookie?: string }> = [];
  const server = createServer((req, res) => fakeProxy(req, res, seen));
  let origin: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const stopAt = (url: URL) => url.port === '9';

  it('approves by default, posting the hidden fields, the button, the Origin and the cookie', async () => {
    const callback = await driveLogin(new Browser(), `${origin}/authorize`, { login: 'unused', stopAt });
    expect(callback.href).toBe('http://127.0.0.1:9/cb?decision=approve');
    expect(seen.at(-1)).toEqual({ body: 'csrf=c1&tx=t-1&decision=approve', origin, cookie: '__Host-csrf=c1' });
  });

  it('clicks the button onConsentPage chooses', async () => {
    const callback = await driveLogin(new Browser(), `${origin}/authorize`, {
      login: 'unused',
      stopAt,
      onConsentPage: (html) => (html.includes('Deny') ? { name: 'decision', value: 'deny' } : undefined),
    });
    expect(callback.searchParams.get('decision')).toBe('deny');
  });

  it('stops before fetching a URL that stopWhen accepts', async () => {
    const outcome = await new Browser().followRedirects(`${origin}/authorize`, { stopWhen: (url) => url.pathname === '/consent' });
    expect(outcome).toMatchObject({ stopped: true });
    expect(outcome.url.href).toBe(`${origin}/consent?client=demo`);
  });

  it('refuses to fill a field the form does not have', async () => {
    const browser = new Browser();
    const page = await browser.get(`${origin}/consent`);
    await expect(browser.submitForm(page.body, page.url, { fields: { password: 'x' } })).rejects.toThrow(/no field "password"/);
  });

  it('fails with the URL and status when stuck', async () => {
    await expect(driveLogin(new Browser(), `${origin}/nowhere`, { login: 'x', stopAt })).rejects.toThrow(
      new RegExp(`stuck at ${origin}/nowhere \\(HTTP 500\\)`),
    );
  });
});
