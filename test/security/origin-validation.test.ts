import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeRequest, mcpPost, redeemCode, register, signIn, type RegisteredClient } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/**
 * DNS rebinding, played from the attacker's page: its script runs on an origin of its own
 * (http://evil.example) and sends requests to the proxy's address. The MCP Streamable HTTP
 * transport requires the server to check `Origin` and answer an invalid one with 403. The page's
 * same-origin GETs carry no Origin, only a Host naming its site; the proxy here runs on loopback.
 */
const EVIL = 'http://evil.example';
const APP = 'https://app.example.com';
// The MCP Inspector's own address.
const INSPECTOR = 'http://localhost:6274';

describe('Origin validation on MCP and http routes (DNS rebinding)', () => {
  let stack: Stack;
  let base: string;
  let client: RegisteredClient;

  beforeAll(async () => {
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, auth: 'upstream-token', timeout: 2 },
        { path: '/locked', url: demoUrl, auth: 'upstream-token', timeout: 2, allowedOrigins: [APP] },
        { path: '/public', url: demoUrl, auth: 'none', timeout: 2 },
        { path: '/pat', url: demoUrl, auth: 'pat', timeout: 2 },
        { path: '/api', url: new URL('/', demoUrl).href, kind: 'http', auth: 'none', timeout: 2 },
      ],
    });
    base = stack.publicUrl;
    client = await register(base);
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function accessToken(route: string): Promise<string> {
    const resource = `${base}${route}`;
    const callback = await signIn(base, client, { login: 'alice', extra: { resource } });
    const response = await redeemCode(base, client, callback.searchParams.get('code')!, { resource });
    expect(response.status).toBe(200);
    return response.body.access_token as string;
  }

  /** A request marked with a fresh probe in its query, which the proxy forwards as it is. */
  function probe(path: string): { url: string; reachedDownstream: () => boolean } {
    const id = randomUUID();
    return {
      url: `${base}${path}?probe=${id}`,
      reachedDownstream: () => stack.demo.requests.some((request) => request.path.includes(id)),
    };
  }

  /** A request with the Host header a rebinding page's browser sends (fetch cannot set Host). */
  function withHost(url: string, host: string, method = 'GET'): Promise<Response> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(url, { method, headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === 'string') headers.set(name, value);
          resolve(new Response(incoming.statusCode === 204 ? null : Buffer.concat(chunks), { status: incoming.statusCode!, headers }));
        });
      });
      request.on('error', reject);
      request.end(method === 'POST' ? JSON.stringify(initializeRequest()) : undefined);
    });
  }

  async function expectRefused(response: Response): Promise<void> {
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
  }

  describe('attacker', () => {
    it('a foreign page reaches neither a none route nor a pat route: 403 with a JSON-RPC error without id, nothing forwarded', async () => {
      for (const [path, headers] of [
        ['/public', {}],
        ['/pat', { authorization: 'Bearer ghp_the_page_guessed_nothing' }],
      ] as const) {
        const target = probe(path);
        await expectRefused(await mcpPost(target.url, undefined, undefined, { origin: EVIL, ...headers }));
        expect(target.reachedDownstream(), path).toBe(false);
      }
      expect(stack.logs.lines.some((line) => line.includes('request origin refused') && line.includes(EVIL))).toBe(true);
    });

    it("its CORS preflight is refused too, without the CORS headers that would let the browser go on", async () => {
      for (const path of ['/public', '/pat', '/locked']) {
        const response = await fetch(`${base}${path}`, {
          method: 'OPTIONS',
          headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
        });
        await expectRefused(response);
        expect(response.headers.get('access-control-allow-methods'), path).toBeNull();
      }
    });

    it('on a bearer route with its own list, a foreign origin is refused before the downstream even with a valid token', async () => {
      const token = await accessToken('/locked');
      const target = probe('/locked');
      await expectRefused(await mcpPost(target.url, token, undefined, { origin: EVIL }));
      expect(target.reachedDownstream()).toBe(false);
    });

    it('Origin: null (a sandboxed frame, a file: page) is refused unless listed', async () => {
      const target = probe('/public');
      await expectRefused(await mcpPost(target.url, undefined, undefined, { origin: 'null' }));
      expect(target.reachedDownstream()).toBe(false);
    });

    it('http routes check it as well, on every subpath', async () => {
      const target = probe('/api/v1/models');
      const response = await fetch(target.url, { headers: { origin: EVIL } });
      await expectRefused(response);
      expect(target.reachedDownstream()).toBe(false);
    });
    it('its same-origin requests, which carry no Origin, name its own host: refused on a proxy serving loopback', async () => {
      for (const [path, method] of [
        ['/public', 'POST'],
        ['/api/v1/models', 'GET'],
      ] as const) {
        const target = probe(path);
        await expectRefused(await withHost(target.url, `evil.example.com:${new URL(base).port}`, method));
        expect(target.reachedDownstream(), path).toBe(false);
      }
    });
  });

  describe('control', () => {
    it('requests without Origin (clients outside a browser) pass on every route', async () => {
      for (const [path, headers] of [
        ['/public', {}],
        ['/pat', { authorization: 'Bearer ghp_personal_token' }],
      ] as const) {
        const target = probe(path);
        expect((await mcpPost(target.url, undefined, undefined, headers)).status, path).toBe(200);
        expect(target.reachedDownstream(), path).toBe(true);
      }
      const http = probe('/api/mcp');
      expect((await fetch(http.url)).status).not.toBe(403);
      expect(http.reachedDownstream()).toBe(true);
    });

    it('a loopback Host passes, on any port and by any loopback name', async () => {
      for (const host of ['localhost', `LOCALHOST:${new URL(base).port}`, '127.0.0.1:1', '[::1]:8080']) {
        const target = probe('/public');
        expect((await withHost(target.url, host, 'POST')).status, host).toBe(200);
        expect(target.reachedDownstream(), host).toBe(true);
      }
    });

    it("the proxy's own origin passes on the none route, compared case- and default-port-insensitively", async () => {
      const own = new URL(base);
      for (const origin of [own.origin, `HTTP://${own.host.toUpperCase()}`]) {
        const target = probe('/public');
        const response = await mcpPost(target.url, undefined, undefined, { origin });
        expect(response.status, origin).toBe(200);
        expect(target.reachedDownstream(), origin).toBe(true);
      }
    });

    it('a listed origin passes, with CORS headers, and its preflight is answered', async () => {
      const preflight = await fetch(`${base}/locked`, {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).not.toBeNull();

      const token = await accessToken('/locked');
      const target = probe('/locked');
      const response = await mcpPost(target.url, token, undefined, { origin: APP });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).not.toBeNull();
      expect(target.reachedDownstream()).toBe(true);
    });

    it("the default bearer route takes a browser client such as the MCP Inspector, still asking for the proxy's token", async () => {
      const unauthenticated = await mcpPost(`${base}/mcp`, undefined, undefined, { origin: INSPECTOR });
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');

      const token = await accessToken('/mcp');
      const target = probe('/mcp');
      const response = await mcpPost(target.url, token, undefined, { origin: INSPECTOR });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).not.toBeNull();
      expect(target.reachedDownstream()).toBe(true);
    });
  });
});
