import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/deps.js';
import { connectWithOAuth, countdownWithProgress, firstProgressOfALongCountdown, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { Stack } from '../support/stack.js';

/**
 * The official MCP SDK client against the proxy, with node oidc-provider
 * upstream and an SDK MCP server downstream: discovery, DCR, consent, PKCE,
 * token exchange, tool calls over JSON and SSE, and refresh.
 */
describe('MCP SDK client through the proxy', () => {
  const clock = manualClock(Date.now());
  let stack: Stack;
  /** Every credential the tests saw; none may ever appear in a log line. */
  const secrets = new Set<string>();
  const remember = (provider: TestOAuthProvider) => {
    for (const value of [provider.savedTokens?.access_token, provider.savedTokens?.refresh_token, provider.lastCallback?.searchParams.get('code')]) {
      if (value) secrets.add(value);
    }
  };

  beforeAll(async () => {
    stack = await Stack.start({ clock });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('discovers, registers, gets consent, signs in upstream and calls tools', async () => {
    const provider = new TestOAuthProvider({ login: 'alice' });
    const started = performance.now();
    const { client } = await connectWithOAuth(stack.mcpUrl, provider);
    const loginMs = performance.now() - started;

    // The SDK registered dynamically and was handed a sealed client_id.
    expect(provider.savedClient?.client_id.split('.')).toHaveLength(5);
    const [{ authorizationUrl, callback }] = provider.authorizations;
    expect(authorizationUrl!.origin).toBe(stack.publicUrl);
    expect(authorizationUrl!.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl!.searchParams.get('resource')).toBe(stack.mcpUrl);
    // RFC 9207: the authorization response names the issuer.
    expect(callback!.searchParams.get('iss')).toBe(stack.publicUrl);
    expect(provider.savedTokens?.token_type).toMatch(/^bearer$/i);
    expect(provider.savedTokens?.refresh_token).toBeDefined();

    const tools = await client.listTools();
    expect(tools.tools.map((tool) => tool.name).sort()).toEqual(['countdown', 'echo', 'whoami']);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hello through the capsule' } }))).toBe('hello through the capsule');

    // The downstream sees the user's upstream token, never the proxy's capsule.
    const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
    expect(seen.authorization).toMatch(/^Bearer /);
    expect(seen.authorization).not.toContain(provider.savedTokens!.access_token);
    expect(seen.authorization.length).toBeLessThan(200);
    secrets.add(seen.authorization.slice('Bearer '.length));
    remember(provider);
    await client.close();
    expect(loginMs).toBeGreaterThan(0);
    console.info(`full login flow through the SDK client: ${loginMs.toFixed(0)} ms`);
  });

  it('streams progress notifications of an SSE tool call as they happen', async () => {
    const provider = new TestOAuthProvider({ login: 'bob' });
    const { client } = await connectWithOAuth(stack.mcpUrl, provider);
    const { text, progress } = await countdownWithProgress(client);
    expect(text).toBe('liftoff');
    expect(progress).toEqual([1, 2, 3]);
    remember(provider);
    // The first event of a call that runs past this test's timeout arrived while it ran: nothing buffered it.
    expect(await firstProgressOfALongCountdown(client)).toEqual({ progress: 1, callSettled: false });
    await client.close();
  });

  it('refreshes when the access token expires, rotating the refresh token', async () => {
    const provider = new TestOAuthProvider({ login: 'carol' });
    const { client } = await connectWithOAuth(stack.mcpUrl, provider);
    const first = provider.savedTokens!;
    expect(first.expires_in).toBeGreaterThan(0);

    clock.advance(first.expires_in! + 1);
    // The next call gets 401 invalid_token; the SDK refreshes and retries by itself.
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'after refresh' } }))).toBe('after refresh');
    const second = provider.savedTokens!;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).toBeDefined();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(provider.authorizations).toHaveLength(1);
    remember(provider);
    secrets.add(first.access_token).add(first.refresh_token!);
    await client.close();
  });

  it('never writes a token, code or secret to the log', () => {
    expect(secrets.size).toBeGreaterThanOrEqual(8);
    const log = stack.logs.lines.join('\n');
    expect(log.length).toBeGreaterThan(1000);
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toContain('proxy-upstream-secret');
  });
});
