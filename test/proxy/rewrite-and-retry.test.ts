import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { jsonAnswer } from '../../src/domain/answer.js';
import type { Exchange } from '../../src/pipeline/exchange.js';
import { requestPath } from '../../src/pipeline/route-table.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idKey } from '../../src/mcp/inspection/jsonrpc.js';
import { toolsListResponseRewrite } from '../../src/mcp/inspection/tools-list-filter.js';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import type { ForwardRequest, Forwarder } from '../../src/proxy/forwarder.js';
import { outboundRequestHeaders, type OutboundHeaders } from '../../src/proxy/outbound-headers.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import { drain, readUntil, recordingLogger, serveApp, startDownstream, testProxy, type TestProxy } from './harness.js';
import { TOOLS, startMcpDownstream } from './mcp-downstream.js';
import type { McpDownstream, Seen } from './mcp-downstream.js';

const CHALLENGE = 'Bearer error="invalid_token", resource_metadata="https://proxy.example/.well-known/oauth-protected-resource/mcp"';

type Extras = Partial<Pick<ForwardRequest, 'body' | 'transformResponse' | 'retryOnUnauthorized'>>;
interface Case {
  /** Read the body through the exchange first and forward the bytes read (as the MCP route does). */
  read?: boolean;
  maxBytes?: number;
  extras?: (body: Uint8Array | undefined) => Extras;
}

const cases = new Map<string, Case>();
function newCase(config: Case): string {
  const id = randomUUID();
  cases.set(id, config);
  return id;
}

/** Forwards /p/<path> to the downstream, with per-request options chosen by the `x-case` header. */
function inspectingApp(forwarder: Forwarder, origin: string): TestProxy {
  return testProxy(forwarder, async <R>(exchange: Exchange<R>): Promise<R> => {
    const caseId = exchange.headers.get('x-case') ?? 'none';
    const config = cases.get(caseId) ?? {};
    let body: Uint8Array | undefined;
    if (config.read) {
      const read = await exchange.readBody(config.maxBytes ?? 4 * 1024 * 1024);
      if (!read.ok) return exchange.reply(jsonAnswer(413, { error: read.reason }), {});
      body = read.body;
    }
    const target = new URL(`${requestPath(exchange.target).slice(2)}?case=${caseId}`, origin);
    const headers = exchange.outboundHeaders({ credential: { authorization: 'Bearer stale' } });
    const extras = config.extras?.(body) ?? {};
    const sent = await exchange.forward({ method: exchange.method, target, headers, responseHeaders: {}, unauthorizedChallenge: CHALLENGE, ...(body ? { body } : {}), ...extras });
    return sent.result;
  });
}

const isAllowed = (name: string) => !name.startsWith('delete_');
const filterFor = (id: number) => ({
  transformResponse: toolsListResponseRewrite({ requestIds: new Set([idKey(id)]), isAllowed }),
});
const listRequest = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' });

type Kind = 'undici (served)' | 'fetch (served)' | 'fetch fallback (app.request)';
const KINDS: Kind[] = ['undici (served)', 'fetch (served)', 'fetch fallback (app.request)'];

let downstream: McpDownstream;
const logger = recordingLogger();
const clients = new Map<Kind, (path: string, init?: RequestInit) => Promise<Response>>();
const origins = new Map<Kind, string>();
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  downstream = await startMcpDownstream();
  const undici = new UndiciForwarder({ headersTimeoutMs: 2000, logger, closeGraceMs: 50 });
  const web = new FetchForwarder({ headersTimeoutMs: 2000, logger });
  cleanups.push(() => undici.close(), () => web.close());
  const undiciApp = inspectingApp(undici, downstream.origin);
  const servedUndici = await serveApp(undiciApp);
  const servedWeb = await serveApp(inspectingApp(web, downstream.origin));
  cleanups.push(servedUndici.close, servedWeb.close);
  origins.set('undici (served)', servedUndici.origin);
  origins.set('fetch (served)', servedWeb.origin);
  clients.set('undici (served)', (path, init) => fetch(`${servedUndici.origin}${path}`, init));
  clients.set('fetch (served)', (path, init) => fetch(`${servedWeb.origin}${path}`, init));
  clients.set('fetch fallback (app.request)', async (path, init) => undiciApp.request(path, init));
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await downstream.close();
});

