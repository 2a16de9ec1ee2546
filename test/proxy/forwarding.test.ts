import { request as httpRequest, ServerResponse } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FetchForwarder } from '../../src/proxy/fetch-forwarder.js';
import type { Forwarder } from '../../src/proxy/forwarder.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import {
  DOWNSTREAM_CREDENTIAL,
  drain,
  proxyApp,
  readUntil,
  recordingLogger,
  refusingOrigin,
  serveApp,
  startDownstream,
} from './harness.js';
import type { Downstream, Echo } from './harness.js';

/** The one test about the headers timeout runs through proxies of its own with a short one, so it fires soon. */
const SHORT_HEADERS_TIMEOUT_MS = 400;
/** Every other test: a timeout no test reaches, however loaded the machine, so a slow answer is never a 504. */
const HEADERS_TIMEOUT_MS = 60_000;

type Kind = 'undici (served)' | 'fetch (served)' | 'fetch fallback (app.request)';
const KINDS: Kind[] = ['undici (served)', 'fetch (served)', 'fetch fallback (app.request)'];

let downstream: Downstream;
const logger = recordingLogger();
let fallbackCalls = 0;
const clients = new Map<Kind, (path: string, init?: RequestInit) => Promise<Response>>();
const origins = new Map<Kind, string>();
const shortTimeoutClients = new Map<Kind, (path: string, init?: RequestInit) => Promise<Response>>();
const cleanups: Array<() => Promise<void>> = [];

/** The three ways a request reaches a forwarder, each with forwarders of this headers timeout. */
async function proxiesWith(headersTimeoutMs: number, refused: string) {
  const fetchFallback = new FetchForwarder({ headersTimeoutMs, logger });
  const countingFallback: Forwarder = {
    forward: (request, incoming) => {
      fallbackCalls++;
      return fetchFallback.forward(request, incoming);
    },
    close: () => fetchFallback.close(),
  };
  const undici = new UndiciForwarder({ headersTimeoutMs, logger, fallback: countingFallback, closeGraceMs: 100 });
  const web = new FetchForwarder({ headersTimeoutMs, logger });
  cleanups.push(() => undici.close(), () => web.close());

  const undiciApp = proxyApp(undici, downstream.origin, refused);
  const served = await serveApp(undiciApp);
  const servedWeb = await serveApp(proxyApp(web, downstream.origin, refused));
  cleanups.push(served.close, servedWeb.close);

  const clientsOf = new Map<Kind, (path: string, init?: RequestInit) => Promise<Response>>([
    ['undici (served)', (path, init) => fetch(`${served.origin}${path}`, init)],
    ['fetch (served)', (path, init) => fetch(`${servedWeb.origin}${path}`, init)],
    ['fetch fallback (app.request)', async (path, init) => undiciApp.request(path, init)],
  ]);
  const originsOf = new Map<Kind, string>([
    ['undici (served)', served.origin],
    ['fetch (served)', servedWeb.origin],
  ]);
  return { clients: clientsOf, origins: originsOf };
}

beforeAll(async () => {
  downstream = await startDownstream();
  const refused = await refusingOrigin();
  const proxies = await proxiesWith(HEADERS_TIMEOUT_MS, refused);
  for (const [kind, client] of proxies.clients) clients.set(kind, client);
  for (const [kind, origin] of proxies.origins) origins.set(kind, origin);
  for (const [kind, client] of (await proxiesWith(SHORT_HEADERS_TIMEOUT_MS, refused)).clients) shortTimeoutClients.set(kind, client);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await downstream.close();
});

const JSON_RPC = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}';

