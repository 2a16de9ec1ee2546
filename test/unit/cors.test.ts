import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { apiCors, mcpCors } from '../../src/http/cors.js';

function appWith(middleware: typeof apiCors) {
  const app = new Hono();
  app.use('/mcp', middleware());
  app.all('/mcp', (c) => c.json({ ok: true }));
  return app;
}

describe('CORS on the MCP routes', () => {
  const app = appWith(mcpCors);

  it('answers a browser (Origin sent) with the CORS headers', async () => {
    const response = await app.request('/mcp', { method: 'POST', headers: { origin: 'https://inspector.example' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
  });

  it('leaves them off for clients outside a browser (no Origin)', async () => {
    const response = await app.request('/mcp', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers every preflight, never passing it to the route', async () => {
    const preflights: Array<Record<string, string>> = [{ origin: 'https://inspector.example', 'access-control-request-method': 'POST' }, {}];
    for (const headers of preflights) {
      const response = await app.request('/mcp', { method: 'OPTIONS', headers });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    }
  });

  it('differs from the OAuth endpoints, which always carry them', async () => {
    const response = await appWith(apiCors).request('/mcp', { method: 'POST' });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });
});