const toolNames = (json: string) => (JSON.parse(json) as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);

describe.each(KINDS)('response rewriting through %s', (kind) => {
  const send = (path: string, init?: RequestInit) => clients.get(kind)!(path, init);
  const post = (path: string, caseId: string, body: string, headers: Record<string, string> = {}) =>
    send(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-case': caseId, ...headers }, body });

  it('filters a JSON tools/list response and drops its content-length', async () => {
    const caseId = newCase({ read: true, extras: () => filterFor(7) });
    const response = await post('/p/tools-json', caseId, listRequest(7));
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(toolNames(text)).toEqual(['search', 'read']);
    const length = response.headers.get('content-length');
    if (length !== null) expect(Number(length)).toBe(Buffer.byteLength(text));
    expect(downstream.seen(caseId)[0]!.headers['accept-encoding']).toBe('identity');
  });

  it('filters a response the downstream compressed anyway', async () => {
    const caseId = newCase({ read: true, extras: () => filterFor(8) });
    const response = await post('/p/tools-gzip', caseId, listRequest(8), { 'accept-encoding': 'gzip' });
    expect(response.status).toBe(200);
    expect(toolNames(await response.text())).toEqual(['search', 'read']);
  });

  it('leaves other content types untouched, content-length and all', async () => {
    const caseId = newCase({ read: true, extras: () => filterFor(9) });
    const response = await post('/p/text', caseId, listRequest(9));
    const text = await response.text();
    expect(toolNames(text)).toEqual(TOOLS.map((t) => t.name));
    if (kind === 'undici (served)') expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
  });

  it('answers 502 rather than the unrewritten body when the rewrite fails', async () => {
    const caseId = newCase({
      read: true,
      extras: () => ({
        transformResponse: () => {
          throw new Error('rewrite bug');
        },
      }),
    });
    const response = await post('/p/tools-json', caseId, listRequest(11));
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain('delete_user');
    // The connection is let go, and the next request goes through.
    const next = await post('/p/tools-json', newCase({ read: true }), listRequest(12));
    expect(toolNames(await next.text())).toEqual(TOOLS.map((t) => t.name));
  });

  it('streams SSE through the filter: the filtered result arrives before the downstream sends its last event', async () => {
    const caseId = newCase({ read: true, extras: () => filterFor(3) });
    const response = await post('/p/tools-sse', caseId, listRequest(3), { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    const first = await readUntil(reader, '}}\r\n\r\n', '');
    const upToResult = await readUntil(reader, '"result"', first);
    const withResult = await readUntil(reader, '\r\n\r\n', upToResult.slice(upToResult.indexOf('id: 2')));
    expect(downstream.wroteSecond(caseId)).toBe(false);
    const resultData = /data: (.*)\r\n/.exec(withResult)![1]!;
    expect(toolNames(resultData)).toEqual(['search', 'read']);
    downstream.release(caseId);
    const rest = await drain(reader);
    // Notifications are never filtered, even when they mention tools.
    expect(rest).toContain('"tools":[{"name":"delete_user"}]');
    expect(downstream.wroteSecond(caseId)).toBe(true);
  });
});

describe.each(KINDS)('retry after 401 through %s', (kind) => {
  const send = (path: string, init?: RequestInit) => clients.get(kind)!(path, init);
  const payload = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{"q":"é"}}}';

  function retrying(calls: { count: number }, answer: (base: OutboundHeaders) => OutboundHeaders | undefined, read = true): string {
    return newCase({
      read,
      extras: () => ({
        retryOnUnauthorized: async () => {
          calls.count++;
          return answer(outboundRequestHeaders(new Headers({ 'content-type': 'application/json' }), { credential: { authorization: 'Bearer fresh' } }));
        },
      }),
    });
  }

  it('resends the request once with the new headers and the same body', async () => {
    const calls = { count: 0 };
    const caseId = retrying(calls, (h) => h);
    const response = await send('/p/auth', { method: 'POST', headers: { 'content-type': 'application/json', 'x-case': caseId }, body: payload });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as Seen;
    expect(echoed.body).toBe(payload);
    expect(echoed.headers['authorization']).toBe('Bearer fresh');
    expect(calls.count).toBe(1);
    const seen = downstream.seen(caseId);
    expect(seen.map((s) => s.headers['authorization'])).toEqual(['Bearer stale', 'Bearer fresh']);
    expect(seen[0]!.body).toBe(seen[1]!.body);
    expect(seen[1]!.headers['content-length']).toBe(String(Buffer.byteLength(payload)));
  });

  it('retries a request without a body', async () => {
    const calls = { count: 0 };
    const caseId = retrying(calls, (h) => h, false);
    const response = await send('/p/auth', { headers: { 'x-case': caseId } });
    expect(response.status).toBe(200);
    expect(downstream.seen(caseId)).toHaveLength(2);
  });

  it('forwards the 401 with the proxy challenge when the callback has no new headers', async () => {
    const calls = { count: 0 };
    const caseId = retrying(calls, () => undefined);
    const response = await send('/p/auth', { method: 'POST', headers: { 'x-case': caseId }, body: payload });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(CHALLENGE);
    expect(await response.text()).toBe('{"error":"invalid_token"}');
    expect(calls.count).toBe(1);
    expect(downstream.seen(caseId)).toHaveLength(1);
  });

  it('retries at most once', async () => {
    const calls = { count: 0 };
    const caseId = retrying(calls, (h) => h);
    const response = await send('/p/auth-never', { method: 'POST', headers: { 'x-case': caseId }, body: payload });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(CHALLENGE);
    await response.arrayBuffer();
    expect(calls.count).toBe(1);
    expect(downstream.seen(caseId)).toHaveLength(2);
  });

  it('forwards the 401 when the callback fails, logging no message', async () => {
    const before = logger.entries.length;
    const caseId = newCase({
      read: true,
      extras: () => ({
        retryOnUnauthorized: async () => {
          throw new Error('token endpoint said client_secret=hunter2 is wrong');
        },
      }),
    });
    const response = await send('/p/auth', { method: 'POST', headers: { 'x-case': caseId }, body: payload });
    expect(response.status).toBe(401);
    await response.arrayBuffer();
    const logged = logger.entries.slice(before).filter((e) => e.message.includes('no retry'));
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged)).not.toContain('hunter2');
  });

  it('does not retry (nor ask) when the body was streamed and cannot be replayed', async () => {
    const calls = { count: 0 };
    const caseId = retrying(calls, (h) => h, false);
    const response = await send('/p/auth', { method: 'POST', headers: { 'content-type': 'application/json', 'x-case': caseId }, body: payload });
    expect(response.status).toBe(401);
    await response.arrayBuffer();
    expect(calls.count).toBe(0);
    expect(downstream.seen(caseId)).toHaveLength(1);
    expect(downstream.seen(caseId)[0]!.body).toBe(payload);
  });
});

