import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundFetch } from '../../src/upstream/outbound-fetch.js';
import { UpstreamError } from '../../src/upstream/upstream-client.js';

/** The one door every request to a provider goes through, against a real loopback server. */

let server: Server;
let base: string;
const seen: Array<{ path: string; userAgent: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', userAgent: req.headers['user-agent'] });
    if (req.url === '/chunked-huge') {
      // No content-length: the cap must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 40 && res.write(chunk)) sent++;
        if (sent < 40) res.once('drain', pump);
        else res.end();
      };
      return pump();
    }
    if (req.url === '/redirect') {
      res.writeHead(307, { location: '/target' });
      return res.end();
    }
    if (req.url === '/slow-body') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
      return; // never ends: the timeout must cover the body, not just the headers
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// A timeout no test reaches, so a busy machine cannot turn a slow answer into a failure;
// the timeout test has its own.
const outbound = createOutboundFetch({ timeoutMs: 3_600_000, maxResponseBytes: 1024 * 1024 });

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('outbound fetch to the provider', () => {
  it('allows plain http to loopback, and names itself', async () => {
    const response = await outbound(`${base}/ok`);
    expect(await response.json()).toEqual({ ok: true, path: '/ok' });
    expect(seen.find((entry) => entry.path === '/ok')?.userAgent).toBe('mcp-capsule');
  });

  it('refuses plain http to any other host without sending anything', async () => {
    const error = await failure(outbound('http://example.com/token'));
    expect(error.detail).toMatch(/non-https request to example\.com/);
  });

  it('stops reading a streamed body at the cap', async () => {
    const error = await failure(outbound(`${base}/chunked-huge`));
    expect(error.detail).toMatch(/more than 1048576 bytes/);
  });

  it('answers a redirect with an error and never requests its target', async () => {
    const error = await failure(outbound(`${base}/redirect`));
    expect(error.detail).toMatch(/redirect \(HTTP 307\)/);
    expect(seen.some((entry) => entry.path === '/target')).toBe(false);
  });

  it('times out a body that never ends', async () => {
    const timingOut = createOutboundFetch({ timeoutMs: 1000, maxResponseBytes: 1024 * 1024 });
    const error = await failure(timingOut(`${base}/slow-body`));
    expect(error.detail).toMatch(/did not answer within 1000 ms/);
  });
});
