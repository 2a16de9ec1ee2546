import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, loadConfigFromEnv } from '../../src/config/load.js';
import { BASE_ENV, configProblems as problems } from '../support/config-problems.js';
import { allowedOriginsFor } from '../../src/mcp/origin-guard.js';
import { createApp } from '../../src/http/app.js';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import { buildDeps } from '../../src/runtime/deps.js';
import { LogCapture } from '../support/stack.js';

const ENV = { ...BASE_ENV, CAPSULE_MCP_URL: 'http://mcp-server:3000/mcp' };

function routeFor(env: Record<string, string>) {
  const config = loadConfigFromEnv({ ...ENV, ...env });
  return { route: config.routes[0]!, publicUrl: config.publicUrl };
}

describe('allowed origins of a route', () => {
  it('by default: any origin where clients present the proxy token, only the proxy itself where they do not', () => {
    for (const auth of ['upstream-token', 'identity-headers', 'api-key']) {
      const { route, publicUrl } = routeFor({ CAPSULE_DOWNSTREAM_AUTH: auth, ...(auth === 'api-key' ? { CAPSULE_DOWNSTREAM_API_KEY: 'key-123456' } : {}) });
      expect(allowedOriginsFor(route, publicUrl), auth).toBeUndefined();
    }
    const tokenUrl = { CAPSULE_DOWNSTREAM_AUTH: 'client-credentials', CAPSULE_DOWNSTREAM_TOKEN_URL: 'https://login.example.com/token' };
    const own = routeFor({ ...tokenUrl, CAPSULE_DOWNSTREAM_CLIENT_ID: 'id', CAPSULE_DOWNSTREAM_CLIENT_SECRET: 'secret-123' });
    expect(allowedOriginsFor(own.route, own.publicUrl)).toBeUndefined();
    for (const env of [{ CAPSULE_DOWNSTREAM_AUTH: 'pat' }, { CAPSULE_DOWNSTREAM_AUTH: 'none' }, { ...tokenUrl, CAPSULE_DOWNSTREAM_CREDENTIALS_FROM: 'request' }]) {
      const { route, publicUrl } = routeFor(env);
      expect([...allowedOriginsFor(route, publicUrl)!], env.CAPSULE_DOWNSTREAM_AUTH).toEqual(['https://mcp.example.com']);
    }
  });

  it('takes the list as given, serialized; * allows any origin, on any route', () => {
    const listed = routeFor({ CAPSULE_DOWNSTREAM_AUTH: 'none', CAPSULE_ALLOWED_ORIGINS: 'HTTPS://App.Example.com:443, http://localhost:6274/ null' });
    expect([...allowedOriginsFor(listed.route, listed.publicUrl)!]).toEqual(['https://app.example.com', 'http://localhost:6274', 'null']);
    const any = routeFor({ CAPSULE_DOWNSTREAM_AUTH: 'none', CAPSULE_ALLOWED_ORIGINS: '*' });
    expect(allowedOriginsFor(any.route, any.publicUrl)).toBeUndefined();
  });

  it('refuses entries that are not origins at startup, naming the setting', () => {
    for (const bad of ['https://app.example.com/path', 'app.example.com', 'ftp://files.example.com', 'https://user@app.example.com', 'https://app.example.com?x=1']) {
      const found = problems(() => loadConfigFromEnv({ ...ENV, CAPSULE_ALLOWED_ORIGINS: bad }));
      expect(found, bad).toHaveLength(1);
      expect(found[0], bad).toMatch(/^CAPSULE_ALLOWED_ORIGINS: .*is not an origin such as https:\/\/app\.example\.com/);
    }
    const file = 'routes:\n  - path: /wiki\n    url: http://wiki:8080/mcp\n    allowedOrigins: [https://ok.example.com, https://bad.example.com/app]\n';
    const { CAPSULE_MCP_URL: _unused, ...withoutRoute } = ENV;
    const fromFile = problems(() => loadConfig({ ...withoutRoute, CAPSULE_CONFIG: '/etc/capsule.yaml' }, () => file));
    expect(fromFile).toEqual([expect.stringMatching(/^routes\[0\] \(\/wiki\)\.allowedOrigins\[1\]: "https:\/\/bad\.example\.com\/app" is not an origin/)]);
  });
});

