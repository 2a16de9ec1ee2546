import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyApp } from '../../src/http/app.js';
import { apiCors } from '../../src/http/cors.js';
import type { BuiltDeps } from '../../src/runtime/deps.js';
import { inProcessApp, testConfig } from '../support/deps.js';

const PING = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

describe('CORS on the MCP routes', () => {
  // A public route whose server is not listening: a request that reaches forwarding gets 502.
  let app: ProxyApp;
  let deps: BuiltDeps;
  beforeAll(async () => {
    ({ app, deps } = await inProcessApp(testConfig({ routes: [{ url: 'http://127.0.0.1:9/mcp', auth: 'none', allowedOrigins: ['*'] }] })));
  });
  afterAll(() => deps.close());

  it('answers a browser (Origin sent) with the CORS headers', async () => {
    const response = await app.request('/mcp', { method: 'POST', headers: { origin: 'https://inspector.example' }, body: PING });
    expect(response.status).toBe(502);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
  });

  it('leaves them off for clients outside a browser (no Origin)', async () => {
    const response = await app.request('/mcp', { method: 'POST', body: PING });
    expect(response.status).toBe(502);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers every preflight, never passing it to the route', async () => {
    const preflights: Array<Record<string, string>> = [{ origin: 'https://inspector.example', 'access-control-request-method': 'POST' }, {}];
    for (const headers of preflights) {
      const response = await app.request('/mcp', { method: 'OPTIONS', headers });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')).toContain('Mcp-Session-Id');
    }
  });

  it('differs from the OAuth endpoints, which always carry them', async () => {
    const oauth = new Hono();
    oauth.use('/token', apiCors());
    oauth.post('/token', (c) => c.json({ ok: true }));
    const response = await oauth.request('/token', { method: 'POST' });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });
});
