/**
 * What in-process requests cannot reach: the Node HTTP server itself, over a
 * real socket. Huge headers, hostile Host headers and request targets, raw
 * invalid UTF-8, lying or truncated bodies. Invariant: no 5xx, no error log,
 * and the server keeps serving afterwards.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentAudit } from '../../src/observability/audit.js';
import { startNodeProxy, type RunningProxy } from '../../src/runtime/node.js';
import { ErrorLog, fuzzConfig, runs, SCRIPT_PAYLOADS, startDownstream } from './harness.js';

let proxy: RunningProxy;
let downstream: Awaited<ReturnType<typeof startDownstream>>;
const errors = new ErrorLog();
let port: number;

beforeAll(async () => {
  downstream = await startDownstream();
  proxy = await startNodeProxy(fuzzConfig(downstream.url, { port: 0, host: '127.0.0.1' }), errors.logger, { audit: silentAudit });
  port = Number(new URL(proxy.listenUrl).port);
});
afterAll(async () => {
  await proxy?.close(100);
  await downstream?.close();
});

/**
 * Sends raw bytes, returns what came back once one whole response has arrived or the server closed
 * the connection; `end` half-closes after sending. A request the server neither answers nor closes
 * leaves this pending until the test's timeout: a socket held open for ever is a finding too.
 */
function raw(bytes: Uint8Array | string, options: { end?: boolean } = {}): Promise<{ status: number | undefined; text: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text });
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      // One response is enough: stop once its body has arrived.
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1];
      if (head >= 0 && length !== undefined && text.length >= head + 4 + Number(length)) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, () => {
      if (options.end) socket.end();
    });
  });
}

async function expectAlive(): Promise<void> {
  const response = await fetch(`${proxy.listenUrl}/healthz`);
  expect(response.status).toBe(200);
  await response.text();
  errors.assertClean();
}

function expectNo5xx(result: { status: number | undefined; text: string }): void {
  if (result.status !== undefined) expect(result.status, result.text.slice(0, 300)).toBeLessThan(500);
}

describe('the Node server over a real socket', () => {
  it('answers 431 (or a 4xx) to huge headers, never a 5xx', async () => {
    const big = 'A'.repeat(64 * 1024);
    for (const request of [
      `POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${big}\r\nContent-Length: 0\r\n\r\n`,
      `POST /consent HTTP/1.1\r\nHost: x\r\nCookie: __Host-capsule-binding=${big}\r\nContent-Length: 0\r\n\r\n`,
      `GET /authorize?client_id=${big} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ]) {
      const result = await raw(request);
      expectNo5xx(result);
      expect(result.status === undefined || (result.status >= 400 && result.status < 500), result.text.slice(0, 200)).toBe(true);
    }
    // Many small headers: Node keeps the first 2000 and the request is served.
    expectNo5xx(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\nConnection: close\r\n\r\n`));
    await expectAlive();
  });

  it('answers a 12 KB bearer token (under the header limit) with 401', async () => {
    const result = await raw(`POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'A'.repeat(12 * 1024)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    expect(result.status).toBe(401);
    expect(result.text).toMatch(/www-authenticate: Bearer /i);
    await expectAlive();
  });

  it('survives hostile Host headers, request targets and raw invalid UTF-8', async () => {
    const hostValue = fc.oneof(
      fc.constantFrom('', 'a b', 'x:99999', '[::1', '127.0.0.1:0', 'localhost:1', 'evil.example', '%00', '\xff\xfe', 'a/b?c#d', 'x@y'),
      fc.constantFrom(...SCRIPT_PAYLOADS).map((payload) => payload.replace(/[\r\n\u2028\u2029\u0000]/g, '')),
    );
    const target = fc.oneof(
      fc.constantFrom('/authorize', '/oauth/callback', '/token', '/mcp', '/healthz', '/.well-known/oauth-protected-resource/mcp', '/%2e%2e/%2e%2e/etc/passwd', '//mcp', '*'),
      fc.constantFrom('http://evil.example/authorize', 'https://proxy.example.com/mcp'),
      fc.constantFrom('/authorize?client_id=\xff\xfe&state=\xc3', '/oauth/callback?state=%ff%fe%fd', '/authorize?client_id=%E0%A4%A', '/mcp?\xff'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS'),
        target,
        fc.option(hostValue, { nil: undefined }),
        fc.boolean(),
        async (method, path, host, duplicateHost) => {
          const hosts = host === undefined ? [] : duplicateHost ? [host, 'other.example'] : [host];
          const request = `${method} ${path} HTTP/1.1\r\n${hosts.map((h) => `Host: ${h}\r\n`).join('')}Content-Length: 0\r\nConnection: close\r\n\r\n`;
          const result = await raw(request);
          expectNo5xx(result);
          errors.assertClean();
          // Whatever came back as a page carries no script.
          if (/content-type: text\/html/i.test(result.text)) expect(result.text).not.toMatch(/<script/i);
        },
      ),
      runs(40),
    );
    await expectAlive();
  });

  it('survives lying, truncated and oversized bodies', async () => {
    const cases: Array<{ request: string | Uint8Array; end?: boolean }> = [
      // Declares more than it sends, then half-closes.
      { request: 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=', end: true },
      { request: 'POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"redirect_uris":', end: true },
      { request: 'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{', end: true },
      // Malformed framing.
      { request: 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' },
      { request: 'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef' },
      { request: 'POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n' },
      { request: 'POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', end: true },
      // Invalid UTF-8 in the body of every kind of endpoint.
      { request: Buffer.concat([Buffer.from('POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 6\r\nConnection: close\r\n\r\n'), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])]) },
      { request: Buffer.concat([Buffer.from('POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close\r\n\r\n'), Buffer.from([0x61, 0x3d, 0xff, 0xc3])]) },
    ];
    for (const { request, end } of cases) {
      const result = await raw(request, end ? { end } : {});
      expectNo5xx(result);
    }
    await expectAlive();
  });

  it('refuses 5 MB chunked bodies with a 4xx', async () => {
    for (const [path, type] of [
      ['/register', 'application/json'],
      ['/token', 'application/x-www-form-urlencoded'],
      ['/consent', 'application/x-www-form-urlencoded'],
    ] as const) {
      const response = await fetch(`${proxy.listenUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: new Blob(['x'.repeat(5 * 1024 * 1024)]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(response.status).toBe(400);
      await response.text();
    }
    await expectAlive();
  });
});