describe.each(KINDS)('forwarding through %s', (kind) => {
  const send = (path: string, init?: RequestInit) => clients.get(kind)!(path, init);

  it('round-trips a POST with its JSON body and query string', async () => {
    const response = await send('/d/echo/mcp?x=1&y=two%20words', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON_RPC,
    });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo.method).toBe('POST');
    expect(echo.url).toBe('/echo/mcp?x=1&y=two%20words');
    expect(echo.body).toBe(JSON_RPC);
  });

  it('strips the client credential, cookies and spoofed identity headers, adds the downstream credential, keeps MCP headers', async () => {
    const response = await send('/d/echo', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: 'Bearer client-capsule-must-not-leak',
        cookie: '__Host-consent=secret',
        'proxy-authorization': 'Basic c2VjcmV0',
        'x-forwarded-user': 'mallory',
        'X-Forwarded-Email': 'mallory@evil.example',
        'x-forwarded-name': 'Mallory',
        'X-FORWARDED-ACCESS-TOKEN': 'stolen-token',
        'mcp-session-id': 'session-abc',
        'mcp-protocol-version': '2025-06-18',
        'mcp-method': 'tools/call',
        'mcp-name': 'search',
        'mcp-param-query': 'cats',
        'last-event-id': '42',
      },
      body: JSON_RPC,
    });
    const echo = (await response.json()) as Echo;
    const seen = echo.headers;
    expect(seen['authorization']).toBeUndefined();
    expect(seen['x-api-key']).toBe(DOWNSTREAM_CREDENTIAL['x-api-key']);
    expect(seen['x-forwarded-user']).toBe('alice');
    expect(JSON.stringify(seen)).not.toContain('client-capsule-must-not-leak');
    expect(JSON.stringify(seen)).not.toContain('mallory');
    for (const name of ['cookie', 'proxy-authorization', 'x-forwarded-email', 'x-forwarded-name', 'x-forwarded-access-token']) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': 'session-abc',
      'mcp-protocol-version': '2025-06-18',
      'mcp-method': 'tools/call',
      'mcp-name': 'search',
      'mcp-param-query': 'cats',
      'last-event-id': '42',
      host: new URL(downstream.origin).host,
    });
    expect(echo.body).toBe(JSON_RPC);
  });

  it('passes mcp-session-id and the proxy’s own headers back; drops hop-by-hop headers and set-cookie', async () => {
    const response = await send('/d/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON_RPC });
    await response.arrayBuffer();
    expect(response.headers.get('mcp-session-id')).toBe('session-123');
    expect(response.headers.get('x-downstream')).toBe('kept');
    expect(response.headers.get('x-request-id')).toBe('req-1');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-internal-hop')).toBeNull();
    expect(response.headers.get('proxy-authenticate')).toBeNull();
    expect(response.headers.get('connection') ?? '').not.toContain('x-internal-hop');
    if (kind === 'fetch fallback (app.request)') {
      expect(response.headers.get('connection')).toBeNull();
      expect(response.headers.get('keep-alive')).toBeNull();
    }
  });

  it('forwards the exact body when the pipeline already read it', async () => {
    const spaced = '{ "jsonrpc": "2.0",  "id": 7,\n "method": "tools/list" }';
    const response = await send('/parsed/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: spaced });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo.body).toBe(spaced);
    if (echo.headers['content-length'] !== undefined) expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(spaced)));
  });

  it('streams SSE: the first event arrives before the downstream sends the second', async () => {
    const id = randomUUID();
    const gate = downstream.gate(id);
    const response = await send(`/d/sse?id=${id}`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = await readUntil(reader, 'data: first\n\n');
    expect(gate.afterGate).toBe(false);
    expect(first).not.toContain('second');
    gate.release();
    const rest = await drain(reader);
    expect(`${first}${rest}`).toContain('data: second\n\n');
    expect(gate.afterGate).toBe(true);
  });

  it('aborts the downstream request when the client disconnects mid-stream', async () => {
    const id = randomUUID();
    const gate = downstream.gate(id);
    const client = new AbortController();
    const response = await send(`/d/sse?id=${id}`, { signal: client.signal });
    const reader = response.body!.getReader();
    await readUntil(reader, 'data: first');
    client.abort();
    await reader.cancel().catch(() => {});
    await gate.closed;
    expect(gate.afterGate).toBe(false);
  });

  it('answers 502 with a JSON-RPC error, quickly and without internals, when the downstream refuses connections', async () => {
    const before = logger.entries.length;
    const response = await send('/refused/mcp', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON_RPC });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toContain('application/json');
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32000, message: 'Downstream MCP server unavailable' },
    });
    const logged = logger.entries.slice(before).filter((entry) => entry.message === 'downstream request failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe('warn');
    expect(logged[0]!.fields['reason']).toBe('ECONNREFUSED');
    expect(JSON.stringify(logged)).not.toContain('pw-s3cret');
  });

  it('answers 504 when the downstream sends no headers within headersTimeoutMs, and lets go of it', async () => {
    const id = randomUUID();
    const gate = downstream.gate(id);
    const response = await shortTimeoutClients.get(kind)!(`/d/hang?id=${id}`);
    expect(response.status).toBe(504);
    const body = (await response.json()) as { error: { code: number; message: string } };
    expect(body.error).toEqual({ code: -32001, message: 'Downstream MCP server unavailable' });
    await gate.closed;
  });

  it('ends the client stream with an error when the downstream resets mid-stream, then serves the next request', async () => {
    const id = randomUUID();
    const gate = downstream.gate(id);
    const before = logger.entries.length;
    const response = await send(`/d/reset?id=${id}`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await readUntil(reader, 'data: partial');
    gate.release();
    await expect(drain(reader)).rejects.toThrow();
    expect(logger.entries.slice(before).some((entry) => entry.message === 'downstream response interrupted')).toBe(true);

    const next = await send('/d/echo', { method: 'POST', body: JSON_RPC });
    expect(next.status).toBe(200);
    expect(((await next.json()) as Echo).body).toBe(JSON_RPC);
  });

  it('delivers a response the downstream compressed anyway, decodable by the client', async () => {
    const response = await send('/d/gzip', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: { compressed: true } });
  });

  it('answers 502 when the downstream drops the connection mid-upload, and keeps serving', async () => {
    const upload = 'x'.repeat(4 * 1024 * 1024);
    const response = await send('/d/drop', { method: 'POST', body: upload });
    expect(response.status).toBe(502);
    // Node's forwarder streamed the upload and stopped reading it: the connection must not carry another request.
    if (kind === 'undici (served)') expect(response.headers.get('connection')).toBe('close');
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32000);
    const next = await send('/d/echo', { method: 'POST', body: JSON_RPC });
    expect(((await next.json()) as Echo).body).toBe(JSON_RPC);
  });

  it.each(['/touch-before', '/header-after'])('keeps streaming with response headers of the proxy\'s own (%s)', async (prefix) => {
    const id = randomUUID();
    const gate = downstream.gate(id);
    const response = await send(`${prefix}/sse?id=${id}`);
    if (prefix === '/touch-before') expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const reader = response.body!.getReader();
    const first = await readUntil(reader, 'data: first\n\n');
    gate.release();
    const text = `${first}${await drain(reader)}`;
    expect(text).toBe('event: message\ndata: first\n\nevent: message\ndata: second\n\n');
  });
});