describe.each(KINDS)('request bodies through %s', (kind) => {
  const send = (path: string, init?: RequestInit) => clients.get(kind)!(path, init);

  it('sends an explicit body instead of the incoming one, with its own content-length', async () => {
    const replacement = '{"jsonrpc":"2.0","id":2,"method":"ping","note":"ünïcode"}';
    const caseId = newCase({ read: true, extras: () => ({ body: new TextEncoder().encode(replacement) }) });
    const response = await send('/p/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-case': caseId }, body: '{"original":true}' });
    const echoed = (await response.json()) as Seen;
    expect(echoed.body).toBe(replacement);
    expect(echoed.headers['content-length']).toBe(String(Buffer.byteLength(replacement)));
    expect(echoed.headers['transfer-encoding']).toBeUndefined();
  });

  it('re-sends the body the exchange read, byte for byte with its length', async () => {
    const payload = `{"jsonrpc":"2.0","id":3,"method":"ping","pad":"${'x'.repeat(200_000)}"}`;
    const caseId = newCase({ read: true });
    const response = await send('/p/echo', { method: 'POST', headers: { 'content-type': 'application/json', 'x-case': caseId }, body: payload });
    const echoed = (await response.json()) as Seen;
    expect(echoed.body).toBe(payload);
    expect(echoed.headers['content-length']).toBe(String(payload.length));
  });

  it('refuses a body over the bound by its declared length without forwarding it', async () => {
    const caseId = newCase({ read: true, maxBytes: 100 });
    const response = await send('/p/echo', { method: 'POST', headers: { 'x-case': caseId }, body: 'y'.repeat(101) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: 'too_large' });
    expect(downstream.seen(caseId)).toHaveLength(0);
  });

  it('accepts a body exactly at the bound', async () => {
    const caseId = newCase({ read: true, maxBytes: 100 });
    const response = await send('/p/echo', { method: 'POST', headers: { 'x-case': caseId }, body: 'z'.repeat(100) });
    expect(((await response.json()) as Seen).body).toBe('z'.repeat(100));
  });
});

