import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { getRequestListener } from '@hono/node-server';
import { jsonAnswer } from '../../src/domain/answer.js';
import type { LogFields, Logger } from '../../src/observability/logger.js';
import type { Forwarder } from '../../src/proxy/forwarder.js';
import { UndiciForwarder } from '../../src/proxy/undici-forwarder.js';
import type { Exchange } from '../../src/pipeline/exchange.js';
import { nodeExchange } from '../../src/pipeline/node-exchange.js';
import { requestPath } from '../../src/pipeline/route-table.js';
import { webExchange } from '../../src/pipeline/web-exchange.js';

/** What the downstream saw for one /echo request; it also sends it back as the response body. */
export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A per-test rendezvous with the downstream: `release()` lets it continue, `closed` settles when its request closes early. */
export interface Gate {
  release(): void;
  readonly released: Promise<void>;
  /** Set by the downstream right after it wrote what comes after the gate. */
  afterGate: boolean;
  /** Resolves when the downstream saw its request or response close before it finished. */
  readonly closed: Promise<void>;
  markClosed(): void;
  /** Resolves when the request reached the downstream. */
  readonly arrived: Promise<void>;
  markArrived(): void;
}

function newGate(): Gate {
  let release!: () => void;
  let markClosed!: () => void;
  let markArrived!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const arrived = new Promise<void>((resolve) => (markArrived = resolve));
  return { release, released, afterGate: false, closed, markClosed, arrived, markArrived };
}

