import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentAudit } from '../../src/observability/audit.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startNodeProxy, type RunningProxy } from '../../src/runtime/node.js';
import { TEST_KEY_A } from '../support/deps.js';

/**
 * Which route a request belongs to is decided on its path as a URL parser reads it, before any
 * framework: an http route forwards its subpaths, so a path that climbs out of the route with dot
 * segments (plain, percent-encoded, or with backslashes) must never be forwarded below the route's
 * base, where the downstream would resolve it to another of its own paths.
 */
let downstream: Server;
let proxy: RunningProxy;
const seen: string[] = [];

beforeAll(async () => {
  downstream = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}`;
  const config = parseConfig({
    keys: TEST_KEY_A,
    publicUrl: 'https://proxy.example.com',
    host: '127.0.0.1',
    port: 0,
    upstream: { issuer: 'https://idp.example.com', clientId: 'proxy', clientSecret: 'upstream-secret' },
    routes: [{ path: '/api', url: `${base}/v1/api`, kind: 'http', auth: 'none', allowedOrigins: ['*'] }],
    registration: {},
    clientMetadataDocuments: {},
    ttl: {},
  });
  proxy = await startNodeProxy(config, silentLogger, { audit: silentAudit });
});

afterAll(async () => {
  await proxy?.close(0);
  downstream?.closeAllConnections();
  await new Promise((resolve) => downstream?.close(resolve));
});

/** Sends a request target exactly as written (fetch would resolve the dot segments itself), and reads the status. */
async function statusOf(target: string): Promise<number> {
  const { port } = new URL(proxy.listenUrl);
  const socket = connect(Number(port), '127.0.0.1');
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => (text += chunk));
  const closed = once(socket, 'close');
  // Written, not ended: a client that half-closes its side is one Node's server treats as gone.
  socket.write(`GET ${target} HTTP/1.1\r\nHost: proxy.example.com\r\nConnection: close\r\n\r\n`);
  await closed;
  return Number(text.split(' ')[1]);
}

describe('route paths', () => {
  it('control: a subpath of an http route reaches the downstream below the route base, query included', async () => {
    seen.length = 0;
    expect(await statusOf('/api/items/7?expand=1')).toBe(200);
    expect(seen).toEqual(['/v1/api/items/7?expand=1']);
  });

  it('attacker: dot segments that climb out of the route are never forwarded, in any spelling', async () => {
    seen.length = 0;
    for (const target of ['/api/../../admin', '/api/%2e%2e/%2E%2E/admin', '/api\\..\\..\\admin', '/api/./../secret']) {
      // 404: no route has that path; Node's parser refuses a backslash outright (400).
      expect([400, 404], target).toContain(await statusOf(target));
    }
    expect(seen).toEqual([]);
    // Encoded slashes are not path separators to a URL parser: one segment, forwarded below the base as it was sent.
    expect(await statusOf('/api/..%2f..%2fadmin')).toBe(200);
    expect(seen).toEqual(['/v1/api/..%2f..%2fadmin']);
  });

  it('a path that resolves back into the route is the route\'s, as any URL parser would read it', async () => {
    seen.length = 0;
    expect(await statusOf('/other/../api/items')).toBe(200);
    expect(seen).toEqual(['/v1/api/items']);
  });

  it('attacker: a target that no URL parser reads as a path (an authority, a bad host, garbage) gets an answer, and the proxy keeps serving', async () => {
    seen.length = 0;
    for (const target of ['//%F2%B1%A8%BC/', '//evil.example/api/x', '//[::1/api', 'http://[bad/api', '*']) {
      expect([400, 404], target).toContain(await statusOf(target));
    }
    // `//evil.example/api/x` is a path of the proxy's own, not a host to reach: no route has it.
    expect(seen).toEqual([]);
    expect(await statusOf('/api/after')).toBe(200);
    expect(seen).toEqual(['/v1/api/after']);
  });
});