async function rawChunkedPost(origin: string, caseId: string, chunks: string[]): Promise<{ status: number; body: string }> {
  const req = httpRequest(`${origin}/p/echo`, { method: 'POST', headers: { 'transfer-encoding': 'chunked', 'x-case': caseId } });
  for (const chunk of chunks) req.write(chunk);
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body };
}

describe.each(['undici (served)', 'fetch (served)'] as const)('bounded reads of chunked uploads through %s', (kind) => {
  it('counts the bytes of a body without content-length, then keeps serving', async () => {
    const caseId = newCase({ read: true, maxBytes: 1000 });
    const refused = await rawChunkedPost(origins.get(kind)!, caseId, ['a'.repeat(600), 'b'.repeat(600)]);
    expect(refused.status).toBe(413);
    expect(downstream.seen(caseId)).toHaveLength(0);
    const accepted = await rawChunkedPost(origins.get(kind)!, caseId, ['a'.repeat(500), 'b'.repeat(500)]);
    expect(accepted.status).toBe(200);
    expect((JSON.parse(accepted.body) as Seen).body).toBe(`${'a'.repeat(500)}${'b'.repeat(500)}`);
  });
});

describe.each(['undici (served)', 'fetch (served)'] as const)('client disconnects through a rewritten SSE stream (%s)', (kind) => {
  it('aborts the downstream request', async () => {
    const plain = await startDownstream();
    const forwarder: Forwarder =
      kind === 'undici (served)'
        ? new UndiciForwarder({ headersTimeoutMs: 2000, logger: recordingLogger(), closeGraceMs: 50 })
        : new FetchForwarder({ headersTimeoutMs: 2000, logger: recordingLogger() });
    const app = testProxy(forwarder, async <R>(exchange: Exchange<R>): Promise<R> => {
      const search = exchange.target.slice(exchange.target.indexOf('?'));
      const sent = await exchange.forward({
        method: exchange.method,
        target: new URL(`/sse${search}`, plain.origin),
        headers: {},
        responseHeaders: {},
        transformResponse: toolsListResponseRewrite({ requestIds: 'any', isAllowed }),
      });
      return sent.result;
    });
    const served = await serveApp(app);
    try {
      const id = randomUUID();
      const gate = plain.gate(id);
      const client = new AbortController();
      const response = await fetch(`${served.origin}/sse?id=${id}`, { signal: client.signal });
      const reader = response.body!.getReader();
      await readUntil(reader, 'data: first\n\n');
      client.abort();
      await reader.cancel().catch(() => {});
      await gate.closed;
      expect(gate.afterGate).toBe(false);
    } finally {
      await served.close();
      await forwarder.close();
      await plain.close();
    }
  });
});
