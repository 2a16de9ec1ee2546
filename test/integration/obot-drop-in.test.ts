import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { startDemoMcpServer, type DemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { startEmbeddedIdp, type EmbeddedIdp } from '../../src/dev/embedded-idp.js';
import { startNodeProxy, type RunningProxy } from '../../src/runtime/node.js';
import { connectWithOAuth, TestOAuthProvider, textOf } from '../support/mcp-client.js';
import { freePort } from '../support/ports.js';
import { LogCapture } from '../support/stack.js';

/**
 * An obot mcp-oauth-proxy deployment switching images: its own variables only, the redirect URI
 * its users registered at the provider (`<public>/callback`), and an MCP server that reads the
 * identity headers obot sent.
 */
const OBOT_CLIENT_SECRET = 'obot-registered-client-secret';

function obotEnv(idp: EmbeddedIdp, demo: DemoMcpServer): Record<string, string> {
  return {
    OAUTH_CLIENT_ID: 'obot-registered-client',
    OAUTH_CLIENT_SECRET: OBOT_CLIENT_SECRET,
    OAUTH_AUTHORIZE_URL: idp.issuer,
    // obot's MCP_SERVER_URL is the server's base URL; its MCP endpoint is /mcp there.
    MCP_SERVER_URL: new URL(demo.url).origin,
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  };
}

describe("replacing obot's mcp-oauth-proxy with its own variables", () => {
  let idp: EmbeddedIdp;
  let demo: DemoMcpServer;
  let proxy: RunningProxy;
  let publicUrl: string;
  const logs = new LogCapture();

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    // Only obot's redirect URI is registered: a sign-in that sent /oauth/callback upstream would be refused by the provider.
    idp = await startEmbeddedIdp({
      clients: [{ client_id: 'obot-registered-client', client_secret: OBOT_CLIENT_SECRET, redirect_uris: [`${publicUrl}/callback`] }],
    });
    demo = await startDemoMcpServer();
    const { config, notes } = loadConfig({ ...obotEnv(idp, demo), CAPSULE_PUBLIC_URL: publicUrl, PORT: String(port) });
    for (const note of notes) logs.logger.warn(note);
    proxy = await startNodeProxy(config, logs.logger, { audit: logs.audit });
  });
  afterAll(async () => {
    await proxy?.close(0);
    await Promise.allSettled([idp?.close(), demo?.close()]);
  });

  it('signs in through /callback and the MCP server receives the X-Forwarded-* identity headers', async () => {
    const provider = new TestOAuthProvider({ login: 'olga' });
    const { client } = await connectWithOAuth(`${publicUrl}/mcp`, provider);
    try {
      const seen = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {} }))) as Record<string, string | null>;
      expect(seen['x-forwarded-user']).toBe('olga');
      expect(seen['x-forwarded-access-token']).toMatch(/\S{16,}/);
      expect(seen.authorization).toBeNull();
    } finally {
      await client.close();
    }
    const listening = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'mcp-capsule listening');
    expect(listening?.upstream_redirect_uri).toBe(`${publicUrl}/callback`);
    expect(logs.lines.join('\n')).toContain('CAPSULE_DOWNSTREAM_AUTH is unset');
    expect(logs.lines.join('\n')).not.toContain(OBOT_CLIENT_SECRET);
  }, 60_000);

  it('answers both /callback and /oauth/callback (a stale sign-in gets the error page, not a 404)', async () => {
    for (const path of ['/callback', '/oauth/callback']) {
      const response = await fetch(`${publicUrl}${path}?state=forged&code=x`);
      expect(response.status, path).toBe(400);
      expect(await response.text()).toContain('Sign-in expired');
    }
  });

  it('an explicit CAPSULE_DOWNSTREAM_AUTH and our own client variable win over the obot defaults', () => {
    const env: Record<string, string> = { ...obotEnv(idp, demo), CAPSULE_PUBLIC_URL: publicUrl };
    expect(loadConfig({ ...env, CAPSULE_DOWNSTREAM_AUTH: 'upstream-token' }).config.routes[0]!.auth).toBe('upstream-token');
    const { OAUTH_CLIENT_ID: _obotClient, ...withoutObotClient } = env;
    const ours = loadConfig({ ...withoutObotClient, CAPSULE_UPSTREAM_CLIENT_ID: 'registered-for-capsule' }).config;
    expect(ours.upstreamCallback).toBe('standard');
    expect(ours.routes[0]!.auth).toBe('identity-headers');
  });

  it('without CAPSULE_PUBLIC_URL, refuses to start and says why it does not take the Host header as obot did', () => {
    const attempt = () => loadConfig(obotEnv(idp, demo));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/CAPSULE_PUBLIC_URL: is required\. obot mcp-oauth-proxy derived its public URL from each request's Host header; mcp-capsule refuses to, because the issuer and the redirect URIs would then be whatever the caller puts in Host/);
  });
});
