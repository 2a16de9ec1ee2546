import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/** What one request to the downstream looked like. */
export interface Seen {
  path: string;
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export const TOOLS = [
  { name: 'search', inputSchema: { type: 'object' } },
  { name: 'delete_user', inputSchema: { type: 'object' } },
  { name: 'read', inputSchema: { type: 'object' } },
];

export interface McpDownstream {
  readonly origin: string;
  /** Requests seen for a case id (`?case=`). */
  seen(caseId: string): Seen[];
  /** Lets a gated SSE response (`/tools-sse?case=`) write its second event. */
  release(caseId: string): void;
  /** True once the gated SSE response wrote its second event. */
  wroteSecond(caseId: string): boolean;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function requestId(body: string): unknown {
  try {
    return (JSON.parse(body) as { id?: unknown }).id ?? null;
  } catch {
    return null;
  }
}

/**
 * An MCP-shaped downstream on 127.0.0.1:
 * /tools-json  answers the request's id with a tools/list result (JSON);
 * /tools-gzip  the same, gzip-compressed whatever was asked;
 * /tools-sse   an SSE stream: a progress notification, the tools/list result, then (after release) a last event;
 * /text        a text/plain body that mentions tools;
 * /auth        401 unless `authorization: Bearer fresh`, then echoes what it saw;
 * /auth-never  always 401;
 * /echo        echoes what it saw.
 */
export async function startMcpDownstream(): Promise<McpDownstream> {
  const seen = new Map<string, Seen[]>();
  const gates = new Map<string, { release: () => void; released: Promise<void>; second: boolean }>();
  const gate = (id: string) => {
    let g = gates.get(id);
    if (g === undefined) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      gates.set(id, (g = { release, released, second: false }));
    }
    return g;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://downstream');
    const caseId = url.searchParams.get('case') ?? 'default';
    const body = await readBody(req);
    const record: Seen = { path: url.pathname, method: req.method ?? '', headers: req.headers, body };
    seen.set(caseId, [...(seen.get(caseId) ?? []), record]);
    const result = JSON.stringify({ jsonrpc: '2.0', id: requestId(body), result: { tools: TOOLS } });

    switch (url.pathname) {
      case '/tools-json':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(result) });
        res.end(result);
        return;
      case '/tools-gzip': {
        const payload = gzipSync(Buffer.from(result));
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': payload.length });
        res.end(payload);
        return;
      }
      case '/tools-sse': {
        const g = gate(caseId);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(': keep-alive\r\n');
        res.write('id: 1\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\r\n\r\n');
        // The result split across writes, in the middle of its data line.
        res.write(`id: 2\r\ndata: ${result.slice(0, 20)}`);
        res.write(`${result.slice(20)}\r\n\r\n`);
        await g.released;
        res.write('id: 3\r\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"tools":[{"name":"delete_user"}]}}\r\n\r\n');
        g.second = true;
        res.end();
        return;
      }
      case '/text':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(result) });
        res.end(result);
        return;
      case '/auth':
      case '/auth-never':
        if (url.pathname === '/auth-never' || req.headers['authorization'] !== 'Bearer fresh') {
          res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="downstream"' });
          res.end('{"error":"invalid_token"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(record));
        return;
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(record));
        return;
      default:
        res.writeHead(404).end();
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen: (caseId) => seen.get(caseId) ?? [],
    release: (caseId) => gate(caseId).release(),
    wroteSecond: (caseId) => gate(caseId).second,
    close: async () => {
      for (const g of gates.values()) g.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
