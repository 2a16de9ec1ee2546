import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeRequest, mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';
import { readUntil } from '../proxy/harness.js';

/**
 * A raw node:http MCP server behind the full proxy (real sign-in, real tokens, route
 * `timeout: 1`) that misbehaves on demand. test/proxy/forwarding.test.ts covers the
 * forwarders alone; this checks the same faults through the whole stack, and that the
 * proxy process keeps serving after each.
 */
type Behaviour = 'ok' | 'reset-mid-stream' | 'hang' | 'stream-forever';

const OK_BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'raw', version: '1' } } });

describe('downstream MCP server faults through the proxy', () => {
  let behaviour: Behaviour = 'ok';
  /** Resolves when the downstream sees the socket of its latest request close. */
  let latestClosed: Promise<void> = Promise.resolve();
  /** Cuts the connection of the latest request. */
  let cutLatest: () => void = () => {};
  let raw: Server;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    raw = createServer((req: IncomingMessage, res: ServerResponse) => {
      latestClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      cutLatest = () => req.socket.destroy();
      req.resume();
      switch (behaviour) {
        case 'ok':
          res.writeHead(200, { 'content-type': 'application/json' }).end(OK_BODY);
          return;
        case 'hang':
          return; // accepts, reads, never answers
        case 'reset-mid-stream':
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          // Cut by the test once its client has read this event.
          res.write(`event: message\ndata: ${OK_BODY}\n\n`);
          return;
        case 'stream-forever':
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          res.write(`event: message\ndata: ${OK_BODY}\n\n`);
          return;
      }
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/mcp`;
    stack = await Stack.start({ routesFromDemo: () => [{ path: '/mcp', url: rawUrl, auth: 'upstream-token', timeout: 1 }] });
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client);
    token = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body.access_token as string;
  });
  afterAll(async () => {
    await stack?.close();
    raw?.closeAllConnections();
    await new Promise<void>((resolve) => raw?.close(() => resolve()));
  });

  async function expectRecovered() {
    behaviour = 'ok';
    const next = await mcpPost(stack.mcpUrl, token);
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ jsonrpc: '2.0', id: 1 });
  }

  it('never answers: the route timeout (1 s) bounds the wait with a 504 JSON-RPC error, and the downstream socket is let go', async () => {
    behaviour = 'hang';
    // Not before the configured second: the proxy runs in this process, whose timers fire in the order
    // they fall due, so one of that second set before the request fires before the route's timeout can.
    let secondPassed = false;
    const second = setTimeout(() => (secondPassed = true), 1000);
    // The downstream never answers: a 504 can only come from the route's timeout.
    const response = await mcpPost(stack.mcpUrl, token);
    const passedBeforeTheAnswer = secondPassed;
    clearTimeout(second);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Downstream MCP server unavailable' } });
    expect(passedBeforeTheAnswer).toBe(true);
    await latestClosed;
    await expectRecovered();
  });

  it('resets the connection mid-stream: the client gets the first event, then its stream ends with an error; the proxy keeps serving', async () => {
    behaviour = 'reset-mid-stream';
    const response = await mcpPost(stack.mcpUrl, token);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    const drained = (async () => {
      seen = await readUntil(reader, '"serverInfo"');
      cutLatest();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended';
        seen += decoder.decode(value, { stream: true });
      }
    })();
    // An abrupt error, not a clean end: a client must not take the cut stream for a complete response.
    expect(await drained.catch(() => 'errored')).toBe('errored');
    expect(seen).toContain('"serverInfo"');
    const logged = stack.logs.lines.some((line) => line.includes('downstream response interrupted'));
    expect(logged).toBe(true);
    await expectRecovered();
  });

  it('client disconnects mid-stream: the proxy closes its downstream connection too', async () => {
    behaviour = 'stream-forever';
    const controller = new AbortController();
    const aborted = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify(initializeRequest(2)),
      signal: controller.signal,
    });
    const reader = aborted.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('"serverInfo"');
    const downstreamClosed = latestClosed;
    controller.abort();
    await reader.cancel().catch(() => {});
    await downstreamClosed;
    await expectRecovered();
  });

  it('refuses connections: 502 JSON-RPC error, then serves again once the server is back', async () => {
    const port = (raw.address() as AddressInfo).port;
    raw.closeAllConnections();
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    const refused = await mcpPost(stack.mcpUrl, token);
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe('Downstream MCP server unavailable');
    await new Promise<void>((resolve) => raw.listen(port, '127.0.0.1', resolve));
    await expectRecovered();
  });
});
