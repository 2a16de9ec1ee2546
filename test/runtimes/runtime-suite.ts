import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { mcpPost, redeemCode, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { freePort } from '../support/ports.js';
import { assertRuntimeInstalled, Backends, RuntimeProxy, type Runtime } from './runtime-proxy.js';

/**
 * The integration suite's core, with the proxy in a child process under another runtime
 * (its thin entry point, configured by environment variables like `mcp-capsule serve`),
 * node oidc-provider upstream and the SDK demo MCP server downstream in the test process:
 * the SDK client's whole OAuth flow and tool calls (JSON and SSE), refresh with rotation,
 * revocation and bad tokens, the peer address for rate limits, and graceful shutdown.
 */
export function runtimeSuite(runtime: Runtime): void {
  describe(`the proxy under ${runtime.name}`, () => {
    let backends: Backends;
    let proxy: RuntimeProxy;
    /** Every credential the tests saw; none may appear in the proxy's output. */
    const secrets = new Set<string>(['proxy-upstream-secret']);

    beforeAll(async () => {
      const version = assertRuntimeInstalled(runtime);
      backends = await Backends.start();
      proxy = await RuntimeProxy.start(runtime, backends.settings(), backends.publicUrl);
      console.info(`${runtime.name} (${version}): proxy listening after ${proxy.startupMs.toFixed(0)} ms`);
    });
    afterAll(async () => {
      await proxy?.stop('SIGKILL');
      await backends?.close();
    });

    it('logs where it listens with the same fields as on Node', () => {
      const listening = proxy.logLines.find((line) => line.msg === 'mcp-capsule listening');
      expect(listening).toMatchObject({
        level: 'info',
        listen: backends.publicUrl,
        issuer: backends.publicUrl,
        mcp_urls: [proxy.mcpUrl],
        upstream_redirect_uri: `${backends.publicUrl}/oauth/callback`,
      });
    });

    it('takes the MCP SDK client through discovery, registration, consent and the upstream login, then forwards tool calls', async () => {
      const provider = new TestOAuthProvider({ login: 'alice' });
      const { client } = await connectWithOAuth(proxy.mcpUrl, provider);
      expect(provider.savedClient?.client_id.split('.')).toHaveLength(5);
      const [{ authorizationUrl, callback }] = provider.authorizations;
      expect(authorizationUrl!.origin).toBe(backends.publicUrl);
      expect(callback!.searchParams.get('iss')).toBe(backends.publicUrl);
      expect(provider.savedTokens?.refresh_token).toBeDefined();

      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual(['countdown', 'echo', 'whoami']);
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: `hello from ${runtime.name}` } }))).toBe(`hello from ${runtime.name}`);
      // The downstream sees the user's upstream token, never the proxy's capsule.
      const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
      expect(seen.authorization).toMatch(/^Bearer /);
      expect(seen.authorization.length).toBeLessThan(200);

      // SSE: progress events arrive as they happen, not when the stream ends.
      const progress: Array<{ progress: number; at: number }> = [];
      const result = await client.callTool({ name: 'countdown', arguments: { from: 3, delayMs: 150 } }, undefined, {
        onprogress: (event) => progress.push({ progress: event.progress, at: performance.now() }),
      });
      const finished = performance.now();
      expect(textOf(result)).toBe('liftoff');
      expect(progress.map((event) => event.progress)).toEqual([1, 2, 3]);
      expect(finished - progress[0]!.at).toBeGreaterThan(200);

      for (const value of [provider.savedTokens?.access_token, provider.savedTokens?.refresh_token, seen.authorization.slice('Bearer '.length)]) {
        if (value) secrets.add(value);
      }
      await client.close();
    });

    it('refreshes with rotation, and refuses a refresh token used twice', async () => {
      const client = await register(backends.publicUrl);
      const callback = await signIn(backends.publicUrl, client, { login: 'carol' });
      const first = (await redeemCode(backends.publicUrl, client, callback.searchParams.get('code')!)).body as { access_token: string; refresh_token: string };
      const refresh = (refreshToken: string) =>
        tokenRequest(backends.publicUrl, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });

      const renewed = await refresh(first.refresh_token);
      expect(renewed.status).toBe(200);
      const second = renewed.body as { access_token: string; refresh_token: string };
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect((await mcpPost(proxy.mcpUrl, second.access_token)).status).toBe(200);
      // The rotated-out refresh token is spent (the replay set is this process's memory).
      expect((await refresh(first.refresh_token)).body.error).toBe('invalid_grant');
      for (const token of [first.access_token, first.refresh_token, second.access_token, second.refresh_token]) secrets.add(token);
    });

    it('answers 401 with a WWW-Authenticate challenge for a revoked or invalid token', async () => {
      const client = await register(backends.publicUrl);
      const callback = await signIn(backends.publicUrl, client, { login: 'dave' });
      const tokens = (await redeemCode(backends.publicUrl, client, callback.searchParams.get('code')!)).body as { access_token: string; refresh_token: string };
      expect((await mcpPost(proxy.mcpUrl, tokens.access_token)).status).toBe(200);

      const revoked = await fetch(`${backends.publicUrl}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }).toString(),
      });
      expect(revoked.status).toBe(200);
      for (const token of [tokens.access_token, 'not-a-token', undefined]) {
        const answer = await mcpPost(proxy.mcpUrl, token);
        expect(answer.status).toBe(401);
        const challenge = answer.headers.get('www-authenticate') ?? '';
        expect(challenge).toMatch(/^Bearer /);
        expect(challenge).toContain(`resource_metadata="${backends.publicUrl}/.well-known/oauth-protected-resource/mcp"`);
        if (token !== undefined) expect(challenge).toContain('error="invalid_token"');
      }
      secrets.add(tokens.access_token).add(tokens.refresh_token);
    });

    it('never writes a token or secret to its output', () => {
      expect(secrets.size).toBeGreaterThanOrEqual(8);
      const output = proxy.stdout + proxy.stderr;
      expect(output.length).toBeGreaterThan(1000);
      for (const secret of secrets) expect(output).not.toContain(secret);
    });

    it('on SIGTERM finishes a call in flight, ends the idle event stream at once, and exits 0', async () => {
      const { client } = await connectWithOAuth(proxy.mcpUrl, new TestOAuthProvider({ login: 'frank' }));
      // The SDK client now holds a standalone GET event stream open, as real clients do.
      const call = client.callTool({ name: 'countdown', arguments: { from: 3, delayMs: 200 } });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const exit = await proxy.stop('SIGTERM');
      expect(textOf(await call)).toBe('liftoff');
      await client.close().catch(() => {});
      expect(exit, proxy.stderr).toMatchObject({ code: 0, signal: null });
      // Well within the default 5 s grace: nothing waited for the idle stream.
      expect(exit.afterMs).toBeLessThan(3_000);
      expect(proxy.logLines.at(-1)).toMatchObject({ msg: 'shutting down', signal: 'SIGTERM' });
      expect(proxy.stderr).toBe('');
      console.info(`${runtime.name}: exited ${exit.afterMs.toFixed(0)} ms after SIGTERM`);
    });

    it('rate-limits registrations by the peer address, or by X-Forwarded-For behind trusted proxies', async () => {
      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      const limited = await RuntimeProxy.start(
        runtime,
        backends.settings({ PORT: String(port), CAPSULE_PUBLIC_URL: publicUrl, CAPSULE_REGISTRATION_RATE_LIMIT: '1', CAPSULE_TRUST_PROXY_HOPS: '1' }),
        publicUrl,
      );
      try {
        const registerFrom = (address?: string) =>
          fetch(`${publicUrl}/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(address ? { 'x-forwarded-for': `203.0.113.9, ${address}` } : {}) },
            body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/callback'], token_endpoint_auth_method: 'none' }),
          });
        expect((await registerFrom('198.51.100.1')).status).toBe(201);
        expect((await registerFrom('198.51.100.1')).status).toBe(429);
        expect((await registerFrom('198.51.100.2')).status).toBe(201);
        // Without the header, the socket's address counts.
        expect((await registerFrom()).status).toBe(201);
        expect((await registerFrom()).status).toBe(429);
        const addresses = limited.logLines.filter((line) => line.msg === 'registration rate limit reached').map((line) => line.address);
        expect(addresses).toEqual(['198.51.100.1', expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/)]);
      } finally {
        const exit = await limited.stop('SIGINT');
        expect(exit, limited.stderr).toMatchObject({ code: 0, signal: null });
      }
    });

    it('refuses to start without an identity provider and MCP server, naming what to set (the development setup is Node only)', async () => {
      const port = await freePort();
      const started = RuntimeProxy.start(runtime, { PORT: String(port), CAPSULE_KEYS: 'A'.repeat(43) }, `http://127.0.0.1:${port}`);
      await expect(started).rejects.toThrow(/exited while starting \(code 78, signal null\)/);
      await expect(started).rejects.toThrow(/CAPSULE_UPSTREAM_ISSUER: is required/);
      await expect(started).rejects.toThrow(new RegExp(`development setup .* runs on Node only .* on ${runtime.name} configure CAPSULE_UPSTREAM_ISSUER`));
    });
  });
}
