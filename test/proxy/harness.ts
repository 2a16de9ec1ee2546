import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
// As runtime/node-listen.ts does: RESPONSE_ALREADY_SENT is created before serve() replaces the global Response.
import '@hono/node-server/utils/response';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Context } from 'hono';
import type { LogFields, Logger } from '../../src/observability/logger.js';
import type { Forwarder } from '../../src/proxy/forwarder.js';
import { outboundRequestHeaders } from '../../src/proxy/outbound-headers.js';

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
        'set-cookie': ['downstream_session=abc; Path=/', 'other=1'],
        connection: 'keep-alive, x-internal-hop',
        'keep-alive': 'timeout=5',
        'x-internal-hop': 'for-the-proxy-only',
        'proxy-authenticate': 'Basic realm="downstream"',
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

function targetFor(c: Context, prefix: string, origin: string): URL {
  const url = new URL(c.req.url);
  return new URL(`${url.pathname.slice(prefix.length)}${url.search}`, origin);
}

/**
 * The proxy under test, shaped like the MCP layer will use it:
 * /d/*        forwards to the downstream (and sets a proxy header first, as a request-id middleware would);
 * /touch-before/*, /header-after/*  the same behind middleware that touches the response;
 * /parsed/*   reads the JSON-RPC body first (policy inspection), then forwards;
 * /refused/*  forwards to an origin nobody listens on, with credentials in its URL.
 */
export function proxyApp(forwarder: Forwarder, downstreamOrigin: string, refusedOrigin: string): Hono {
  const app = new Hono();
  const forward = (c: Context, target: URL) =>
    forwarder.forward(c, { target, headers: outboundRequestHeaders(c.req.raw.headers, { credential: DOWNSTREAM_CREDENTIAL }) });

  app.use('/d/*', async (c, next) => {
    c.header('x-request-id', 'req-1');
    await next();
  });
  // Middleware that touches the response around the proxy route: hono/cors uses c.res before next();
  // header-setting middleware often calls c.header() after it. Either makes Hono clone the handler's Response.
  app.use('/touch-before/*', async (c, next) => {
    c.res.headers.set('access-control-allow-origin', '*');
    await next();
  });
  app.use('/header-after/*', async (c, next) => {
    await next();
    c.header('x-after', 'late');
  });
  app.all('/d/*', (c) => forward(c, targetFor(c, '/d', downstreamOrigin)));
  app.all('/touch-before/*', (c) => forward(c, targetFor(c, '/touch-before', downstreamOrigin)));
  app.all('/header-after/*', (c) => forward(c, targetFor(c, '/header-after', downstreamOrigin)));
  app.all('/parsed/*', async (c) => {
    const message = await c.req.json<{ method?: string }>();
    if (message.method === undefined) return c.json({ error: 'not JSON-RPC' }, 400);
    return forward(c, targetFor(c, '/parsed', downstreamOrigin));
  });
  app.all('/refused/*', (c) => {
    const target = targetFor(c, '/refused', refusedOrigin);
    target.username = 'svc';
    target.password = 'pw-s3cret';
    return forward(c, target);
  });
  return app;
}

/** Serves an app on 127.0.0.1:0 through @hono/node-server, so handlers get Node's raw objects. */
export async function serveApp(app: Hono): Promise<{ origin: string; close(): Promise<void> }> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
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
