import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createDemoMcpTools } from './demo-mcp-tools.js';
import { readBodyText } from './read-body.js';

export interface DemoMcpServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  path?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as received. */
  path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

export interface DemoMcpServer {
  /** Full MCP endpoint URL, path included. */
  url: string;
  /** The most recent requests (at most 200), oldest first, for tests to inspect what arrived. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const MAX_RECORDED = 200;
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * A real Streamable HTTP MCP server (the SDK's transport, stateful sessions, SSE responses) to
 * stand behind the proxy in development and tests.
 */
export async function startDemoMcpServer(options: DemoMcpServerOptions = {}): Promise<DemoMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const requests: RecordedRequest[] = [];

  const server = createServer((req, res) => {
    requests.push(record(req));
    if (requests.length > MAX_RECORDED) requests.splice(0, requests.length - MAX_RECORDED);
    route(req, res).catch((error: unknown) => {
      console.error('demo MCP server error:', error);
      if (!res.headersSent) return sendJsonRpcError(res, 500, -32603, 'Internal error');
      res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (new URL(req.url ?? '/', 'http://demo.invalid').pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (body instanceof Error) return sendJsonRpcError(res, 400, -32700, `Parse error: ${body.message}`);

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      // 404 tells a client its session is gone and it should initialize again.
      if (!transport) return sendJsonRpcError(res, 404, -32001, 'Session not found');
      return transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return sendJsonRpcError(res, 400, -32000, 'Bad Request: No valid session ID provided');
    }

    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Registered before the response goes out, so the client's next request always finds it.
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createDemoMcpTools().connect(transport);
    await transport.handleRequest(req, res, body);
    if (!transport.sessionId) await transport.close();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    requests,
    async close() {
      await Promise.allSettled([...sessions.values()].map((transport) => transport.close()));
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Open SSE streams and pooled keep-alive sockets would otherwise hold close() forever.
        server.closeAllConnections();
      });
    },
  };
}

function record(req: IncomingMessage): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers };
}

/** The body is read here, not by the transport, because routing must see whether it is `initialize`. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBodyText(req, MAX_BODY_BYTES);
  if (text === undefined) return new Error('body too large');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return error instanceof Error ? error : new Error('invalid JSON');
  }
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
