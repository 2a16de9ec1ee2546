/**
 * One benchmark server in its own process (the orchestrator pins it with taskset):
 *   demo     the SDK demo MCP server (the "direct" baseline)
 *   sse      a bare event-stream server that stamps each event with the monotonic clock
 *   bare     a pass-through proxy: node:http + an undici Pool, no auth, no inspection
 *   capsule  mcp-capsule itself (startNodeProxy with the settings given)
 * Started as `node --expose-gc child.js '<json spec>'` with an IPC channel: it sends
 * { type: 'ready', url } once listening and answers { type: 'mem' } with its memory after GC.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { startDemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { startNodeProxy } from '../../src/runtime/node.js';

export type ChildSpec =
  | { kind: 'demo'; port?: number }
  | { kind: 'sse'; port?: number; intervalMs: number }
  | { kind: 'bare'; port?: number; target: string }
  | { kind: 'capsule'; input: Record<string, unknown> };

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
    case 'bare':
      return startBare(spec.port, spec.target);
    case 'capsule': {
      const config = parseConfig(spec.input);
      // Defaults as shipped: info access log and audit log on stdout (the orchestrator sends stdout to /dev/null).
      const proxy = await startNodeProxy(config, createLogger({ level: config.logLevel }));
      return proxy.listenUrl;
    }
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
