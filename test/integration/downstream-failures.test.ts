import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/** What an MCP client sees when the server behind the proxy misbehaves. */
describe('downstream failures through the proxy', () => {
  let refusing: Server;
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    // A downstream that refuses the upstream credential and names its own authorization server.
    refusing = createServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer resource_metadata="https://downstream.internal/.well-known/oauth-protected-resource"' });
      res.end('{"error":"invalid_token"}');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    stack = await Stack.start({ downstreamUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/mcp` });
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client);
    token = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body.access_token as string;
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => refusing?.close(() => resolve()));
  });

  it("replaces a downstream 401 challenge with the proxy's own, so the client refreshes here", async () => {
    const response = await mcpPost(stack.mcpUrl, token);
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="${stack.publicUrl}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).not.toContain('downstream.internal');
  });

  it('answers 502 with a JSON-RPC error when the downstream is unreachable, and logs the real status', async () => {
    const closedPort = await freePort();
    const down = await Stack.start({ downstreamUrl: `http://127.0.0.1:${closedPort}/mcp` });
    try {
      const client = await register(down.publicUrl);
      const callback = await signIn(down.publicUrl, client);
      const access = (await redeemCode(down.publicUrl, client, callback.searchParams.get('code')!)).body.access_token as string;
      const response = await mcpPost(down.mcpUrl, access);
      expect(response.status).toBe(502);
      const body = (await response.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
      expect(body.jsonrpc).toBe('2.0');
      expect(body.id).toBeNull();
      expect(body.error.message).not.toContain(String(closedPort));
      const accessLine = down.logs.lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'request' && entry.path === '/mcp' && entry.status === 502);
      expect(accessLine).toBeDefined();
    } finally {
      await down.close();
    }
  });
});
