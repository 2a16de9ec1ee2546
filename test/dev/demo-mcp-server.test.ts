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
    const countdown = (id: number, args: { from: number; delayMs: number }, signal?: AbortSignal) =>
      fetch(demo.url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'countdown', arguments: args, _meta: { progressToken: `p${id}` } } }),
        ...(signal ? { signal } : {}),
      });
    /** The JSON-RPC messages of the event stream, until it ends or `enough` of them arrived. */
    const messagesOf = async (response: Response, enough = Number.POSITIVE_INFINITY) => {
      const messages: Array<{ method?: string; id?: number; params?: { progress?: number } }> = [];
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = response.body!.getReader();
      while (messages.length < enough) {
        const read = await reader.read();
        if (read.done) break;
        buffer += decoder.decode(read.value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = buffer.slice(0, end).split('\n').find((line) => line.startsWith('data:'));
          if (data) messages.push(JSON.parse(data.slice(5).trim()) as (typeof messages)[number]);
          buffer = buffer.slice(end + 2);
        }
      }
      return messages;
    };

    const response = await countdown(7, { from: 3, delayMs: 150 });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await messagesOf(response)).map((m) => m.method ?? `result:${m.id}`)).toEqual([
      'notifications/progress',
      'notifications/progress',
      'notifications/progress',
      'result:7',
    ]);

    // A countdown far longer than this test's timeout (10 steps of 5 s): buffered delivery would hold
    // its first event until the end, so that event arriving at all shows events are streamed.
    const cancel = new AbortController();
    const long = await countdown(8, { from: 10, delayMs: 5_000 }, cancel.signal);
    const [first] = await messagesOf(long, 1);
    cancel.abort();
    expect(first).toMatchObject({ method: 'notifications/progress', params: { progress: 1 } });
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
