import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import type { Forwarder } from '../../src/proxy/forwarder.js';
import { createForwarder } from '../../src/proxy/index.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import { proxyApp, readUntil, recordingLogger, refusingOrigin, serveApp, startDownstream } from './harness.js';
import type { Downstream } from './harness.js';

// Far longer than any bound below: if the downstream lets go, it is because the client left.
const LONG_HEADERS_TIMEOUT_MS = 60_000;

let downstream: Downstream;
let refused: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  downstream = await startDownstream();
  refused = await refusingOrigin();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await downstream.close();
});

async function served(forwarder: Forwarder) {
  const server = await serveApp(proxyApp(forwarder, downstream.origin, refused));
  cleanups.push(server.close);
  return server;
}

describe('a client that leaves before the downstream answers', () => {
  it.each([
    ['undici (served)', () => new UndiciForwarder({ headersTimeoutMs: LONG_HEADERS_TIMEOUT_MS, logger: silentLogger, closeGraceMs: 10 }), 'served'],
    ['fetch (served)', () => new FetchForwarder({ headersTimeoutMs: LONG_HEADERS_TIMEOUT_MS, logger: silentLogger }), 'served'],
    ['fetch fallback (app.request)', () => new UndiciForwarder({ headersTimeoutMs: LONG_HEADERS_TIMEOUT_MS, logger: silentLogger, closeGraceMs: 10 }), 'in-process'],
  ] as const)('releases the downstream request (%s)', async (_name, make, mode) => {
    const forwarder = make();
    cleanups.push(() => forwarder.close());
    const id = randomUUID();
    const gate = downstream.gate(id);
    const client = new AbortController();
    let pending: Promise<unknown>;
    if (mode === 'served') {
      const server = await served(forwarder);
      pending = fetch(`${server.origin}/d/hang?id=${id}`, { signal: client.signal });
    } else {
      pending = Promise.resolve(proxyApp(forwarder, downstream.origin, refused).request(`/d/hang?id=${id}`, { signal: client.signal }));
    }
    pending.catch(() => {});
    await gate.arrived;
    client.abort();
    await gate.closed;
    if (mode === 'in-process') expect(((await pending) as Response).status).toBe(499);
  });
});

describe('UndiciForwarder.close()', () => {
  it('cuts open streams after the grace period and refuses new requests with 502', async () => {
    const logger = recordingLogger();
    const forwarder = new UndiciForwarder({ headersTimeoutMs: LONG_HEADERS_TIMEOUT_MS, logger, closeGraceMs: 50 });
    const server = await served(forwarder);
    const id = randomUUID();
    const gate = downstream.gate(id);
    const response = await fetch(`${server.origin}/d/sse?id=${id}`);
    await readUntil(response.body!.getReader(), 'data: first');

    await forwarder.close();
    await gate.closed;

    const after = await fetch(`${server.origin}/d/echo`, { method: 'POST', body: '{}' });
    expect(after.status).toBe(502);
    await after.arrayBuffer();
    expect(logger.entries.at(-1)?.fields['reason']).toBe('forwarder_closed');
  });
});

describe('createForwarder', () => {
  it('picks undici for node and fetch for web', async () => {
    const node = createForwarder({ headersTimeoutMs: 1000, logger: silentLogger, runtime: 'node' });
    const web = createForwarder({ headersTimeoutMs: 1000, logger: silentLogger, runtime: 'web' });
    expect(node).toBeInstanceOf(UndiciForwarder);
    expect(web).toBeInstanceOf(FetchForwarder);
    await Promise.all([node.close(), web.close()]);
  });
});