export interface Downstream {
  readonly origin: string;
  gate(id: string): Gate;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * A plain node:http MCP-ish downstream:
 * /echo…  echoes method, url, headers and body as JSON, with headers a proxy must filter;
 * /sse    writes "first", waits for the gate, writes "second" and ends;
 * /whole  an event stream whose head, one event and end leave in one write, as an MCP SDK server answers a POST;
 * /head   an event stream's head alone, then, once the gate opens, one event and the end;
 * /reset  writes "partial", waits for the gate, then destroys its socket mid-stream;
 * /gzip   answers gzip-compressed JSON whatever was asked;
 * /drop   drops the connection when the request body starts arriving;
 * /hang   never answers.
 */
export async function startDownstream(): Promise<Downstream> {
  const gates = new Map<string, Gate>();
  const gate = (id: string) => {
    let existing = gates.get(id);
    if (existing === undefined) gates.set(id, (existing = newGate()));
    return existing;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://downstream');
    const id = url.searchParams.get('id') ?? 'default';
    gate(id).markArrived();
    if (url.pathname.startsWith('/echo')) {
      const echo: Echo = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: await readBody(req) };
      const payload = JSON.stringify(echo);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        'mcp-session-id': 'session-123',
        'x-downstream': 'kept',
        // Spelled as servers do on the wire: the proxy must drop these in any case.
        'Set-Cookie': ['downstream_session=abc; Path=/', 'other=1'],
        connection: 'keep-alive, X-Internal-Hop',
        'keep-alive': 'timeout=5',
        'X-Internal-Hop': 'for-the-proxy-only',
        'Proxy-Authenticate': 'Basic realm="downstream"',
      });
      res.end(payload);
      return;
    }
    if (url.pathname === '/sse' || url.pathname === '/reset') {
      const g = gate(id);
      res.on('close', () => {
        if (!res.writableFinished) g.markClosed();
      });
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(url.pathname === '/sse' ? 'event: message\ndata: first\n\n' : 'data: partial\n\n');
      await g.released;
      if (url.pathname === '/reset') {
        res.socket?.destroy();
        return;
      }
      res.write('event: message\ndata: second\n\n');
      g.afterGate = true;
      res.end();
      return;
    }
    if (url.pathname === '/whole') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: whole\n\n');
      res.end();
      return;
    }
    if (url.pathname === '/head') {
      const g = gate(id);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      await g.released;
      g.afterGate = true;
      res.end('event: message\ndata: after the head\n\n');
      return;
    }
    if (url.pathname === '/gzip') {
      // Compressed whatever the request asked for, as some servers do.
      const payload = gzipSync(Buffer.from('{"jsonrpc":"2.0","id":1,"result":{"compressed":true}}'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': payload.length });
      res.end(payload);
      return;
    }
    if (url.pathname === '/drop') {
      // Drops the connection as soon as the upload starts.
      req.once('data', () => req.socket.destroy());
      return;
    }
    if (url.pathname === '/hang') {
      const g = gate(id);
      req.on('close', () => g.markClosed());
      return;
    }
    res.writeHead(404).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    gate,
    close: async () => {
      for (const g of gates.values()) g.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An origin on 127.0.0.1 where nothing listens: a port we bound and released. */
export async function refusingOrigin(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** An `identity-headers`-style credential: no Authorization of its own, so a leaked client token would show. */
export const DOWNSTREAM_CREDENTIAL = { 'x-api-key': 'downstream-key', 'x-forwarded-user': 'alice' };

/** A proxy under test: its handling of one exchange, served through the real runtime adapters. */
export interface TestProxy {
  readonly forwarder: Forwarder;
  handle<R>(exchange: Exchange<R>): Promise<R>;
  /** In-process, through the web adapter: the fetch forwarder, or the undici forwarder's portable fallback. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/** Runs a test proxy's handling on a web Request through the web adapter. */
export function handleWeb(proxy: Pick<TestProxy, 'forwarder' | 'handle'>, request: Request): Promise<Response> {
  return proxy.handle(webExchange(request, undefined, proxy.forwarder));
}

/** A test proxy from its handling of one exchange. */
export function testProxy(forwarder: Forwarder, handle: <R>(exchange: Exchange<R>) => Promise<R>): TestProxy {
  const proxy: TestProxy = { forwarder, handle, request: (path, init) => handleWeb(proxy, new Request(`http://localhost${path}`, init)) };
  return proxy;
}

/** The proxy's own response headers on each test route, as the route pipeline sets them. */
const RESPONSE_HEADERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  d: { 'x-request-id': 'req-1' },
  'touch-before': { 'access-control-allow-origin': '*' },
  'header-after': { 'x-after': 'late' },
};

/**
 * The proxy under test, shaped like the route pipeline uses forwarders:
 * /d/*        forwards to the downstream with a response header of the proxy's own (a request id);
 * /touch-before/*, /header-after/*  the same with other headers of its own (CORS, a late one);
 * /parsed/*   reads the JSON-RPC body first (inspection), then forwards the bytes it read;
 * /refused/*  forwards to an origin nobody listens on, with credentials in its URL.
 */
export function proxyApp(forwarder: Forwarder, downstreamOrigin: string, refusedOrigin: string): TestProxy {
  return testProxy(forwarder, async <R>(exchange: Exchange<R>): Promise<R> => {
      const path = requestPath(exchange.target);
      const queryAt = exchange.target.indexOf('?');
      const where = path.split('/')[1] ?? '';
      const target = new URL(`${path.slice(where.length + 1)}${queryAt === -1 ? '' : exchange.target.slice(queryAt)}`, where === 'refused' ? refusedOrigin : downstreamOrigin);
      let body: Uint8Array | undefined;
      if (where === 'parsed') {
        const read = await exchange.readBody(1024 * 1024);
        const message = read.ok ? (JSON.parse(new TextDecoder().decode(read.body)) as { method?: string }) : {};
        if (!read.ok || message.method === undefined) return exchange.reply(jsonAnswer(400, { error: 'not JSON-RPC' }), {});
        body = read.body;
      }
      if (where === 'refused') {
        target.username = 'svc';
        target.password = 'pw-s3cret';
      }
      const sent = await exchange.forward({
        method: exchange.method,
        target,
        headers: exchange.outboundHeaders({ credential: DOWNSTREAM_CREDENTIAL }),
        responseHeaders: RESPONSE_HEADERS[where] ?? {},
        ...(body ? { body } : {}),
      });
      return sent.result;
  });
}

/**
 * Serves a test proxy on 127.0.0.1:0 as the runtime would: an undici forwarder through the Node
 * adapter, a fetch forwarder through the web adapter on @hono/node-server. A web handler (the
 * whole app's `fetch`) is served through @hono/node-server.
 */
export async function serveApp(app: TestProxy | { fetch(request: Request, env?: unknown): Promise<Response> }): Promise<{ origin: string; close(): Promise<void> }> {
  let listener: RequestListener;
  if ('fetch' in app) listener = getRequestListener(app.fetch);
  else if (app.forwarder instanceof UndiciForwarder) {
    const forwarder = app.forwarder;
    listener = (incoming, outgoing) => void app.handle(nodeExchange(incoming, outgoing, forwarder));
  } else listener = getRequestListener((request) => handleWeb(app, request));
  const server = createServer(listener);
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface LogEntry {
  level: string;
  message: string;
  fields: LogFields;
}

export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (message: string, fields: LogFields = {}) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Reads a streamed body until the accumulated text contains `marker`. */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  marker: string,
  sofar = '',
): Promise<string> {
  const decoder = new TextDecoder();
  let text = sofar;
  while (!text.includes(marker)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(marker)}; got ${JSON.stringify(text)}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/** Reads to the end; resolves with the text, or rejects with the stream's error. */
export async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}