/**
 * The real app in-process with one route configured by `env`, pointing where nothing listens:
 * a request the checks let through reaches forwarding (502), a refused one gets 403.
 */
async function appFor(env: Record<string, string>) {
  const logs = new LogCapture();
  const deps = await buildDeps(loadConfigFromEnv({ ...ENV, CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp', ...env }), {
    logger: logs.logger,
    createForwarder: (headersTimeoutMs) => new FetchForwarder({ headersTimeoutMs, logger: logs.logger }),
  });
  const app = createApp(deps);
  const refused = (header: string) => logs.lines.map((line) => JSON.parse(line) as Record<string, string>).filter((entry) => entry['msg'] === `request ${header} refused`).map((entry) => entry[header]);
  return { app, refused, close: () => deps.close() };
}

const REACHED = 502;
const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

describe('the origin check', () => {
  let origins: Awaited<ReturnType<typeof appFor>>;
  beforeAll(async () => {
    origins = await appFor({ CAPSULE_DOWNSTREAM_AUTH: 'none', CAPSULE_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:6274' });
  });
  afterAll(() => origins.close());
  const send = (origin?: string) => origins.app.request('/mcp', { method: 'POST', headers: origin === undefined ? {} : { origin }, body: PING });

  it('lets requests without Origin and listed origins through, compared serialized', async () => {
    for (const origin of [undefined, 'https://app.example.com', 'HTTPS://APP.EXAMPLE.COM:443', 'http://localhost:6274']) {
      expect((await send(origin)).status, origin).toBe(REACHED);
    }
    expect(origins.refused('origin')).toEqual([]);
  });

  it('answers any other origin, null and garbage included, with 403 and a JSON-RPC error without id', async () => {
    const sent = ['https://app.example.com:8443', 'http://app.example.com', 'https://evil.example', 'null', 'not an origin', ''];
    for (const origin of sent) {
      const response = await send(origin);
      expect(response.status, origin).toBe(403);
      expect(await response.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: expect.any(String) } });
    }
    expect(origins.refused('origin')).toEqual(sent);
  });
});

describe('the Host check', () => {
  async function sendWith(env: Record<string, string>, hosts: readonly string[]): Promise<number[]> {
    const { app, close } = await appFor(env);
    try {
      const statuses: number[] = [];
      for (const host of hosts) statuses.push((await app.request('http://ignored/mcp', { method: 'POST', headers: { host }, body: PING })).status);
      return statuses;
    } finally {
      await close();
    }
  }

  it('applies where the public URL is on loopback and origins are limited: other host names are refused, loopback ones on any port pass', async () => {
    const env = { CAPSULE_PUBLIC_URL: 'http://localhost:8080', CAPSULE_DOWNSTREAM_AUTH: 'none' };
    const loopback = ['localhost:8080', 'localhost', '127.0.0.1:9', '[::1]:8080', 'LocalHost:8080'];
    expect(await sendWith(env, loopback)).toEqual(loopback.map(() => REACHED));
    const others = ['evil.example.com', 'evil.example.com:8080', 'localhost.evil.example', '127.0.0.1.nip.io:8080'];
    expect(await sendWith(env, others)).toEqual(others.map(() => 403));
  });

  it('does not apply behind a public origin, nor where any origin is allowed', async () => {
    expect(await sendWith({ CAPSULE_DOWNSTREAM_AUTH: 'none' }, ['internal-name:8080'])).toEqual([REACHED]);
    // Here the route needs the proxy's token: reached means the 401 of authentication, not a 403.
    expect(await sendWith({ CAPSULE_PUBLIC_URL: 'http://localhost:8080' }, ['evil.example.com'])).toEqual([401]);
    expect(await sendWith({ CAPSULE_PUBLIC_URL: 'http://localhost:8080', CAPSULE_DOWNSTREAM_AUTH: 'none', CAPSULE_ALLOWED_ORIGINS: '*' }, ['evil.example.com'])).toEqual([REACHED]);
  });
});
