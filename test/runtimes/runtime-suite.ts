import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectWithOAuth, countdownWithProgress, firstProgressOfALongCountdown, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { Browser } from '../support/browser.js';
import { authorizeUrl, mcpPost, redeemCode, register, signIn, tokenRequest } from '../support/oauth-flow.js';
import { freePort } from '../support/ports.js';
import { credentialDigest } from '../../src/downstream/credential.js';
import { assertRuntimeInstalled, Backends, runScript, RuntimeProxy, serveDocuments, type Runtime } from './runtime-proxy.js';

/**
 * The integration suite's core, with the proxy in a child process under another runtime
 * (its thin entry point, configured by environment variables like `mcp-capsule serve`),
 * node oidc-provider upstream and the SDK demo MCP server downstream in the test process:
 * the SDK client's whole OAuth flow and tool calls (JSON and SSE), refresh with rotation,
 * revocation and bad tokens, graceful shutdown, and in a second instance the peer address for
 * rate limits, a separate metrics port and client ID metadata documents.
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
      // A grace period far beyond any test's timeout: the shutdown test ends in time only if SIGTERM
      // waits for the call in flight alone, never for the idle event stream or the grace period.
      proxy = await RuntimeProxy.start(runtime, backends.settings({ CAPSULE_SHUTDOWN_GRACE: '1h' }), backends.publicUrl);
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
      const { text, progress } = await countdownWithProgress(client);
      expect(text).toBe('liftoff');
      expect(progress).toEqual([1, 2, 3]);
      // The first event of a call that runs past this test's timeout arrived while it ran: nothing buffered it.
      expect(await firstProgressOfALongCountdown(client)).toEqual({ progress: 1, callSettled: false });

      for (const value of [provider.savedTokens?.access_token, provider.savedTokens?.refresh_token, seen.authorization.slice('Bearer '.length)]) {
        if (value) secrets.add(value);
      }
      await client.close();
    });

    it('refreshes with rotation, and ends the grant when its refresh token is revoked', async () => {
      type Tokens = { access_token: string; refresh_token: string };
      const client = await register(backends.publicUrl);
      const callback = await signIn(backends.publicUrl, client, { login: 'carol' });
      const first = (await redeemCode(backends.publicUrl, client, callback.searchParams.get('code')!)).body as Tokens;
      const refresh = (refreshToken: string) =>
        tokenRequest(backends.publicUrl, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });

      const renewed = await refresh(first.refresh_token);
      expect(renewed.status).toBe(200);
      const second = renewed.body as Tokens;
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect((await mcpPost(proxy.mcpUrl, second.access_token)).status).toBe(200);
      const third = (await refresh(second.refresh_token)).body as Tokens;
      expect(third.refresh_token).toBeDefined();
      expect(third.refresh_token).not.toBe(second.refresh_token);

      // Revocation lands in the replay set (this process's memory): the grant and its access tokens end.
      const revoked = await fetch(`${backends.publicUrl}/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: third.refresh_token, token_type_hint: 'refresh_token', client_id: client.client_id }).toString(),
      });
      expect(revoked.status).toBe(200);
      expect((await refresh(third.refresh_token)).body.error).toBe('invalid_grant');
      expect((await mcpPost(proxy.mcpUrl, third.access_token)).status).toBe(401);
      for (const tokens of [first, second, third]) secrets.add(tokens.access_token).add(tokens.refresh_token);
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
      let callInFlight!: () => void;
      const firstProgress = new Promise<void>((resolve) => {
        callInFlight = resolve;
      });
      const call = client.callTool({ name: 'countdown', arguments: { from: 3, delayMs: 200 } }, undefined, { onprogress: () => callInFlight() });
      await firstProgress;
      const exit = await proxy.stop('SIGTERM');
      expect(textOf(await call)).toBe('liftoff');
      await client.close().catch(() => {});
      expect(exit, proxy.stderr).toMatchObject({ code: 0, signal: null });
      expect(proxy.logLines.at(-1), proxy.stdout.slice(-1000)).toMatchObject({ msg: 'shutting down', signal: 'SIGTERM' });
      expect(proxy.stderr).toBe('');
      console.info(`${runtime.name}: exited ${exit.afterMs.toFixed(0)} ms after SIGTERM`);
    });

    it('in another instance: rate limits by peer address or X-Forwarded-For, /metrics on its own port, client ID metadata documents', async () => {
      const [port, metricsPort] = [await freePort(), await freePort()];
      const publicUrl = `http://127.0.0.1:${port}`;
      const documents = await serveDocuments();
      const document = `${documents.base}/client.json`;
      documents.bodies.set('/client.json', {
        client_id: document,
        client_name: 'Client named by its document',
        redirect_uris: ['http://127.0.0.1:1/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
      });
      const instance = await RuntimeProxy.start(
        runtime,
        backends.settings({
          PORT: String(port),
          CAPSULE_PUBLIC_URL: publicUrl,
          CAPSULE_REGISTRATION_RATE_LIMIT: '1',
          CAPSULE_TRUST_PROXY_HOPS: '1',
          CAPSULE_METRICS_PORT: String(metricsPort),
          CAPSULE_CIMD_ALLOW_PRIVATE_NETWORK: 'true',
        }),
        publicUrl,
      );
      onTestFinished(() => instance.kill());
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
        const addresses = (await instance.logLinesWhen((line) => line.msg === 'registration rate limit reached', 2)).map((line) => line.address);
        expect(addresses).toEqual(['198.51.100.1', expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/)]);

        // metrics.port: scraped there, not on the main listener.
        expect(instance.logLines.find((line) => line.msg === 'mcp-capsule listening')?.metrics_url).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
        const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(scrape.status).toBe(200);
        expect(await scrape.text()).toContain('# TYPE');
        expect((await fetch(`${publicUrl}/metrics`)).status).toBe(404);

        const metadata = (await (await fetch(`${publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
        const page = await new Browser().get(
          await authorizeUrl(publicUrl, { client_id: document, token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:1/callback'] }),
        );
        if (runtime.metadataDocuments) {
          expect(metadata.client_id_metadata_document_supported).toBe(true);
          expect(page.status).toBe(200);
          expect(page.body).toContain('Client named by its document');
          expect(documents.served).toEqual(['/client.json']);
        } else {
          // Off, and said so: the document is never fetched.
          expect(metadata.client_id_metadata_document_supported).toBeUndefined();
          expect(page.status).toBe(400);
          expect(documents.served).toEqual([]);
          expect(instance.logLines.some((line) => line.level === 'warn' && /client ID metadata documents are off on Bun/.test(String(line.msg)))).toBe(true);
        }
      } finally {
        await documents.close();
        const exit = await instance.stop('SIGINT');
        expect(exit, instance.stderr).toMatchObject({ code: 0, signal: null });
        expect(instance.stderr).toBe('');
      }
    });

    it("digests a client's own credential as Node does, so a session id sealed by one instance opens on another", async () => {
      const printed = await runScript(runtime, 'test/runtimes/credential-digest-probe.ts');
      expect(printed.trim()).toBe(credentialDigest('client', 'secret'));
      // Control: the digest names the credential; another gives another.
      expect(printed.trim()).not.toBe(credentialDigest('client', 'other secret'));
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
