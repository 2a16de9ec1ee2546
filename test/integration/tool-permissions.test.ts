import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { mcpPost, redeemCode, register, signIn } from '../support/oauth-flow.js';
import { Stack } from '../support/stack.js';

/** Per-tool permissions, seen by the official SDK client through the proxy (SSE responses from the demo server). */
describe('tool permissions', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      routesFromDemo: (demoUrl) => [
        { path: '/mcp', url: demoUrl, tools: { disabled: ['echo'], restricted: { 'count*': ['admins'] } } },
      ],
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('hides disabled and restricted tools from tools/list and refuses their calls without reaching the server', async () => {
    const { client } = await connectWithOAuth(stack.mcpUrl, new TestOAuthProvider({ login: 'nina' }));
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['whoami']);
    const before = stack.demo.requests.length;
    await expect(client.callTool({ name: 'echo', arguments: { text: 'x' } })).rejects.toThrow(/not available/);
    await expect(client.callTool({ name: 'countdown', arguments: { from: 1 } })).rejects.toThrow(/not available/);
    expect(stack.demo.requests.length).toBe(before);
    expect(JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).authorization).toMatch(/^Bearer /);
    const denied = stack.logs.auditEvents.filter((event) => event.event === 'tool_denied');
    expect(denied.map((event) => (event.tools as string[])[0])).toEqual(['echo', 'countdown']);
    expect(stack.logs.auditEvents.some((event) => event.event === 'mcp_request' && (event.tools as string[] | undefined)?.[0] === 'whoami')).toBe(true);
    await client.close();
  });

  it('lets a member of the allowed group see and call a restricted tool', async () => {
    const { client } = await connectWithOAuth(stack.mcpUrl, new TestOAuthProvider({ login: 'admin-otto' }));
    expect((await client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['countdown', 'whoami']);
    expect(textOf(await client.callTool({ name: 'countdown', arguments: { from: 1, delayMs: 0 } }))).toBe('liftoff');
    await client.close();
  });

  it('refuses a batch holding a disabled call, and an Mcp-Name header that disagrees with the body', async () => {
    const client = await register(stack.publicUrl);
    const callback = await signIn(stack.publicUrl, client, { login: 'nina' });
    const token = (await redeemCode(stack.publicUrl, client, callback.searchParams.get('code')!)).body.access_token as string;
    const call = (id: number, name: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });
    const batch = await mcpPost(stack.mcpUrl, token, [call(1, 'whoami'), call(2, 'echo')]);
    const answers = (await batch.json()) as Array<{ id: number; error?: { code: number } }>;
    expect(answers.map((answer) => [answer.id, answer.error?.code])).toEqual([
      [1, -32600],
      [2, -32602],
    ]);
    const mismatch = await mcpPost(stack.mcpUrl, token, call(3, 'whoami'), { 'mcp-method': 'tools/call', 'mcp-name': 'echo' });
    expect(mismatch.status).toBe(400);
    const garbage = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc": "2.0", oops',
    });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });
});
