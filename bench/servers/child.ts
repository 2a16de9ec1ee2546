/**
 * One benchmark server in its own process (the orchestrator pins it with taskset):
 *   demo     the SDK demo MCP server (the "direct" baseline)
 *   trivial  a node:http server answering every POST with one fixed JSON-RPC result, so that what is
 *            measured through it is the proxies' own cost
 *   sse      a bare event-stream server that stamps each event with the monotonic clock
 *   bare     a pass-through proxy: node:http + an undici Pool, no auth, no inspection
 *   capsule-bundle  mcp-capsule as shipped: the bundle's `serve` (as `node dist/cli.js serve` runs it),
 *            configured by a CAPSULE_CONFIG file
 * Started as `node --expose-gc child.js '<json spec>'` with an IPC channel: it sends
 * { type: 'ready', url } once listening and answers { type: 'mem' } with its memory after GC.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { startDemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { accepts } from './port.js';

export type ChildSpec =
  | { kind: 'demo'; port?: number }
  | { kind: 'sse'; port?: number; intervalMs: number }
  | { kind: 'bare'; port?: number; target: string }
  | { kind: 'trivial'; port?: number }
  | { kind: 'capsule-bundle'; bundle: string; configFile: string; port: number };

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;

async function listen(server: ReturnType<typeof createServer>, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Every open stream gets `data: <process.hrtime.bigint()>` every intervalMs, stamped at its own write. */
async function startSse(port: number | undefined, intervalMs: number): Promise<string> {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': open\n\n');
      streams.add(res);
      res.once('close', () => streams.delete(res));
      return;
    }
    req.resume();
    req.once('end', () => res.writeHead(202).end());
  });
  setInterval(() => {
    for (const res of streams) res.write(`data: ${process.hrtime.bigint()}\n\n`);
  }, intervalMs);
  return `${await listen(server, port)}/mcp`;
}

/**
 * The same bytes for every POST, `initialize` and `tools/call` alike: a session id for the client's
 * handshake and a result holding the text the load generator checks for.
 */
async function startTrivial(port: number | undefined): Promise<string> {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hello bench' }] } }));
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'mcp-session-id': 'trivial-session' };
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      if (req.method === 'POST') res.writeHead(200, headers).end(body);
      else res.writeHead(200, { 'content-length': '0' }).end();
    });
  });
  // A proxy under valgrind is slow to notice that an idle connection was closed, and would reuse it (a 502): keep them open.
  server.keepAliveTimeout = 60_000;
  return `${await listen(server, port)}/mcp`;
}

/** `node <bundle> serve` in this process (so the orchestrator's IPC works), configured by a CAPSULE_CONFIG file. */
async function startBundle(bundle: string, configFile: string, port: number): Promise<string> {
  process.env.CAPSULE_CONFIG = configFile;
  process.argv = [process.argv[0]!, bundle, 'serve'];
  await import(pathToFileURL(bundle).href);
  // serve does not say when it listens to its importer: wait for the port.
  while (!(await accepts(port))) await new Promise((resolve) => setTimeout(resolve, 5));
  return `http://127.0.0.1:${port}`;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'host', 'te', 'trailer']);

/** The smallest honest proxy: stream the request in, stream the response out, keep-alive pool downstream. */
async function startBare(port: number | undefined, target: string): Promise<string> {
  const url = new URL(target);
  const pool = new Pool(url.origin, { headersTimeout: 30_000, bodyTimeout: 0 });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    pool
      .request({ path: url.pathname, method: req.method as 'GET', headers, body: hasBody ? req : null, signal: abort.signal })
      .then((response) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        res.writeHead(response.statusCode, out);
        if (out['content-length'] === undefined) res.flushHeaders();
        response.body.on('error', () => res.destroy());
        response.body.pipe(res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  });
  return `${await listen(server, port)}${url.pathname}`;
}

async function start(): Promise<string> {
  switch (spec.kind) {
    case 'demo':
      return (await startDemoMcpServer({ port: spec.port ?? 0 })).url;
    case 'sse':
      return startSse(spec.port, spec.intervalMs);
    case 'trivial':
      return startTrivial(spec.port);
    case 'bare':
      return startBare(spec.port, spec.target);
    case 'capsule-bundle':
      return startBundle(spec.bundle, spec.configFile, spec.port);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (message: { type: string }) => {
  // A clean exit, so that --cpu-prof writes its profile.
  if (message.type === 'exit') process.exit(0);
  if (message.type === 'mem') {
    gc?.();
    gc?.();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    process.send!({ type: 'mem', rss, heapUsed, external, arrayBuffers });
  }
});
process.on('disconnect', () => process.exit(0));

start().then(
  (url) => process.send!({ type: 'ready', url }),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
