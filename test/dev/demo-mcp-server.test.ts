import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import type { DemoMcpServer } from '../../src/dev/demo-mcp-server.js';

const SENT_CREDENTIALS = {
  authorization: 'Bearer downstream-secret',
  'x-forwarded-user': 'alice',
  'x-forwarded-email': 'alice@example.test',
  'x-forwarded-name': 'Alice',
  'x-forwarded-access-token': 'upstream-token',
};

function textOf(result: unknown): string {
  const [first] = ((result as { content?: unknown }).content ?? []) as Array<{ type: string; text?: string }>;
  return first?.type === 'text' ? (first.text ?? '') : '';
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function rawInitialize(url: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    }),
  });
  expect(response.status).toBe(200);
  await response.text();
  const sessionId = response.headers.get('mcp-session-id');
  expect(sessionId).toBeTruthy();
  await fetch(url, {
    method: 'POST',
    headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId! },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  return sessionId!;
}

describe('demo MCP server', () => {
  let demo: DemoMcpServer;
  let client: Client;
  let transport: StreamableHTTPClientTransport;

  beforeAll(async () => {
    demo = await startDemoMcpServer();
    client = new Client({ name: 'demo-test', version: '1.0.0' });
    transport = new StreamableHTTPClientTransport(new URL(demo.url), { requestInit: { headers: SENT_CREDENTIALS } });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client.close();
    await demo.close();
  });

  it('serves at the configured path on loopback', () => {
    expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(transport.sessionId).toBeTruthy();
  });

  it('lists its three tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['countdown', 'echo', 'whoami']);
  });

  it('echoes text', async () => {
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello, capsule' } }))).toBe('hello, capsule');
  });

  it('reports progress for each countdown step, then lifts off', async () => {
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'countdown', arguments: { from: 3, delayMs: 5 } }, undefined, {
      onprogress: (update) => progress.push(update),
    });
    expect(textOf(result)).toBe('liftoff');
    expect(progress.map((p) => [p.progress, p.total, p.message])).toEqual([
      [1, 3, '3'],
      [2, 3, '2'],
      [3, 3, '1'],
    ]);
  });

  it('rejects countdown arguments out of range', async () => {
    const result = await client.callTool({ name: 'countdown', arguments: { from: 11 } });
    expect(result.isError).toBe(true);
  });

  it('shows the credentials that arrived with the call', async () => {
    const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Record<string, unknown>;
    expect(seen).toEqual(SENT_CREDENTIALS);
  });

  it('reports missing credentials as null', async () => {
    const bare = new Client({ name: 'bare', version: '1.0.0' });
    await bare.connect(new StreamableHTTPClientTransport(new URL(demo.url)));
    const seen = JSON.parse(textOf(await bare.callTool({ name: 'whoami', arguments: {} }))) as Record<string, unknown>;
    await bare.close();
    expect(seen['authorization']).toBeNull();
    expect(seen['x-forwarded-user']).toBeNull();
  });

  it('records the requests it received, headers lower-cased', async () => {
    const call = demo.requests.find(
      (r) => r.method === 'POST' && r.headers['mcp-session-id'] === transport.sessionId && r.headers['x-forwarded-user'] === 'alice',
    );
    expect(call).toBeDefined();
    expect(call!.path).toBe('/mcp');
    expect(call!.headers['authorization']).toBe('Bearer downstream-secret');
    expect(Object.keys(call!.headers).every((name) => name === name.toLowerCase())).toBe(true);
  });

  it('keeps only the most recent 200 requests', async () => {
    await Promise.all(Array.from({ length: 210 }, () => fetch(new URL('/elsewhere', demo.url))));
    expect(demo.requests.length).toBe(200);
    expect(demo.requests.at(-1)?.path).toBe('/elsewhere');
  });

  it('streams a call as SSE, each progress event before the next step runs', async () => {
    const sessionId = await rawInitialize(demo.url);
    const response = await fetch(demo.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'countdown', arguments: { from: 3, delayMs: 150 }, _meta: { progressToken: 'p1' } },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    const arrivals: Array<{ at: number; data: string }> = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffer += decoder.decode(read.value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer.slice(0, end).split('\n').find((line) => line.startsWith('data:'));
        if (data) arrivals.push({ at: performance.now(), data: data.slice(5).trim() });
        buffer = buffer.slice(end + 2);
      }
    }
    const messages = arrivals.map((a) => JSON.parse(a.data) as { method?: string; id?: number });
    expect(messages.map((m) => m.method ?? `result:${m.id}`)).toEqual([
      'notifications/progress',
      'notifications/progress',
      'notifications/progress',
      'result:7',
    ]);
    // Buffered delivery would land all four events together; streamed ones are ~150 ms apart.
    expect(arrivals[3]!.at - arrivals[0]!.at).toBeGreaterThan(300);
  });

  it('opens the standalone SSE stream on GET and ends a session on DELETE', async () => {
    const sessionId = await rawInitialize(demo.url);
    const headers = { accept: 'text/event-stream', 'mcp-session-id': sessionId };
    const listening = new AbortController();
    const stream = await fetch(demo.url, { headers, signal: listening.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    listening.abort();

    expect((await fetch(demo.url, { method: 'DELETE', headers })).status).toBe(200);
    const after = await fetch(demo.url, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
  });

  it('refuses a non-initialize request without a session', async () => {
    const response = await fetch(demo.url, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(400);
  });
});