async function rawPost(origin: string, path: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: string }> {
  const req = httpRequest(`${origin}${path}`, { method: 'POST', headers });
  const write = () => {
    for (const chunk of chunks) req.write(chunk);
    req.end();
  };
  if (headers['expect'] === '100-continue') req.once('continue', write);
  else write();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body };
}

describe.each(['undici (served)', 'fetch (served)'] as const)('raw HTTP/1.1 uploads through %s', (kind) => {
  it('streams a chunked body without content-length', async () => {
    const { status, body } = await rawPost(origins.get(kind)!, '/d/echo/chunked', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, ['{"jsonrpc":', '"2.0","id":2,', '"method":"ping"}']);
    expect(status).toBe(200);
    const echo = JSON.parse(body) as Echo;
    expect(echo.body).toBe('{"jsonrpc":"2.0","id":2,"method":"ping"}');
  });

  it('accepts Expect: 100-continue and does not forward it', async () => {
    const payload = JSON_RPC;
    const { status, body } = await rawPost(origins.get(kind)!, '/d/echo/continue', { 'content-type': 'application/json', 'content-length': String(payload.length), expect: '100-continue' }, [payload]);
    expect(status).toBe(200);
    const echo = JSON.parse(body) as Echo;
    expect(echo.body).toBe(payload);
    expect(echo.headers['expect']).toBeUndefined();
  });
});

describe('the head of a response without a length, through the Node forwarder', () => {
  const send = (path: string, init?: RequestInit) => clients.get('undici (served)')!(path, init);

  it('goes out on its own at once when no body came with it: the client has it before the downstream writes an event', async () => {
    const id = randomUUID();
    const gate = downstream.gate(id);
    const response = await send(`/d/head?id=${id}`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(gate.afterGate).toBe(false);
    gate.release();
    expect(await response.text()).toBe('event: message\ndata: after the head\n\n');
  });

  it('goes out with the body when the body came with it: the head is not flushed on its own', async () => {
    const flushed = vi.spyOn(ServerResponse.prototype, 'flushHeaders');
    try {
      const response = await send('/d/whole', { headers: { accept: 'text/event-stream' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      expect(await response.text()).toBe('event: message\ndata: whole\n\n');
      expect(flushed).not.toHaveBeenCalled();
    } finally {
      flushed.mockRestore();
    }
  });
});

describe('path selection', () => {
  it('uses undici for served requests and the fetch fallback only without Node objects', async () => {
    const before = fallbackCalls;
    await (await clients.get('undici (served)')!('/d/echo', { method: 'POST', body: '{}' })).arrayBuffer();
    expect(fallbackCalls).toBe(before);
    await (await clients.get('fetch fallback (app.request)')!('/d/echo', { method: 'POST', body: '{}' })).arrayBuffer();
    expect(fallbackCalls).toBe(before + 1);
  });
});
